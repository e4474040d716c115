import { writeFile } from 'node:fs/promises'
import { publicWindowSchema, ticketSchema } from '../edge/protocol/index.ts'
import { createLogger } from '../edge/shared/logger.ts'
import { announcerConfigSchema } from '../hub/announcer/announcer-config.ts'
import { ESPEAK_INSTALL, espeakAvailable, makeVoicePack } from '../hub/announcer/espeak-pack.ts'
import { DEFAULT_TEMPLATES, fillTemplate } from '../hub/announcer/script.ts'
import { AplaySpeaker } from '../hub/announcer/speakers.ts'
import { speechFor } from '../hub/announcer/speech.ts'
import { VoicePack } from '../hub/announcer/voice-pack.ts'
import { encodeWav } from '../hub/announcer/wav.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { checkedFlag } from './flag-value.ts'
import { didYouMean } from '../edge/shared/nearest-name.ts'
import { issueHalves } from '../edge/shared/schema-problem.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

const ACTIONS = ['make-voice-pack', 'say'] as const

/**
 * The voice caller's tools on the hub host. The announcer itself runs inside
 * the hub (the `announcer` section of its config, docs/operations.md); here a
 * technician makes the default voice pack and tries the speakers.
 */
export const announcerCommand: Subcommand = {
  name: 'announcer',
  summary: COMMAND_SUMMARIES.announcer,
  usage: [
    'counter-edge announcer make-voice-pack --dir /var/lib/counter-edge/voice [--english]',
    '       counter-edge announcer say --dir /var/lib/counter-edge/voice --ticket A012 --window 3 [--device plughw:1,0 | --out call.wav] [--english] [--volume 0.8]',
  ].join('\n'),
  options: {
    dir: { type: 'string', description: '语音包目录（espeak-ng 生成的在 generated/<语言>/；大厅自己录的 zh/ 与 en/ 优先） / the voice pack directory (generated/<lang>/ from espeak-ng; the hall\'s own clips in zh/ and en/ win)' },
    english: { type: 'boolean', default: false, description: '同时生成英文语音（make-voice-pack），或在中文之后再用英文播报（say） / English clips too (make-voice-pack), or say it in English after the Chinese (say)' },
    ticket: { type: 'string', description: 'say：票号，如 A012 / say: the ticket, e.g. A012' },
    window: { type: 'string', description: 'say：窗口号，如 3 / say: the window number, e.g. 3' },
    template: { type: 'string', default: DEFAULT_TEMPLATES.zh, description: 'say：播报模板 / say: the template' },
    device: { type: 'string', default: 'default', description: 'say：aplay 使用的 ALSA 设备（aplay -L 列出） / say: the ALSA device for aplay (aplay -L lists them)' },
    out: { type: 'string', description: 'say：把 WAV 写入此文件，而不播放 / say: write the WAV to this file instead of playing it' },
    volume: { type: 'string', default: '1', description: 'say：音量 0–2 / say: 0–2' },
  },
  async run(v, positionals) {
    const action = ACTIONS.find((a) => a === positionals[0])
    if (!action) {
      const given = positionals[0]
      if (given === undefined) throw new UsageError(`请给出操作：${ACTIONS.join(' 或 ')} / say what to do: ${ACTIONS.join(' or ')}`)
      const hint = didYouMean(given, ACTIONS)
      throw new UsageError(`没有操作 "${given}"${hint.zh}；可选 ${ACTIONS.join('、')} / no action "${given}"${hint.en}; choose ${ACTIONS.join(' or ')}`)
    }
    if (typeof v.dir !== 'string') throw new UsageError('缺少 --dir：语音包目录，如 /var/lib/counter-edge/voice / --dir is required: the voice pack directory, e.g. /var/lib/counter-edge/voice')
    const dir = v.dir
    if (action === 'make-voice-pack') {
      if (!espeakAvailable()) {
        console.error(`未安装 espeak-ng，请运行：${ESPEAK_INSTALL} / espeak-ng is not installed; run: ${ESPEAK_INSTALL}`)
        return 1
      }
      const { written } = await makeVoicePack(dir, v.english ? ['zh', 'en'] : ['zh'])
      console.log(`已生成 ${written} 个语音片段 / wrote ${written} clips to ${dir}/generated; a hall's own recordings go in ${dir}/zh/ (and en/), named as there, and win`)
      return 0
    }
    const ticket = checkedFlag(ticketSchema, v.ticket, '--ticket', { zh: '缺少 --ticket：要叫的号，如 A012', en: '--ticket is required: the ticket to call, e.g. A012' })
    const window = checkedFlag(publicWindowSchema.shape.number, v.window, '--window', { zh: '缺少 --window：窗口号，如 3', en: '--window is required: the window number, e.g. 3' })
    const volume = Number(v.volume)
    if (String(v.volume).trim() === '' || !Number.isFinite(volume) || volume < 0 || volume > 2) {
      throw new UsageError(`--volume 须为 0 到 2 的数，不是 "${String(v.volume)}" / --volume must be a number from 0 to 2, not "${String(v.volume)}"`)
    }
    const settings = announcerConfigSchema.safeParse({ voiceDir: dir, output: { dir }, template: v.template, english: Boolean(v.english), volume })
    if (!settings.success) {
      // What is left to fail is the template (the directory is any string, the volume checked above).
      const issue = settings.error.issues[0]!
      const flag = issue.path[0] === 'template' ? '--template' : `--${String(issue.path[0])}`
      const { zh, en } = issueHalves(issue, v.template)
      throw new UsageError(`${flag}：${zh} / ${flag}: ${en}`)
    }
    const config = settings.data
    const pack = await VoicePack.load(dir, createLogger({ name: 'announcer', level: 'warn' }))
    for (const p of pack.problems) console.error(`语音片段无法使用 / clip refused: ${p.message}`)
    const english = config.english === true ? DEFAULT_TEMPLATES.en : config.english === false ? null : config.english
    const speech = speechFor(pack, { ...config, english }, { ticket, window }, 1)
    console.log(`${fillTemplate(config.template, { ticket, window })}: ${speech.clips.join(' / ')}`)
    if (speech.missing.length) console.error(`缺少语音片段 / missing clips: ${speech.missing.join(' ')} (said without them)`)
    if (!speech.audio) {
      console.error(`语音包为空 / the voice pack in ${dir} has none of these clips: counter-edge announcer make-voice-pack --dir ${dir}`)
      return 1
    }
    if (typeof v.out === 'string') {
      await writeFile(v.out, encodeWav(speech.audio))
      console.log(`已写入 / written: ${v.out}`)
    } else {
      await new AplaySpeaker(v.device as string).play(speech.audio)
      console.log(`已播放 / played on ${v.device as string}`)
    }
    return speech.missing.length ? 1 : 0
  },
}

import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Aedes } from 'aedes'
import type { Logger } from '../../edge/shared/logger.ts'
import type { ResolvedAnnouncerConfig } from './announcer-config.ts'
import { Announcer } from './announcer.ts'
import { ESPEAK_INSTALL, espeakAvailable, makeVoicePack } from './espeak-pack.ts'
import type { Language } from './script.ts'
import { AplaySpeaker, FileSpeaker, type Speaker } from './speakers.ts'
import { GENERATED, VoicePack } from './voice-pack.ts'

/** One line, Chinese and English, with the exact command: what a hall without espeak-ng is told. */
export const NO_ESPEAK_LINE = `语音播报未启用：未安装 espeak-ng，请运行 ${ESPEAK_INSTALL} / voice announcer not working: espeak-ng is not installed; run ${ESPEAK_INSTALL}`

/**
 * The announcer as a part of the hub: the default voice pack made on first
 * start where espeak-ng is installed (a hall without it still runs: the
 * announcer then lists what it would say and reports it cannot), then the pack
 * loaded, the speaker chosen, the hall's call events followed.
 */
export async function startAnnouncerPart(o: { hall: string; config: ResolvedAnnouncerConfig; aedes: Aedes; log: Logger; announced?: Iterable<string> }): Promise<Announcer> {
  const { config, log } = o
  const languages: Language[] = config.english === false ? ['zh'] : ['zh', 'en']
  let noVoiceWhy: string | undefined
  if (config.makeVoicePack && (await lacksGenerated(config.voiceDir, languages))) {
    if (espeakAvailable(config.espeak)) {
      const { written } = await makeVoicePack(config.voiceDir, languages, config.espeak)
      log.info({ dir: config.voiceDir, clips: written }, 'made the default voice pack with espeak-ng')
    } else {
      noVoiceWhy = NO_ESPEAK_LINE
    }
  }
  const pack = await VoicePack.load(config.voiceDir, log)
  const speaker: Speaker =
    'aplay' in config.output
      ? new AplaySpeaker(config.output.aplay.device)
      : new FileSpeaker({ dir: config.output.dir, ...(config.output.keep ? { keep: config.output.keep } : {}), ...(config.output.line ? { line: config.output.line } : {}), realtime: true })
  const announcer = new Announcer({ hall: o.hall, config, pack, speaker, aedes: o.aedes, log, ...(o.announced ? { announced: o.announced } : {}), ...(noVoiceWhy && pack.size === 0 ? { noVoiceWhy } : {}) })
  await announcer.start()
  return announcer
}

async function lacksGenerated(dir: string, languages: readonly Language[]): Promise<boolean> {
  for (const lang of languages) {
    const files = await readdir(join(dir, GENERATED, lang)).catch(() => [] as string[])
    if (!files.some((f) => f.endsWith('.wav'))) return true
  }
  return false
}

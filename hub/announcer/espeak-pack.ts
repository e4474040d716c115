import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { GENERATED } from './voice-pack.ts'
import type { Language } from './script.ts'
import { decodeWav, encodeWav, trimSilence } from './wav.ts'

const run = promisify(execFile)

export const ESPEAK_BINARY = '/usr/bin/espeak-ng'
export const ESPEAK_INSTALL = 'sudo apt-get install -y espeak-ng'

/** One clip of the default pack: its name (the file name) and what espeak-ng is given to say it. */
export interface ClipSource {
  lang: Language
  name: string
  voice: string
  text: string
}

// Debian's espeak-ng reads few Hanzi in its cmn voice (it spells the rest in English), so the
// Chinese clips are written in tone-numbered pinyin for the pinyin voice, which says them right.
const ZH_PHRASES: Record<string, string> = { 请: 'qing3', 号: 'hao4', 到: 'dao4', 号窗口: 'hao4 chuang1 kou3', 办理: 'ban4 li3' }
// Single digits, as a hall reads a ticket: 零 一 二 … 九.
const ZH_DIGITS = ['ling2', 'yi1', 'er4', 'san1', 'si4', 'wu3', 'liu4', 'qi1', 'ba1', 'jiu3']
const EN_DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']
const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ']

/** The default pack: phrases, digits and letters in Chinese; in English too when asked. */
export function defaultClipSources(languages: readonly Language[]): ClipSource[] {
  const out: ClipSource[] = []
  if (languages.includes('zh')) {
    for (const [name, text] of Object.entries(ZH_PHRASES)) out.push({ lang: 'zh', name, voice: 'cmn-latn-pinyin', text })
    ZH_DIGITS.forEach((text, d) => out.push({ lang: 'zh', name: String(d), voice: 'cmn-latn-pinyin', text }))
    // Halls say ticket letters by their English names; the cmn voice says them so, in Mandarin sounds.
    for (const l of LETTERS) out.push({ lang: 'zh', name: l, voice: 'cmn', text: l })
  }
  if (languages.includes('en')) {
    for (const w of ['number', 'please', 'go', 'to', 'window']) out.push({ lang: 'en', name: w, voice: 'en', text: w })
    EN_DIGITS.forEach((text, d) => out.push({ lang: 'en', name: String(d), voice: 'en', text }))
    for (const l of LETTERS) out.push({ lang: 'en', name: l, voice: 'en', text: l })
  }
  return out
}

export function espeakAvailable(binary = ESPEAK_BINARY): boolean {
  return existsSync(binary)
}

/**
 * Writes the default pack into `<dir>/generated/<lang>/`, one espeak-ng run
 * per clip, each trimmed of espeak-ng's long silences. The hall's own clips in
 * `<dir>/<lang>/` are never touched: they keep overriding.
 */
export async function makeVoicePack(dir: string, languages: readonly Language[], binary = ESPEAK_BINARY): Promise<{ written: number }> {
  if (!espeakAvailable(binary)) throw new Error(`espeak-ng is not installed (${binary}); install it with: ${ESPEAK_INSTALL} / 未安装 espeak-ng，请运行：${ESPEAK_INSTALL}`)
  const tmp = await mkdtemp(join(tmpdir(), 'counter-edge-voice-'))
  try {
    let written = 0
    for (const c of defaultClipSources(languages)) {
      const raw = join(tmp, 'clip.wav')
      await run(binary, ['-v', c.voice, '-s', '150', '-w', raw, c.text], { timeout: 20_000 })
      const pcm = trimSilence(decodeWav(await readFile(raw), `espeak-ng output for ${c.name}`))
      const out = join(dir, GENERATED, c.lang)
      await mkdir(out, { recursive: true })
      // Renamed into place: a hub loading the pack meanwhile never reads half a clip.
      await writeFile(join(out, `${c.name}.wav.part`), encodeWav(pcm))
      await rename(join(out, `${c.name}.wav.part`), join(out, `${c.name}.wav`))
      written++
    }
    return { written }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

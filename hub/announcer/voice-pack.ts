import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../edge/shared/logger.ts'
import { DEFAULT_PHRASES, type Language } from './script.ts'
import { decodeWav, resample, type Pcm } from './wav.ts'

/**
 * A hall's voice pack: one WAV per digit, letter and phrase, per language.
 * `<dir>/<lang>/<clip>.wav` holds the hall's own recordings and wins over
 * `<dir>/generated/<lang>/<clip>.wav`, which `counter-edge announcer
 * make-voice-pack` writes from espeak-ng (and rewrites freely).
 */
export const GENERATED = 'generated'

export interface ClipProblem {
  lang: Language
  file: string
  message: string
}

export class VoicePack {
  private constructor(
    readonly dir: string,
    /** Every clip at this one rate: the rate most clips have; the others resampled when loaded. */
    readonly rate: number,
    private readonly clips: Record<Language, Map<string, Int16Array>>,
    /** Clips refused when loaded (not WAV, not 16-bit mono): reported, and said as missing. */
    readonly problems: readonly ClipProblem[],
  ) {}

  /** Loads what the directory holds; a clip that cannot be read is a problem, never a failure of the whole pack. */
  static async load(dir: string, log: Logger): Promise<VoicePack> {
    const problems: ClipProblem[] = []
    const loaded: Record<Language, Map<string, Pcm>> = { zh: new Map(), en: new Map() }
    for (const lang of ['zh', 'en'] as const) {
      // Generated first, so the hall's own recording of the same clip replaces it.
      for (const sub of [join(dir, GENERATED, lang), join(dir, lang)]) {
        for (const file of await wavFiles(sub)) {
          const name = file.slice(0, -4).normalize('NFC')
          try {
            loaded[lang].set(key(lang, name), decodeWav(await readFile(join(sub, file)), join(sub, file)))
          } catch (err) {
            problems.push({ lang, file: join(sub, file), message: (err as Error).message })
          }
        }
      }
    }
    const rates = new Map<number, number>()
    for (const m of Object.values(loaded)) for (const p of m.values()) rates.set(p.rate, (rates.get(p.rate) ?? 0) + 1)
    const rate = [...rates.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 22_050
    const clips: Record<Language, Map<string, Int16Array>> = { zh: new Map(), en: new Map() }
    for (const lang of ['zh', 'en'] as const) {
      for (const [name, pcm] of loaded[lang]) {
        if (pcm.rate !== rate) log.info({ lang, clip: name, from: pcm.rate, to: rate }, 'voice clip resampled to the pack rate')
        clips[lang].set(name, resample(pcm, rate).samples)
      }
    }
    for (const p of problems) log.warn(p, 'voice clip refused')
    return new VoicePack(dir, rate, clips, problems)
  }

  get size(): number {
    return this.clips.zh.size + this.clips.en.size
  }

  has(lang: Language, name: string): boolean {
    return this.clips[lang].has(key(lang, name))
  }

  clip(lang: Language, name: string): Int16Array | undefined {
    return this.clips[lang].get(key(lang, name))
  }

  /** What the tokeniser may cut literal text into: the default phrases (so a missing one is reported by its name) and every clip the hall added. */
  phrases(lang: Language): ReadonlySet<string> {
    return new Set([...DEFAULT_PHRASES[lang], ...this.clips[lang].keys()])
  }
}

/** English clip names are matched without case ("Number.wav" says "number", "A.wav" the letter). */
function key(lang: Language, name: string): string {
  return lang === 'en' ? name.toLowerCase() : name
}

async function wavFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.wav')).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

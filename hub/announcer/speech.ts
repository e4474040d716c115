import type { ResolvedAnnouncerConfig } from './announcer-config.ts'
import { tokenize, type Language, type ScriptValues } from './script.ts'
import type { VoicePack } from './voice-pack.ts'
import { joinParts, type Part, type Pcm } from './wav.ts'

export type SpeechSettings = Pick<ResolvedAnnouncerConfig, 'template' | 'volume' | 'clipGapMs' | 'languageGapMs' | 'repeatGapMs'> & {
  /** The English template, or null for Chinese only. */
  english: string | null
}

export interface Speech {
  /** The clips of one saying, in order (English ones as "en:<name>"), and those the pack lacks. */
  clips: string[]
  missing: string[]
  /** The audio, said `times` times; null when the pack has none of the clips. */
  audio: Pcm | null
}

/** What one announcement sounds like: the template's clips from the pack, joined with short silences, the whole said `times` times. */
export function speechFor(pack: VoicePack, s: SpeechSettings, values: ScriptValues, times: number): Speech {
  const clips: Array<{ lang: Language; name: string }> = tokenize(s.template, values, pack.phrases('zh'), 'zh').map((name) => ({ lang: 'zh', name }))
  if (s.english) clips.push(...tokenize(s.english, values, pack.phrases('en'), 'en').map((name) => ({ lang: 'en' as const, name })))
  const label = (c: { lang: Language; name: string }) => (c.lang === 'en' ? `en:${c.name}` : c.name)
  const ms = (n: number) => Math.round((pack.rate * n) / 1000)
  const once: Part[] = []
  let lang: Language | null = null
  for (const c of clips) {
    const samples = pack.clip(c.lang, c.name)
    if (!samples) continue
    if (once.length) once.push(ms(c.lang === lang ? s.clipGapMs : s.languageGapMs))
    once.push(samples)
    lang = c.lang
  }
  const parts: Part[] = []
  for (let i = 0; i < times && once.length; i++) parts.push(...(i ? [ms(s.repeatGapMs)] : []), ...once)
  return {
    clips: clips.map(label),
    missing: clips.filter((c) => !pack.has(c.lang, c.name)).map(label),
    audio: once.length ? { rate: pack.rate, samples: joinParts(parts, s.volume) } : null,
  }
}

/**
 * What an announcement says, as a list of clip names: the template's words
 * and phrases, and the ticket and window one character at a time, as halls
 * read them ("请 A 0 1 2 号 到 3 号窗口 办理").
 */

export type Language = 'zh' | 'en'

export const DEFAULT_TEMPLATES: Record<Language, string> = {
  zh: '请{ticket}号到{window}号窗口办理',
  en: 'Number {ticket}, please go to window {window}',
}

/** The phrases the default pack has, beside one clip per digit and letter. */
export const DEFAULT_PHRASES: Record<Language, readonly string[]> = {
  zh: ['请', '号', '到', '号窗口', '办理'],
  en: ['number', 'please', 'go', 'to', 'window'],
}

const PLACEHOLDER = /\{(ticket|window)\}/g

export interface ScriptValues {
  ticket: string
  window: string
}

/** A template with its placeholders filled: the text the dashboard shows ("请A012号到3号窗口办理"). */
export function fillTemplate(template: string, v: ScriptValues): string {
  return template.replace(PLACEHOLDER, (_, k: 'ticket' | 'window') => v[k])
}

/** Refuses a template that cannot say where to go: both placeholders are needed, and nothing else in braces. The rule in both languages. */
export function checkTemplate(template: string): { zh: string; en: string } | null {
  for (const k of ['{ticket}', '{window}']) if (!template.includes(k)) return { zh: `模板须包含 ${k}`, en: `the template must contain ${k}` }
  const other = /\{(?!ticket\}|window\})[^}]*\}/.exec(template)
  if (other) return { zh: `模板中有未知的占位符 ${other[0]}；请用 {ticket} 和 {window}`, en: `unknown placeholder ${other[0]} in the template; use {ticket} and {window}` }
  return null
}

/**
 * The clip names of a filled template. Literal text is cut into the longest
 * phrases the pack has ("号到" → 号, 到; "号窗口办理" → 号窗口, 办理); a piece
 * the pack has no phrase for becomes a clip name of its own (one character in
 * Chinese, one word in English), which the pack then reports missing unless a
 * hall has recorded it. Punctuation and spaces are pauses, not clips.
 */
export function tokenize(template: string, v: ScriptValues, phrases: ReadonlySet<string>, lang: Language): string[] {
  const out: string[] = []
  let last = 0
  for (const m of template.matchAll(PLACEHOLDER)) {
    out.push(...literal(template.slice(last, m.index), phrases, lang))
    out.push(...[...v[m[1] as 'ticket' | 'window']].map((c) => c.toUpperCase()))
    last = m.index + m[0].length
  }
  out.push(...literal(template.slice(last), phrases, lang))
  return out
}

function literal(text: string, phrases: ReadonlySet<string>, lang: Language): string[] {
  // Units: characters in Chinese, lower-case words in English; anything else is a pause.
  const units = lang === 'zh' ? [...text].filter((c) => /[\p{L}\p{N}]/u.test(c)) : (text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [])
  const join = (a: string[]) => a.join(lang === 'zh' ? '' : ' ')
  const out: string[] = []
  let i = 0
  while (i < units.length) {
    let n = units.length - i
    while (n > 1 && !phrases.has(join(units.slice(i, i + n)))) n--
    out.push(join(units.slice(i, i + n)))
    i += n
  }
  return out
}

import type { z } from 'zod'
import { ID_PATTERN, TICKET_PATTERN } from '../protocol/ids.ts'
import { WINDOW_NUMBER_PATTERN } from '../protocol/public-window.ts'
import { didYouMean } from './nearest-name.ts'

/**
 * What is wrong with a config file (or a flag) that failed its schema, as a
 * technician reads it: `中文 / English`, the field named. The schemas' own
 * English stays as it is (central reads it too, in command refusals); the
 * Chinese half is added here, by the kind of the problem.
 */

type Issue = z.core.$ZodIssue
type Path = readonly PropertyKey[]

export interface SchemaProblem {
  /** The field, dotted (`tls.port`); empty for the file as a whole. */
  path: string
  /** `中文 / English`. */
  text: string
}

/** The rules the protocol's patterns stand for, in Chinese; the schemas' English says the same. */
const PATTERN_RULES_ZH = new Map<string, string>([
  [String(ID_PATTERN), "须为 1–32 个字符：a–z、0–9、'-'，不以 '-' 开头"],
  [String(TICKET_PATTERN), '须为 1–8 个字符：A–Z、0–9'],
  [String(WINDOW_NUMBER_PATTERN), '须为 1–8 个字符：A–Z、0–9，如 "3"'],
])

const TYPE_ZH: Record<string, string> = {
  string: '字符串',
  number: '数字',
  boolean: 'true 或 false',
  array: '数组 [...]',
  object: '对象 {...}',
  null: 'null',
  undefined: '空',
}

/**
 * The one problem to show of a schema failure: the first, except that a required key missing beside
 * an unknown key is shown as the likely misspelling it is ("bord" for "board").
 */
export function schemaProblem(schema: z.core.$ZodType, input: unknown, issues: readonly Issue[]): SchemaProblem {
  for (const unknown of issues) {
    if (unknown.code !== 'unrecognized_keys') continue
    const missing = issues.filter((i) => i.path.length === unknown.path.length + 1 && samePrefix(i.path, unknown.path) && isMissing(i, input)).map((i) => String(i.path.at(-1)))
    if (missing.length > 0) {
      const hint = didYouMean(unknown.keys[0]!, missing, quote)
      return {
        path: dotted(unknown.path),
        text: `缺少 ${missing.map(quote).join('、')}，却有未知的键 ${unknown.keys.map(quote).join('、')}${hint.zh} / ${missing.map(quote).join(', ')} missing, and unknown key${unknown.keys.length > 1 ? 's' : ''} ${unknown.keys.map(quote).join(', ')}${hint.en}`,
      }
    }
  }
  const first = issues[0]!
  if (first.code === 'unrecognized_keys') {
    const known = keysAt(schema, first.path)
    const named = first.keys.map((k) => ({ k, hint: didYouMean(k, known, quote) }))
    const s = first.keys.length > 1 ? 's' : ''
    return {
      path: dotted(first.path),
      text: `未知的键 ${named.map((n) => `${quote(n.k)}${n.hint.zh}`).join('；')} / unknown key${s} ${named.map((n) => `${quote(n.k)}${n.hint.en}`).join(', ')}`,
    }
  }
  const value = valueAt(input, first.path)
  const { zh, en } = issueHalves(first, value)
  const hint = first.code === 'invalid_format' && typeof value === 'string' ? recasedHint(value, (c) => fitsAt(schema, input, first.path, c)) : { zh: '', en: '' }
  return { path: dotted(first.path), text: `${zh}${hint.zh} / ${en}${hint.en}` }
}

/**
 * A value right but for its case ("W13" for w13, "a012" for A012), pointed to: its lower and its upper case,
 * each offered where `fits` takes it. For a config file (fits: the whole file with it) and a flag (fits: the
 * flag's schema) alike.
 */
export function recasedHint(value: string, fits: (candidate: string) => boolean): { zh: string; en: string } {
  const recased = [value.toLowerCase(), value.toUpperCase()].filter((c) => c !== value && fits(c))
  return didYouMean(value, recased, quote)
}

/** Whether the file would pass at `path` with `candidate` there instead (other fields may still be wrong). */
function fitsAt(schema: z.core.$ZodType, input: unknown, path: Path, candidate: string): boolean {
  const copy = structuredClone(input)
  let at = copy as Record<PropertyKey, unknown>
  for (const p of path.slice(0, -1)) at = at[p] as Record<PropertyKey, unknown>
  at[path.at(-1)!] = candidate
  const r = (schema as unknown as z.ZodType).safeParse(copy)
  return r.success || !r.error.issues.some((i) => samePrefix(i.path, path) && i.path.length === path.length)
}

/** One issue of a value (a flag's, or a field's) as `中文 / English`. */
export function issueText(issue: Issue, value: unknown): string {
  const { zh, en } = issueHalves(issue, value)
  return `${zh} / ${en}`
}

/** The two halves of issueText, for a caller that adds to each (a hint). */
export function issueHalves(issue: Issue, value: unknown): { zh: string; en: string } {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return { zh: '缺少此项', en: `required (${issue.expected})` }
      return { zh: `应为${TYPE_ZH[issue.expected] ?? issue.expected}，却是${TYPE_ZH[typeOf(value)] ?? typeOf(value)}`, en: `expected ${issue.expected}, received ${typeOf(value)}` }
    case 'invalid_format':
      return { zh: (issue.format === 'regex' && PATTERN_RULES_ZH.get(issue.pattern ?? '')) || '格式不对', en: issue.message }
    case 'too_small':
      return { zh: issue.origin === 'string' && Number(issue.minimum) === 1 ? '不能为空' : '太小或太短', en: issue.message }
    case 'too_big':
      return { zh: '太大或太长', en: issue.message }
    case 'invalid_value':
      return { zh: '不是允许的取值', en: issue.message }
    case 'custom':
      // A rule of our own (a refine) says itself in Chinese through params.zh; the generic words only when it does not.
      return { zh: typeof issue.params?.zh === 'string' ? issue.params.zh : '取值无效', en: issue.message }
    default:
      return { zh: '取值无效', en: issue.message }
  }
}

function quote(name: string): string {
  return JSON.stringify(name)
}

function dotted(path: Path): string {
  return path.map(String).join('.')
}

function samePrefix(path: Path, prefix: Path): boolean {
  return prefix.every((p, i) => path[i] === p)
}

function isMissing(issue: Issue, input: unknown): boolean {
  return issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined
}

function valueAt(input: unknown, path: Path): unknown {
  let v = input
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PropertyKey, unknown>)[p]
  }
  return v
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
}

/** The keys the schema takes at a path, for suggesting one; none where it cannot tell (a union, a record). */
function keysAt(schema: z.core.$ZodType, path: Path): string[] {
  let s: z.core.$ZodType | undefined = schema
  let rest = [...path]
  for (let guard = 0; s && guard < 64; guard++) {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string }
    if ('innerType' in def) s = def.innerType as z.core.$ZodType
    else if (def.type === 'pipe') s = def.in as z.core.$ZodType
    else if (def.type === 'array' && typeof rest[0] === 'number') {
      s = def.element as z.core.$ZodType
      rest = rest.slice(1)
    } else if (def.type === 'object') {
      const shape = def.shape as Record<string, z.core.$ZodType>
      if (rest.length === 0) return Object.keys(shape)
      s = shape[String(rest[0])]
      rest = rest.slice(1)
    } else return []
  }
  return []
}

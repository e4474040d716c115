import type { z } from 'zod'
import { isMessageId } from './ids.ts'

/**
 * Limit for every topic of the contract: ample for any message it defines, and
 * small enough that a misbehaving client cannot make a board buffer much.
 */
export const MAX_PAYLOAD_BYTES = 16 * 1024

/**
 * Deepest nesting of objects and arrays a payload may have. The contract's messages nest four
 * levels at most; a payload nested thousands deep (a few KiB of brackets) parses, but anything
 * that walks it recursively afterwards (JSON.stringify, a deep clone, a logger) runs out of stack
 * and takes its process down, so it is refused here, before anything walks it.
 */
export const MAX_PAYLOAD_DEPTH = 32

/** How many schema issues a reply names: enough to fix a payload, short enough for a log line. */
const MAX_REPORTED_ISSUES = 3

export type DecodedPayload =
  | { ok: true; value: Record<string, unknown> }
  /** object: what parsed, when it parsed but broke a limit, so its id can still address the reply. */
  | { ok: false; code: 'bad-json' | 'too-large'; message: string; object?: Record<string, unknown> }

export type Validated<T> = { ok: true; data: T } | { ok: false; message: string }

const utf8 = new TextDecoder('utf-8', { fatal: true })
/** The size on the wire; counted rather than encoded so an oversized string costs no allocation. */
export function payloadByteLength(payload: Uint8Array | string): number {
  if (typeof payload !== 'string') return payload.byteLength
  let bytes = 0
  for (let i = 0; i < payload.length; i++) {
    const unit = payload.charCodeAt(i)
    if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < payload.length && (payload.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      i++
    } else bytes += 3 // lone surrogates are sent as U+FFFD, also 3 bytes
  }
  return bytes
}

/**
 * The message's id, read even from a payload that broke a limit after it
 * parsed, so a refusal can still be addressed to the command it refuses.
 */
export function messageIdOf(decoded: DecodedPayload): string | null {
  const read = decoded.ok ? decoded.value : decoded.object
  return read !== undefined && isMessageId(read.id) ? read.id : null
}

/** Size first, so an oversized payload is never decoded or parsed. */
export function decodeJsonObject(payload: Uint8Array | string): DecodedPayload {
  const size = payloadByteLength(payload)
  if (size > MAX_PAYLOAD_BYTES) {
    return { ok: false, code: 'too-large', message: `payload is ${size} bytes, more than the limit of ${MAX_PAYLOAD_BYTES}` }
  }
  let text: string
  if (typeof payload === 'string') {
    text = payload
  } else {
    try {
      text = utf8.decode(payload)
    } catch {
      return { ok: false, code: 'bad-json', message: 'payload is not valid UTF-8' }
    }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    return { ok: false, code: 'bad-json', message: `payload is not valid JSON (${truncate(reason, 100)})` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad-json', message: `payload must be a JSON object, got ${describeJsonKind(value)}` }
  }
  if (nestsDeeperThan(value, MAX_PAYLOAD_DEPTH)) {
    return { ok: false, code: 'too-large', message: `payload nests objects and arrays more than ${MAX_PAYLOAD_DEPTH} levels deep`, object: value as Record<string, unknown> }
  }
  return { ok: true, value: value as Record<string, unknown> }
}

/**
 * Whether parsed JSON nests objects and arrays more than `max` levels deep (the value itself is
 * level 1). The recursion stops one level past `max`, so the check cannot itself overflow; it
 * allocates nothing, since every board message the hub takes passes here.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  return deeperThan(value, 1, max)
}

function deeperThan(v: unknown, depth: number, max: number): boolean {
  if (typeof v !== 'object' || v === null) return false
  if (depth > max) return true
  if (Array.isArray(v)) {
    for (const child of v) if (typeof child === 'object' && child !== null && deeperThan(child, depth + 1, max)) return true
    return false
  }
  for (const key in v) {
    const child = (v as Record<string, unknown>)[key]
    if (typeof child === 'object' && child !== null && deeperThan(child, depth + 1, max)) return true
  }
  return false
}

/**
 * Zod's default texts speak to developers ("Invalid input: expected int,
 * received number"); replies are read by integrators and hall technicians, so
 * each issue says what was expected in plain terms. Schema-level messages (ids,
 * tickets, dates, refinements) take precedence over this map.
 */
export const contractErrorMap = (issue: z.core.$ZodRawIssue): string | undefined => {
  // JSON has no undefined, so an undefined input is always a missing field, whatever the schema.
  if (issue.input === undefined && issue.code !== 'unrecognized_keys' && issue.code !== 'custom') return 'required'
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${describeExpected(issue.expected)}`
    case 'too_small':
      return describeBound(issue.origin, 'min', issue.minimum, issue.inclusive ?? true)
    case 'too_big':
      return describeBound(issue.origin, 'max', issue.maximum, issue.inclusive ?? true)
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${renderLiteral(issue.values[0])}`
        : `expected one of ${issue.values.map(renderLiteral).join(', ')}`
    case 'invalid_union':
      // A discriminated union reports the whole object as input; a missing discriminator is still "required".
      if ('discriminator' in issue && typeof issue.discriminator === 'string' && !hasOwn(issue.input, issue.discriminator)) return 'required'
      if ('options' in issue && Array.isArray(issue.options) && issue.options.length > 0) {
        return `expected one of ${issue.options.map(renderLiteral).join(', ')}`
      }
      return 'does not match any allowed form'
    case 'invalid_format':
      return `expected ${issue.format} format`
    default:
      return undefined
  }
}

/**
 * Validate with the contract's wording; on failure, a one-line summary of the first issues.
 * The wording is asked for only when there is something to word: zod parses a valid message
 * about twice as slowly with an error map in its context, and every board message on the hub
 * is validated (docs/benchmarks.md, issue 22). The map changes messages, never the verdict.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown): Validated<z.output<S>> {
  const result = schema.safeParse(value)
  if (result.success) return { ok: true, data: result.data }
  const worded = schema.safeParse(value, { error: contractErrorMap })
  return { ok: false, message: formatIssues(worded.success ? result.error.issues : worded.error.issues, value) }
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  const lines: string[] = []
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${renderPath([...issue.path, key])}: unknown field`)
      continue
    }
    const got = valueAt(input, issue.path)
    const suffix = got.found && issue.message !== 'required' ? `, got ${preview(got.value)}` : ''
    lines.push(`${renderPath(issue.path)}: ${issue.message}${suffix}`)
  }
  return lines.slice(0, MAX_REPORTED_ISSUES).join('; ')
}

export function renderPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'payload'
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else out += out === '' ? String(segment) : `.${String(segment)}`
  }
  return out
}

function hasOwn(value: unknown, key: PropertyKey): boolean {
  return typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, key)
}

function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let current: unknown = input
  for (const segment of path) {
    if (!hasOwn(current, segment)) return { found: false, value: undefined }
    current = (current as Record<PropertyKey, unknown>)[segment]
  }
  return { found: current !== undefined, value: current }
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer'
    case 'number':
      return 'a number'
    case 'string':
      return 'a string'
    case 'boolean':
      return 'true or false'
    case 'object':
      return 'an object'
    case 'array':
      return 'an array'
    case 'null':
      return 'null'
    default:
      return expected
  }
}

function describeBound(origin: string, side: 'min' | 'max', bound: number | bigint | Date, inclusive: boolean): string {
  const n = String(bound)
  const atLeast = side === 'min' ? 'at least' : 'at most'
  switch (origin) {
    case 'string':
      return `expected ${atLeast} ${n} character${n === '1' ? '' : 's'}`
    case 'array':
      return `expected ${atLeast} ${n} item${n === '1' ? '' : 's'}`
    case 'object':
    case 'record':
      return `expected ${atLeast} ${n} field${n === '1' ? '' : 's'}`
    default: {
      const op = side === 'min' ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<'
      return `expected a value ${op} ${n}`
    }
  }
}

function renderLiteral(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

function describeJsonKind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

function preview(value: unknown): string {
  // A value that cannot be written back as JSON (too deep for the stack) is still named, never thrown.
  try {
    return truncate(JSON.stringify(value) ?? String(value), 40)
  } catch {
    return describeJsonKind(value)
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

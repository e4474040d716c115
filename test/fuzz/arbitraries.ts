import fc from 'fast-check'
import { CAPTURE_KINDS, COMMAND_NAMES, commandExamples, SELF_TESTS, SERVICE_OUTCOMES, type CommandName } from '../../edge/protocol/index.ts'

/**
 * Inputs for the fuzz tests: the contract's valid command examples, mutated
 * one field at a time or broken as a whole, and arbitrary bytes and JSON.
 *
 * Every fuzz test takes its seed from FUZZ_SEED (or a fresh one) and prints
 * it, so a failure can be replayed exactly: FUZZ_SEED=<seed> npx vitest run test/fuzz
 */

export const FUZZ_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31)

/** Runs per property: modest in CI, more with FUZZ_RUNS. */
export function runs(ci: number): number {
  return process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : ci
}

export const commandName = fc.constantFrom(...COMMAND_NAMES)

/** Values that break schemas in the usual ways. */
const nasty = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', 'A0234567890', 'a-1', '💥', '../../etc', 'null', '1e999', '-0', 'NaN', '2025-13-45T99:99:99Z', '<script>', '\\u0000'),
  fc.constantFrom(null, true, false, 0, -1, 1.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, [], {}, [[]], { id: 'x' }),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 3 }),
)

/** A plausible field value: sometimes valid for the field, sometimes not. */
const fieldValue = fc.oneof(
  nasty,
  fc.constantFrom('A023', 'B101', '0042', 'ZZZZ', 'served', 'transferred', 'photo', 'fingerprint', 'sign-in', 'sign-out', 'P10482', 'break', 'display', 'keys'),
  fc.integer({ min: -10, max: 20_000 }),
)

const FUTURE = () => new Date(Date.now() + 3_600_000).toISOString()

type Json = Record<string, unknown>

/** Applies f to a JSON object; anything else (an earlier mutation may have replaced the object) passes unchanged. */
const onObject = (f: (o: Json) => unknown) => (o: unknown) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? f(o as Json) : o)

/** One mutation of an example payload, as a JSON object (or something that is not one). */
const mutation: fc.Arbitrary<(o: unknown) => unknown> = fc.oneof(
  fc.constant((o: unknown) => o),
  fc.constant(onObject((o) => ({ ...o, expires: FUTURE() }))),
  fc.nat().map((i) =>
    onObject((o) => {
      const keys = Object.keys(o)
      if (keys.length === 0) return o
      const { [keys[i % keys.length]!]: _gone, ...rest } = o
      return rest
    }),
  ),
  fc.tuple(fc.nat(), fieldValue).map(([i, v]) =>
    onObject((o) => {
      const keys = Object.keys(o)
      return keys.length === 0 ? o : { ...o, [keys[i % keys.length]!]: v }
    }),
  ),
  fc.tuple(fc.constantFrom('ticket', 'outcome', 'kind', 'action', 'officer', 'reason', 'seconds', 'tests', 'settings', 'green', 'overtimeWarnS', 'overtimeLimitS', 'service'), fieldValue).map(([k, v]) =>
    onObject((o) => ({ ...o, expires: FUTURE(), [k]: v })),
  ),
  fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => onObject((o) => ({ ...o, [k]: v }))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => () => v),
  fc.constant(onObject((o) => ({ ...o, id: undefined }))),
  fc.constant((o: unknown) => [o]),
)

/** Built once per name: an arbitrary is costly to build, and chain() would build one per sample. */
function memo<A>(build: (name: CommandName) => A): (name: CommandName) => A {
  const cache = new Map<CommandName, A>()
  return (name) => {
    let a = cache.get(name)
    if (a === undefined) cache.set(name, (a = build(name)))
    return a
  }
}

/** A payload for a command of this name: a mutated example, broken text, or arbitrary bytes. */
export const commandPayload = memo(buildCommandPayload)

function buildCommandPayload(name: CommandName): fc.Arbitrary<string | Buffer> {
  const example = commandExamples[name] as unknown as Json
  const json = fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => JSON.stringify(ms.reduce<unknown>((o, m) => m(o), { ...example })) ?? 'null')
  return fc.oneof(
    { weight: 6, arbitrary: json },
    { weight: 1, arbitrary: json.chain((text) => fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('{"id":"q-1","expires":"2099-01-01T00:00:00Z"'), '{}', '[]', 'null', '"call"', '{"__proto__":{"ok":true}}') },
    { weight: 1, arbitrary: fc.constant(JSON.stringify({ ...example, expires: FUTURE(), pad: 'x'.repeat(17 * 1024) })) },
  )
}

/**
 * A contract example with one of its fields (or a new one) replaced by arrays and objects nested
 * `depth` deep, written as text so any depth up to the size limit can be drawn: a payload that
 * parses but that anything walking it recursively (JSON.stringify, a clone) cannot follow.
 */
export function nestedPayload(example: Record<string, unknown>): fc.Arbitrary<{ depth: number; key: string; text: string }> {
  const keys = [...Object.keys(example), 'extra']
  return fc
    .tuple(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 7_000 })), fc.constantFrom('array', 'object'), fc.constantFrom(...keys))
    .map(([depth, kind, key]) => {
      const open = kind === 'array' ? '['.repeat(depth) : '{"a":'.repeat(depth)
      const close = kind === 'array' ? ']'.repeat(depth) : '}'.repeat(depth)
      const rest = JSON.stringify({ ...example, expires: FUTURE(), [key]: '@' })
      // The payload itself is level 1, the nested value starts at level 2.
      return { depth: depth + 1, key, text: rest.replace('"@"', `${open}"x"${close}`) }
    })
}

/** Any command name or something that is not one (the last level of a cmd topic). */
export const anyCommandName: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: commandName },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('CALL', 'call ', 'launch', 'reboot', '', '..', 'self_test', 'evaluate\u0000') },
)

/** Values each field takes in some example, plus near misses: mostly valid, so most of these commands parse. */
const FIELD_POOL: Record<string, unknown[]> = {
  ticket: ['A023', 'B101', '0042', '9', 'ZZZZ', 'A0234', 'ABCDEFGH', 'MW88'],
  outcome: [...SERVICE_OUTCOMES],
  kind: [...CAPTURE_KINDS],
  action: ['sign-in', 'sign-out'],
  officer: ['P10482', 'li-na', 'x'],
  officerName: ['Li Wei', 'W'],
  reason: ['break', 'lunch', 'document'],
  toWindow: ['w02', 'w12'],
  toQueue: ['passport'],
  limitS: [60, 900],
  seconds: [1, 15, 300],
  tests: [[...SELF_TESTS], ['display'], ['keys', 'triggers']],
  service: ['passport', 'permit'],
  green: [true, false],
  appointment: [true, false],
  overtimeWarnS: [30, 300, 7200],
  overtimeLimitS: [60, 900, 14400],
  settings: [{ scale: 5 }, { scale: 3 }, { evaluationTimeoutS: 5 }, { overtimeWarnS: 600 }, { overtimeWarnS: 1000, overtimeLimitS: 900 }, { brightness: 3, logLevel: 'debug' }, { telemetryPeriodS: 5 }],
}

/**
 * A command of this name that is mostly valid: the example with a few fields
 * swapped for pool values or dropped, a fresh id and an expiry around `now`.
 * For the counter machine, which only ever sees what the parser accepted.
 */
export function validishCommand(name: CommandName, now: number): fc.Arbitrary<string> {
  return validishAt(now)(name)
}

const validish = new Map<number, (name: CommandName) => fc.Arbitrary<string>>()
function validishAt(now: number): (name: CommandName) => fc.Arbitrary<string> {
  let f = validish.get(now)
  if (!f) validish.set(now, (f = memo((name) => buildValidish(name, now))))
  return f
}

function buildValidish(name: CommandName, now: number): fc.Arbitrary<string> {
  const example = commandExamples[name] as unknown as Json
  const keys = Object.keys(example).filter((k) => k !== 'id' && k !== 'expires')
  const swappable = [...new Set([...keys, ...Object.keys(FIELD_POOL)])].filter((k) => FIELD_POOL[k])
  return fc
    .record({
      drop: keys.length ? fc.subarray(keys, { maxLength: 1 }) : fc.constant([] as string[]),
      swaps: swappable.length ? fc.array(fc.constantFrom(...swappable).chain((k) => fc.tuple(fc.constant(k), fc.constantFrom(...FIELD_POOL[k]!))), { maxLength: 2 }) : fc.constant([] as Array<[string, unknown]>),
      id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,11}$/),
      expiresIn: fc.integer({ min: -300_000, max: 3_600_000 }),
      // Commands that name a ticket name another one often: the window must tell them apart.
      ticket: 'ticket' in example ? fc.option(fc.constantFrom(...FIELD_POOL.ticket!), { freq: 2 }) : fc.constant(null),
    })
    .map(({ drop, swaps, id, expiresIn, ticket }) => {
      const o: Json = { ...example, id, expires: new Date(now + expiresIn).toISOString() }
      for (const k of drop) delete o[k]
      for (const [k, v] of swaps) o[k] = v
      if (ticket !== null) o.ticket = ticket
      return JSON.stringify(o)
    })
}

import { expect } from 'vitest'
import { step } from '../../edge/counter/machine.ts'
import { stateFields } from '../../edge/counter/view.ts'
import type { CounterState, Effect, Input } from '../../edge/counter/state.ts'
import { eventSchemas, parseCommand, stateSchema, type Command, type EventDraft } from '../../edge/protocol/index.ts'

/**
 * Driving the pure counter machine in tests (test/counter/): commands built
 * through the contract's own parser, steps run in order, and the effects
 * sorted into events and replies.
 */
export const T0 = Date.parse('2026-11-22T08:00:00Z')

let made = 0

/** A command the way the board receives one: through the contract's parser, so a test cannot build one the wire would refuse. */
export function cmd(name: string, args: Record<string, unknown> = {}, expires = T0 + 86_400_000): Input {
  const parsed = parseCommand(name, JSON.stringify({ id: `c${made++}`, expires: new Date(expires).toISOString(), ...args }))
  if (!parsed.ok) throw new Error(`test built a bad command: ${parsed.message}`)
  return { kind: 'command', command: parsed.command as Command }
}

/** When a step happens: one number when the wall and monotonic clocks agree, a pair where a clock step sets them apart. */
export type At = number | [wall: number, mono: number]

export function run(s: CounterState, inputs: Array<[Input, At]>): { state: CounterState; effects: Effect[] } {
  const effects: Effect[] = []
  for (const [input, at] of inputs) {
    const [wall, mono] = typeof at === 'number' ? [at, at] : at
    const r = step(s, input, wall, mono)
    s = r.state
    effects.push(...r.effects)
  }
  return { state: s, effects }
}

export const drafts = (effects: Effect[]): EventDraft[] => effects.flatMap((e) => (e.kind === 'event' ? [e.event] : []))
export const types = (effects: Effect[]): Array<EventDraft['type']> => drafts(effects).map((e) => e.type)
export const replies = (effects: Effect[]) => effects.filter((e) => e.kind === 'reply') as Array<Extract<Effect, { kind: 'reply' }>>
export const eventOf = <T extends EventDraft['type']>(effects: Effect[], type: T) =>
  drafts(effects).find((e) => e.type === type) as Extract<EventDraft, { type: T }> | undefined

const ENVELOPE = { v: 1, id: 'w01-abc-1', boot: 'abc123', seq: 1, ts: new Date(T0).toISOString(), synced: true }

/** Every event a board would send, completed with an envelope, must pass its own schema. */
export function expectValid(effects: Effect[]): void {
  for (const e of drafts(effects)) {
    const r = eventSchemas[e.type].safeParse({ ...ENVELOPE, ...e })
    expect(r.success, `${e.type} ${JSON.stringify(e)}: ${r.success ? '' : r.error.message}`).toBe(true)
  }
}

/** The state message a board would publish for `s` must pass the contract's schema. */
export function expectStateValid(s: CounterState): void {
  const r = stateSchema.safeParse({ ...ENVELOPE, ...stateFields(s) })
  expect(r.success, JSON.stringify(r.error?.issues)).toBe(true)
}

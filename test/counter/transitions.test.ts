import { describe, it, expect } from 'vitest'
import { step } from '../../edge/counter/machine.ts'
import { initialState, type CounterState, type Effect, type Input } from '../../edge/counter/state.ts'
import { statusLampFor } from '../../edge/counter/view.ts'
import { parseCommand, type Command } from '../../edge/protocol/index.ts'

const T0 = Date.parse('2026-11-22T08:00:00Z')
const LIMITS = { digits: 4, charset: '0123456789ABCDEFGHIJLNOPQRSTUY-' }
let n = 0

function cmd(name: string, args: Record<string, unknown> = {}): Input {
  const parsed = parseCommand(name, JSON.stringify({ id: `t${n++}`, expires: new Date(T0 + 3_600_000).toISOString(), ...args }))
  if (!parsed.ok) throw new Error(parsed.message)
  return { kind: 'command', command: parsed.command as Command }
}

// A board whose clock never steps: the wall and monotonic readings coincide (clock steps: test/counter/ratings.test.ts).
function run(inputs: Input[], start = initialState(T0, LIMITS, {}, ['photo', 'fingerprint'])): { state: CounterState; effects: Effect[] } {
  let s = start
  const effects: Effect[] = []
  for (const i of inputs) {
    const r = step(s, i, T0, T0)
    s = r.state
    effects.push(...r.effects)
  }
  return { state: s, effects }
}

/** A window brought into each mode by the commands a central system would send. */
const MODES: Record<string, Input[]> = {
  closed: [],
  idle: [cmd('officer', { action: 'sign-in', officer: 'o1' })],
  calling: [cmd('officer', { action: 'sign-in', officer: 'o1' }), cmd('call', { ticket: 'A1' })],
  serving: [cmd('officer', { action: 'sign-in', officer: 'o1' }), cmd('call', { ticket: 'A1' }), cmd('start')],
  evaluating: [cmd('officer', { action: 'sign-in', officer: 'o1' }), cmd('call', { ticket: 'A1' }), cmd('start'), cmd('finish', { outcome: 'served' })],
  paused: [cmd('officer', { action: 'sign-in', officer: 'o1' }), cmd('pause', { reason: 'break' })],
}

/** Which commands each mode accepts (✓) — every other pair is refused with wrong-mode and changes nothing. */
const TABLE: Array<[string, Record<string, unknown>, string[]]> = [
  ['call', { ticket: 'B2' }, ['idle']],
  ['recall', {}, ['calling']],
  ['no-show', {}, ['calling']],
  ['start', {}, ['calling']],
  ['finish', { outcome: 'served' }, ['serving']],
  ['evaluate', {}, ['evaluating']],
  // In a service, pause waits for it to end (pause after this service); resume is refused without a pause, begun or waiting.
  ['pause', { reason: 'meal' }, ['idle', 'calling', 'serving', 'evaluating']],
  ['resume', {}, ['paused']],
  ['transfer', { toWindow: 'w02', reason: 'approval' }, ['serving']],
  ['transfer', { toQueue: 'permit', reason: 'wrong-queue' }, ['serving']],
  ['park', { reason: 'document' }, ['serving']],
  ['capture', { kind: 'photo' }, ['calling', 'serving']],
  ['officer', { action: 'sign-in', officer: 'o2' }, ['closed', 'idle', 'paused']],
  ['officer', { action: 'sign-out' }, ['idle', 'paused']],
  ['identify', {}, ['closed', 'idle', 'calling', 'serving', 'evaluating', 'paused']],
  ['sync', {}, ['closed', 'idle', 'calling', 'serving', 'evaluating', 'paused']],
]

describe('every command in every mode', () => {
  for (const [name, args, accepted] of TABLE) {
    for (const mode of Object.keys(MODES)) {
      const ok = accepted.includes(mode)
      it(`${name} ${JSON.stringify(args)} in ${mode}: ${ok ? 'acted on' : 'refused'}`, () => {
        const before = run(MODES[mode]!).state
        expect(before.mode).toBe(mode)
        const r = step(before, cmd(name, args), T0 + 1000, T0 + 1000)
        const reply = r.effects.find((e) => e.kind === 'reply') as Extract<Effect, { kind: 'reply' }> | undefined
        if (ok) {
          expect(reply?.ok).toBe(true)
        } else {
          expect(reply).toMatchObject({ ok: false, code: 'wrong-mode' })
          expect(r.state).toBe(before)
          expect(r.effects.filter((e) => e.kind === 'event')).toEqual([])
        }
      })
    }
  }
})

describe('capture, officer keys and overtime rules', () => {
  it('the first capture while calling starts the service; the result clears the device', () => {
    const calling = run(MODES.calling!).state
    const r = step(calling, cmd('capture', { kind: 'photo' }), T0 + 5000, T0 + 5000)
    expect(r.state.mode).toBe('serving')
    expect(r.effects.map((e) => (e.kind === 'event' ? e.event.type : e.kind))).toEqual(['service-started', 'capture', 'reply'])
    const id = (r.effects.find((e) => e.kind === 'capture') as { cmd: string }).cmd
    const done = step(r.state, { kind: 'capture-result', device: 'photo', cmd: id, outcome: { ok: true, latencyMs: 140 } }, T0 + 6000, T0 + 6000)
    expect(done.state.captures.photo).toBeUndefined()
    expect(done.effects).toEqual([{ kind: 'event', event: { type: 'capture-done', kind: 'photo', ticket: 'A1', latencyMs: 140, cmd: id, record: 'svc-1' } }])
    // A late result for a capture that is no longer running changes nothing.
    expect(step(done.state, { kind: 'capture-result', device: 'photo', cmd: id, outcome: { ok: true, latencyMs: 1 } }, T0, T0).effects).toEqual([])
  })

  it('a second capture while one runs is refused busy, and that reply is its one outcome (no capture-failed beside it)', () => {
    const started = step(run(MODES.serving!).state, cmd('capture', { kind: 'photo' }), T0, T0)
    const second = cmd('capture', { kind: 'photo' })
    const id = second.kind === 'command' ? second.command.id : ''
    const r = step(started.state, second, T0 + 100, T0 + 100)
    expect(r.state).toBe(started.state)
    expect(r.effects).toEqual([{ kind: 'reply', cmd: id, name: 'capture', ok: false, code: 'busy', message: 'a photo capture is already running' }])
  })

  it('a board without the device refuses the capture as unsupported', () => {
    const noDevices = run(MODES.serving!, initialState(T0, LIMITS)).state
    const r = step(noDevices, cmd('capture', { kind: 'fingerprint' }), T0, T0)
    expect(r.effects[0]).toMatchObject({ kind: 'reply', ok: false, code: 'unsupported' })
  })

  it('officer keys publish officer-key; recall re-blinks while calling; help raises help-requested; none rates', () => {
    const calling = run(MODES.calling!).state
    const recall = step(calling, { kind: 'officer-key', key: 'recall' }, T0 + 20_000, T0 + 20_000)
    expect(recall.effects.map((e) => (e.kind === 'event' ? e.event.type : e.kind))).toEqual(['officer-key', 'recalled'])
    const evaluating = run(MODES.evaluating!).state
    for (const key of ['call-next', 'recall', 'no-show', 'pause', 'resume', 'help', 'finish'] as const) {
      const r = step(evaluating, { kind: 'officer-key', key }, T0, T0)
      expect(r.state.mode).toBe('evaluating')
      expect(r.effects.some((e) => e.kind === 'event' && e.event.type === 'evaluated')).toBe(false)
    }
    expect(step(evaluating, { kind: 'officer-key', key: 'help' }, T0, T0).effects.map((e) => (e.kind === 'event' ? e.event.type : e.kind))).toEqual(['officer-key', 'help-requested'])
  })

  it('a call may override the overtime thresholds for its service type; the status light follows the level', () => {
    const s = run([cmd('officer', { action: 'sign-in', officer: 'o1' }), cmd('call', { ticket: 'A1', overtimeWarnS: 60, overtimeLimitS: 120 }), cmd('start')]).state
    expect(statusLampFor(s)).toBe('on')
    const warn = step(s, { kind: 'tick' }, T0 + 60_000, T0 + 60_000)
    expect(warn.effects[0]).toMatchObject({ kind: 'event', event: { type: 'overtime', level: 'warning', limitMs: 60_000 } })
    expect(statusLampFor(warn.state)).toBe('slow')
    const over = step(warn.state, { kind: 'tick' }, T0 + 120_000, T0 + 120_000)
    expect(over.effects[0]).toMatchObject({ kind: 'event', event: { type: 'overtime', level: 'over', limitMs: 120_000 } })
    expect(statusLampFor(over.state)).toBe('fast')
    // Without an override the window's defaults apply: 5 and 15 minutes.
    const plain = run(MODES.serving!).state
    expect(step(plain, { kind: 'tick' }, T0 + 299_000, T0 + 299_000).effects).toEqual([])
    expect(step(plain, { kind: 'tick' }, T0 + 900_000, T0 + 900_000).effects[0]).toMatchObject({ event: { level: 'over' } })
  })

  it('self-test is handed to the runtime, which replies after running it', () => {
    const r = step(run(MODES.idle!).state, cmd('self-test', { tests: ['display'] }), T0, T0)
    expect(r.effects).toEqual([{ kind: 'self-test', cmd: expect.any(String), tests: ['display'] }])
  })
})

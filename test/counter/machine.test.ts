import { describe, it, expect } from 'vitest'
import { step } from '../../edge/counter/machine.ts'
import { nextDeadline } from '../../edge/counter/time-rules.ts'
import { displayFor, evaluatorOpen, stateFields } from '../../edge/counter/view.ts'
import { initialState, type CounterState, type Effect, type Input } from '../../edge/counter/state.ts'
import { stateSchema } from '../../edge/protocol/index.ts'
import { T0, cmd, drafts, replies, run, types as events } from '../support/counter-steps.ts'

const LIMITS = { digits: 4, charset: '0123456789ABCDEFGHIJLNOPQRSTUY-' }

function open(): CounterState {
  return run(initialState(T0, LIMITS), [[cmd('officer', { action: 'sign-in', officer: 'li-na' }), T0]]).state
}

describe('counter machine: calling and serving', () => {
  it('starts closed with a dark display; a call before sign-in is refused with the reason', () => {
    const s = initialState(T0, LIMITS)
    expect(displayFor(s, T0).text).toBeNull()
    const r = step(s, cmd('call', { ticket: 'A001' }), T0, T0)
    expect(r.state).toBe(s)
    expect(replies(r.effects)[0]).toMatchObject({ ok: false, code: 'wrong-mode' })
    expect((replies(r.effects)[0] as { message: string }).message).toMatch(/closed/)
  })

  it('call → start → finish(served) → key: one rating for that ticket and officer', () => {
    const r = run(open(), [
      [cmd('call', { ticket: 'A023', service: 'passport' }), T0 + 1000],
      [cmd('start'), T0 + 31_000],
      [cmd('finish', { outcome: 'served' }), T0 + 331_000],
      [{ kind: 'key', score: 'neutral' }, T0 + 335_000],
    ])
    expect(events(r.effects)).toEqual(['called', 'service-started', 'service-finished', 'evaluated'])
    expect(drafts(r.effects).find((e) => e.type === 'service-started')).toMatchObject({ waitedMs: 30_000 })
    expect(drafts(r.effects).find((e) => e.type === 'evaluated')).toEqual({ type: 'evaluated', ticket: 'A023', officer: 'li-na', score: 'neutral', scale: 3, latencyMs: 4000, early: false, record: 'svc-1', caseNo: null, item: null })
    expect(r.state.mode).toBe('idle')
    expect(displayFor(r.state, T0 + 335_000).text).toBeNull()
  })

  it('the display shows the called ticket, blinking for the attention period, then steady', () => {
    const s = run(open(), [[cmd('call', { ticket: 'B7' }), T0]]).state
    expect(displayFor(s, T0 + 1000)).toEqual({ text: 'B7', attention: true })
    expect(displayFor(s, T0 + 11_000)).toEqual({ text: 'B7', attention: false })
    const recalled = run(s, [[cmd('recall', { ticket: 'B7' }), T0 + 20_000]])
    expect(events(recalled.effects)).toEqual(['recalled'])
    expect(displayFor(recalled.state, T0 + 21_000).attention).toBe(true)
  })

  it('refuses a call the display cannot show instead of showing something else', () => {
    const s = open()
    const tooLong = step(s, cmd('call', { ticket: 'A12345' }), T0, T0)
    expect(replies(tooLong.effects)[0]).toMatchObject({ ok: false, code: 'unsupported' })
    const noGlyph = step(s, cmd('call', { ticket: 'M12' }), T0, T0)
    expect((replies(noGlyph.effects)[0] as { message: string }).message).toMatch(/M/)
    expect(noGlyph.state).toBe(s)
  })

  it('refuses a second call while calling, and a recall naming another ticket', () => {
    const s = run(open(), [[cmd('call', { ticket: 'A1' }), T0]]).state
    expect(replies(step(s, cmd('call', { ticket: 'A2' }), T0, T0).effects)[0]).toMatchObject({ code: 'wrong-mode' })
    expect(replies(step(s, cmd('recall', { ticket: 'A2' }), T0, T0).effects)[0]).toMatchObject({ code: 'wrong-ticket' })
  })

  it('refuses an expired command without acting on it', () => {
    const s = open()
    const r = step(s, cmd('call', { ticket: 'A1' }, T0 - 1), T0, T0)
    expect(r.state).toBe(s)
    expect(replies(r.effects)[0]).toMatchObject({ ok: false, code: 'expired' })
  })

  it('no-show returns to idle; a transferred service opens no evaluation', () => {
    const a = run(open(), [[cmd('call', { ticket: 'A1' }), T0], [cmd('no-show'), T0 + 60_000]])
    expect(a.state.mode).toBe('idle')
    expect(events(a.effects)).toContain('no-show')
    const b = run(open(), [[cmd('call', { ticket: 'A2' }), T0], [cmd('start'), T0], [cmd('finish', { outcome: 'transferred' }), T0 + 1000]])
    expect(b.state.mode).toBe('idle')
    expect(evaluatorOpen(b.state)).toBe(false)
  })

  it('pause and resume report the reason and the paused time; sign-out closes the window', () => {
    const r = run(open(), [[cmd('pause', { reason: 'break' }), T0], [cmd('resume'), T0 + 600_000], [cmd('officer', { action: 'sign-out' }), T0 + 600_001]])
    expect(drafts(r.effects).find((e) => e.type === 'resumed')).toMatchObject({ pausedMs: 600_000 })
    expect(r.state.mode).toBe('closed')
  })
})

describe('counter machine: the evaluator', () => {
  const evaluating = () => run(open(), [[cmd('call', { ticket: 'A9' }), T0], [cmd('start'), T0], [cmd('finish', { outcome: 'served' }), T0 + 1000]]).state

  it('presses with no evaluation open are counted, never ratings', () => {
    const r = run(open(), [[{ kind: 'key', score: 'satisfied' }, T0], [{ kind: 'key', score: 'neutral' }, T0]])
    expect(events(r.effects)).toEqual([])
    expect(r.state.ignoredPresses).toBe(2)
  })

  it('exactly one rating per ticket: the second press is ignored', () => {
    const r = run(evaluating(), [[{ kind: 'key', score: 'satisfied' }, T0 + 2000], [{ kind: 'key', score: 'dissatisfied' }, T0 + 2100]])
    expect(events(r.effects)).toEqual(['evaluated'])
    expect(r.state.ignoredPresses).toBe(1)
  })

  it('an unanswered evaluation closes as missed at its deadline', () => {
    const s = evaluating()
    expect(nextDeadline(s, T0 + 1000)).toBe(T0 + 31_000)
    expect(step(s, { kind: 'tick' }, T0 + 30_999, T0 + 30_999).effects).toEqual([])
    const r = step(s, { kind: 'tick' }, T0 + 31_000, T0 + 31_000)
    expect(events(r.effects)).toEqual(['evaluation-missed'])
    expect(r.state.mode).toBe('idle')
  })

  it('a five-level key on a three-key scale is not a rating; an ambiguous press is counted', () => {
    const r = run(evaluating(), [[{ kind: 'key', score: 'very-satisfied' }, T0 + 2000], [{ kind: 'ambiguous-press' }, T0 + 2100]])
    expect(events(r.effects)).toEqual([])
    expect(r.state.mode).toBe('evaluating')
    expect(r.state.ignoredPresses).toBe(2)
  })
})

describe('counter machine: time, config, faults, state message', () => {
  it('reports overtime once per level', () => {
    const s = run(open(), [[cmd('call', { ticket: 'A1' }), T0], [cmd('start'), T0]]).state
    const r = run(s, [
      [{ kind: 'tick' }, T0 + 299_000],
      [{ kind: 'tick' }, T0 + 300_000],
      [{ kind: 'tick' }, T0 + 400_000],
      [{ kind: 'tick' }, T0 + 1_800_000],
    ])
    expect(drafts(r.effects).map((e) => (e.type === 'overtime' ? e.level : e.type))).toEqual(['warning', 'over'])
  })

  it('config applies live and refuses a warning threshold above the limit', () => {
    const s = open()
    const good = step(s, cmd('config', { settings: { evaluationTimeoutS: 60, brightness: 3 } }), T0, T0)
    expect(good.state.settings.evaluationTimeoutS).toBe(60)
    expect(replies(good.effects)[0]).toMatchObject({ ok: true, result: { applied: ['evaluationTimeoutS', 'brightness'], restartRequired: [] } })
    const bad = step(s, cmd('config', { settings: { overtimeWarnS: 2000 } }), T0, T0)
    expect(bad.state).toBe(s)
    expect(replies(bad.effects)[0]).toMatchObject({ ok: false, code: 'bad-payload' })
  })

  it('capture and self-test say plainly that this runtime cannot do them yet', () => {
    const r = step(open(), cmd('capture', { kind: 'photo' }), T0, T0)
    expect(replies(r.effects)[0]).toMatchObject({ ok: false, code: 'unsupported' })
  })

  it('a fault is reported once and cleared once', () => {
    const f: Input = { kind: 'fault', device: 'display', code: 'absent', message: 'no ACK at 0x70' }
    const r = run(open(), [[f, T0], [f, T0 + 1], [{ kind: 'fault-cleared', device: 'display', code: 'absent' }, T0 + 2], [{ kind: 'fault-cleared', device: 'display', code: 'absent' }, T0 + 3]])
    expect(events(r.effects)).toEqual(['fault', 'fault-cleared'])
  })

  it('the state message fields pass the contract schema in every mode', () => {
    const states = [initialState(T0, LIMITS), open()]
    let s = open()
    for (const [input, at] of [[cmd('call', { ticket: 'A1', green: true }), T0], [cmd('start'), T0 + 1], [cmd('finish', { outcome: 'served' }), T0 + 2]] as Array<[Input, number]>) {
      s = step(s, input, at, at).state
      states.push(s)
    }
    states.push(step(open(), cmd('pause', { reason: 'meal' }), T0, T0).state)
    for (const st of states) {
      const msg = { v: 1, id: 'x-1', boot: 'b1', seq: 1, ts: new Date(T0).toISOString(), synced: true, ...stateFields(st) }
      const r = stateSchema.safeParse(msg)
      expect(r.success, JSON.stringify(r.error?.issues)).toBe(true)
    }
  })
})

import { describe, it, expect } from 'vitest'
import { step } from '../../edge/counter/machine.ts'
import { nextDeadline, resumeOnNewClock } from '../../edge/counter/time-rules.ts'
import { initialState, type CounterState, type Effect, type Input } from '../../edge/counter/state.ts'
import { parseCommand, type EventDraft } from '../../edge/protocol/index.ts'
import { T0, cmd, drafts, expectValid, replies, run } from '../support/counter-steps.ts'

/**
 * One service, one rating, by the applicant: the seven ways ratings went wrong,
 * each held by the pure machine. Times are [wall, mono] pairs where the two
 * clocks differ; a plain number means both read the same.
 */
const LIMITS = { digits: 4, charset: '0123456789ABCDEFGHIJLNOPQRSTUVXYZ-' }

const ratings = (effects: Effect[]) => drafts(effects).filter((e) => e.type === 'evaluated')
const key = (score: 'satisfied' | 'neutral' | 'dissatisfied'): Input => ({ kind: 'key', score })

function signedIn(officer = 'li-na'): CounterState {
  return run(initialState(T0, LIMITS), [[cmd('officer', { action: 'sign-in', officer }), T0]]).state
}

/** A012 called, started, finished as served: the evaluator open at T0 + 60 s. */
function served(s = signedIn()): { state: CounterState; effects: Effect[] } {
  return run(s, [
    [cmd('call', { ticket: 'A012' }), T0 + 1000],
    [cmd('start'), T0 + 10_000],
    [cmd('finish', { outcome: 'served' }), T0 + 60_000],
  ])
}

describe('case 1: no rating for a service that never happened', () => {
  it('evaluate on an idle window is refused and opens nothing; a press after it is not a rating', () => {
    const idle = signedIn()
    const r = run(idle, [
      [cmd('evaluate', { ticket: 'Z999' }), T0 + 1000],
      [key('satisfied'), T0 + 5000],
    ])
    expect(replies(r.effects)[0]).toMatchObject({ ok: false, code: 'wrong-mode' })
    expect(ratings(r.effects)).toEqual([])
    expect(r.state.mode).toBe('idle')
    expect(r.state.ignoredPresses).toBe(1)
  })

  it('evaluate naming another ticket than the one awaiting its rating is refused', () => {
    const r = run(served().state, [[cmd('evaluate', { ticket: 'Z999' }), T0 + 61_000], [key('neutral'), T0 + 65_000]])
    expect(replies(r.effects)[0]).toMatchObject({ ok: false, code: 'wrong-ticket' })
    expect(ratings(r.effects)).toMatchObject([{ ticket: 'A012' }])
  })
})

describe('case 2: one rating per service', () => {
  it('after the rating, evaluate for the same ticket is refused and later presses are not ratings', () => {
    const r = run(served().state, [
      [key('dissatisfied'), T0 + 65_000],
      [cmd('evaluate', { ticket: 'A012' }), T0 + 70_000],
      [key('satisfied'), T0 + 72_000],
      [cmd('evaluate', { ticket: 'A012' }), T0 + 80_000],
      [key('neutral'), T0 + 82_000],
    ])
    expect(ratings(r.effects)).toEqual([expect.objectContaining({ ticket: 'A012', score: 'dissatisfied' })])
    expect(replies(r.effects).map((x) => x.ok)).toEqual([false, false])
    expectValid(r.effects)
  })

  it('evaluate while the rating is awaited confirms it and opens no second one', () => {
    const s = served().state
    const r = run(s, [[cmd('evaluate', {}), T0 + 61_000]])
    expect(replies(r.effects)[0]).toMatchObject({ ok: true, result: { evaluation: 'open', ticket: 'A012' } })
    expect(r.state).toBe(s)
  })

  it('a missed evaluation cannot be reopened', () => {
    const r = run(served().state, [
      [{ kind: 'tick' }, T0 + 90_000],
      [cmd('evaluate', { ticket: 'A012' }), T0 + 91_000],
      [key('satisfied'), T0 + 92_000],
    ])
    expect(drafts(r.effects).map((e) => e.type)).toEqual(['evaluation-missed'])
    expect(replies(r.effects)[0]).toMatchObject({ ok: false })
  })
})

describe('case 3: a rating is charged to the officer who served', () => {
  it('evaluate naming an officer is refused by its schema, naming the field', () => {
    const parsed = parseCommand('evaluate', JSON.stringify({ id: 'x1', expires: new Date(T0 + 60_000).toISOString(), ticket: 'A001', officer: 'X999' }))
    expect(parsed).toMatchObject({ ok: false, code: 'bad-payload', id: 'x1' })
    expect(!parsed.ok && parsed.message).toMatch(/^officer: unknown field/)
  })

  it('the rating names the officer who started the service', () => {
    const r = run(served(signedIn('wang-fang')).state, [[key('satisfied'), T0 + 65_000]])
    expect(ratings(r.effects)).toMatchObject([{ ticket: 'A012', officer: 'wang-fang' }])
  })
})

describe('case 4: a press right after the finish is flagged', () => {
  it('a press 10 ms after the finish is recorded with early: true; one after the dwell is not early', () => {
    const early = run(served().state, [[key('satisfied'), T0 + 60_010]])
    expect(ratings(early.effects)).toEqual([expect.objectContaining({ latencyMs: 10, early: true })])
    const later = run(served().state, [[key('satisfied'), T0 + 61_000]])
    expect(ratings(later.effects)).toEqual([expect.objectContaining({ latencyMs: 1000, early: false })])
    expectValid([...early.effects, ...later.effects])
  })

  it('the dwell is a setting', () => {
    const s = run(signedIn(), [[cmd('config', { settings: { evaluationDwellMs: 3000 } }), T0]]).state
    const r = run(served(s).state, [[key('neutral'), T0 + 62_000]])
    expect(ratings(r.effects)).toEqual([expect.objectContaining({ early: true })])
  })
})

describe('case 5: a faulted key never decides', () => {
  const stuck: Input = { kind: 'fault', device: 'key-dissatisfied', code: 'stuck', message: 'held down for 10000 ms' }

  it('with a key stuck, finish(served) does not open the evaluator: evaluation-missed with the reason', () => {
    const s = run(signedIn(), [[stuck, T0]]).state
    const r = served(s)
    expect(r.state.mode).toBe('idle')
    expect(r.state.evaluation).toBeNull()
    expect(drafts(r.effects).filter((e) => e.type === 'evaluation-missed')).toEqual([
      { type: 'evaluation-missed', ticket: 'A012', officer: 'li-na', afterMs: 0, reason: 'evaluator-fault', detail: 'key-dissatisfied: stuck', record: 'svc-1', caseNo: null, item: null },
    ])
    expect(replies(r.effects).at(-1)).toMatchObject({ ok: true, result: { evaluation: 'missed', reason: 'evaluator-fault' } })
    const after = run(r.state, [[key('satisfied'), T0 + 62_000]])
    expect(ratings(after.effects)).toEqual([])
    expectValid(r.effects)
  })

  it('a key that chatters while the evaluator is open closes it as missed; its press behind the fault is no rating', () => {
    const r = run(served().state, [
      [{ kind: 'fault', device: 'key-dissatisfied', code: 'chatter', message: 'chatters' }, T0 + 61_000],
      [key('dissatisfied'), T0 + 61_040],
    ])
    expect(drafts(r.effects).map((e) => e.type)).toEqual(['fault', 'evaluation-missed'])
    expect(drafts(r.effects)[1]).toMatchObject({ reason: 'evaluator-fault', afterMs: 1000 })
    expect(ratings(r.effects)).toEqual([])
  })

  it('an officer key fault does not keep the evaluator closed', () => {
    const s = run(signedIn(), [[{ kind: 'fault', device: 'officer-help', code: 'stuck', message: 'held' }, T0]]).state
    expect(served(s).state.mode).toBe('evaluating')
  })
})

describe('case 6: a clock step loses no rating and makes no event invalid', () => {
  it('the wall clock stepping back an hour mid-evaluation: latency from the monotonic clock, the rating valid', () => {
    const M = 5_000_000
    const r = run(signedIn(), [
      [cmd('call', { ticket: 'A012' }), [T0 + 1000, M + 1000]],
      [cmd('start'), [T0 + 10_000, M + 10_000]],
      [cmd('finish', { outcome: 'served' }), [T0 + 60_000, M + 60_000]],
      [key('satisfied'), [T0 - 3_600_000, M + 64_000]],
    ])
    expect(ratings(r.effects)).toEqual([expect.objectContaining({ ticket: 'A012', latencyMs: 4000 })])
    expectValid(r.effects)
  })

  it('service-finished after the wall clock stepped back still has a non-negative duration', () => {
    const M = 77_000
    const r = run(signedIn(), [
      [cmd('call', { ticket: 'A012' }), [T0 + 1000, M]],
      [cmd('start'), [T0 + 10_000, M + 9000]],
      [cmd('finish', { outcome: 'served' }), [T0 - 86_400_000, M + 309_000]],
    ])
    expect(drafts(r.effects).find((e) => e.type === 'service-finished')).toMatchObject({ durationMs: 300_000 })
    expectValid(r.effects)
  })

  it('the wall clock stepping forward a day does not close the evaluation; the monotonic deadline does', () => {
    const s = served().state
    const r = run(s, [[{ kind: 'tick' }, [T0 + 86_400_000, T0 + 65_000]]])
    expect(r.effects).toEqual([])
    expect(nextDeadline(r.state, T0 + 65_000)).toBe(T0 + 90_000)
    const missed = run(s, [[{ kind: 'tick' }, [T0 - 86_400_000, T0 + 90_000]]])
    expect(drafts(missed.effects)).toEqual([{ type: 'evaluation-missed', ticket: 'A012', officer: 'li-na', afterMs: 30_000, reason: 'timeout', record: 'svc-1', caseNo: null, item: null }])
  })
})

describe('case 6b: a restart across a clock step counts the time that passed, not the step', () => {
  // Saved at the finish (T0 + 60 s on the wall, 60 s on the monotonic clock) with 30 s of evaluation left.
  const savedAt = (wall: number) => ({ wall, mono: T0 + 60_000 })
  const closesIn = (s: CounterState, nowMono: number) => nextDeadline(s, nowMono)! - nowMono

  it('in the same machine boot, the machine\'s clock says: NTP stepping the wall six hours while the runtime was down is no time', () => {
    const s = served().state
    const saved = { ...savedAt(T0 + 60_000), machine: { boot: 'b1', ms: 1_000_000 } }
    const now = { wall: T0 + 60_000 + 6 * 3_600_000 + 4_000, mono: 500, machine: { boot: 'b1', ms: 1_004_000 } }
    expect(closesIn(resumeOnNewClock(s, saved, now), now.mono)).toBe(26_000)
  })

  it('after a reboot, a save made while the wall read 1970 (no clock set) counts nothing when the clock is set now, never 56 years', () => {
    const s = served().state
    const saved = { ...savedAt(Date.UTC(1970, 0, 1, 0, 3)), machine: { boot: 'b1', ms: 180_000 } }
    const now = { wall: T0 + 120_000, mono: 500, machine: { boot: 'b2', ms: 40_000 } }
    expect(closesIn(resumeOnNewClock(s, saved, now), now.mono)).toBe(30_000)
    // Both walls set: what the wall says passed, as before.
    expect(nextDeadline(resumeOnNewClock(s, { ...savedAt(T0 + 60_000) }, { wall: T0 + 70_000, mono: 500 }), 500)).toBe(500 + 20_000)
  })
})

describe('case 7: a press after the evaluator closed is not a rating', () => {
  it('a press handled 90 s into a 30 s window, before the timer ran: the evaluation is missed, the press ignored', () => {
    const r = run(served().state, [[key('satisfied'), T0 + 150_000]])
    expect(ratings(r.effects)).toEqual([])
    expect(drafts(r.effects)).toEqual([{ type: 'evaluation-missed', ticket: 'A012', officer: 'li-na', afterMs: 90_000, reason: 'timeout', record: 'svc-1', caseNo: null, item: null }])
    expect(r.state.mode).toBe('idle')
    expect(r.state.ignoredPresses).toBe(1)
  })

  it('a press just before closesAt still counts', () => {
    const r = run(served().state, [[key('neutral'), T0 + 89_999]])
    expect(ratings(r.effects)).toEqual([expect.objectContaining({ latencyMs: 29_999 })])
  })
})

describe('the service record', () => {
  it('every event of one service carries its record, with the case number and item from the call; the next service has another', () => {
    const s = run(signedIn(), [[cmd('config', { settings: { overtimeWarnS: 30, overtimeLimitS: 60 } }), T0]]).state
    const r = run(s, [
      [cmd('call', { ticket: 'A012', caseNo: 'CJ20261122001', item: 'passport-first-issue' }), T0 + 1000],
      [cmd('recall', {}), T0 + 5000],
      [cmd('start'), T0 + 10_000],
      [{ kind: 'tick' }, T0 + 45_000],
      [cmd('finish', { outcome: 'served' }), T0 + 80_000],
      [key('satisfied'), T0 + 85_000],
      [cmd('call', { ticket: 'A013' }), T0 + 90_000],
      [cmd('start'), T0 + 95_000],
      [cmd('finish', { outcome: 'served' }), T0 + 100_000],
      [{ kind: 'tick' }, T0 + 130_000],
    ])
    const events = drafts(r.effects) as Array<EventDraft & { record?: string; caseNo?: string | null; item?: string | null }>
    const first = events.slice(0, 5)
    expect(first.map((e) => e.type)).toEqual(['called', 'recalled', 'service-started', 'overtime', 'service-finished'])
    expect(new Set(events.slice(0, 6).map((e) => e.record))).toEqual(new Set(['svc-1']))
    expect(events[5]).toMatchObject({ type: 'evaluated', record: 'svc-1', caseNo: 'CJ20261122001', item: 'passport-first-issue' })
    expect(events.slice(6).map((e) => [e.type, e.record])).toEqual([
      ['called', 'svc-2'],
      ['service-started', 'svc-2'],
      ['service-finished', 'svc-2'],
      ['evaluation-missed', 'svc-2'],
    ])
    expect(events.at(-1)).toMatchObject({ caseNo: null, item: null })
    expectValid(r.effects)
  })
})

describe('a bad rating is followed up (好差评)', () => {
  it('不满意 on a three-key evaluator: evaluated, then a rating-alert of the same record, ticket, officer and case, in the same step', () => {
    const withCase = run(signedIn('wang-li'), [
      [cmd('call', { ticket: 'A012', caseNo: 'CJ20261122007', item: 'id-card-renewal' }), T0 + 1000],
      [cmd('start'), T0 + 10_000],
      [cmd('finish', { outcome: 'served' }), T0 + 60_000],
    ])
    expect(withCase.state.mode).toBe('evaluating')
    const r = step(withCase.state, key('dissatisfied'), T0 + 64_000, T0 + 64_000)
    expect(drafts(r.effects)).toEqual([
      expect.objectContaining({ type: 'evaluated', score: 'dissatisfied', record: 'svc-1' }),
      { type: 'rating-alert', ticket: 'A012', officer: 'wang-li', score: 'dissatisfied', scale: 3, level: '不满意', record: 'svc-1', caseNo: 'CJ20261122007', item: 'id-card-renewal', early: false },
    ])
    expectValid(r.effects)
  })

  it('非常不满意 on a five-key evaluator is an alert too, labelled as the rules name it; an early press keeps its flag', () => {
    const five = run(signedIn(), [[cmd('config', { settings: { scale: 5 } }), T0]]).state
    const open = served(five).state
    const r = step(open, { kind: 'key', score: 'very-dissatisfied' }, T0 + 60_010, T0 + 60_010)
    expect(drafts(r.effects).find((e) => e.type === 'rating-alert')).toMatchObject({ score: 'very-dissatisfied', scale: 5, level: '非常不满意', early: true })
    expectValid(r.effects)
  })

  it('the satisfied levels, a missed evaluation and a press with nothing open raise no alert', () => {
    const five = run(signedIn(), [[cmd('config', { settings: { scale: 5 } }), T0]]).state
    for (const score of ['very-satisfied', 'satisfied', 'neutral'] as const) {
      const r = step(served(five).state, { kind: 'key', score }, T0 + 65_000, T0 + 65_000)
      expect(drafts(r.effects).map((e) => e.type)).toEqual(['evaluated'])
    }
    const missed = run(served().state, [[{ kind: 'tick' }, T0 + 91_000], [key('dissatisfied'), T0 + 92_000]])
    expect(drafts(missed.effects).map((e) => e.type)).toEqual(['evaluation-missed'])
    expect(drafts(run(signedIn(), [[key('dissatisfied'), T0 + 1000]]).effects)).toEqual([])
  })
})

import { describe, it, expect } from 'vitest'
import { step } from '../../edge/counter/machine.ts'
import { nextDeadline } from '../../edge/counter/time-rules.ts'
import { displayFor, stateFields, staffingFigures, statusLampFor } from '../../edge/counter/view.ts'
import { initialState, type CounterState, type Effect, type Input } from '../../edge/counter/state.ts'
import { T0, cmd, drafts, eventOf, expectStateValid, expectValid, replies, run, types } from '../support/counter-steps.ts'

/**
 * The service flow of a real hall (issue 18): transfer and park, a service
 * continued under its record, pause after this service, officers signing in
 * and out, the recall limit, and the waits that run over.
 */
const LIMITS = { digits: 4, charset: '0123456789ABCDEFGHIJLNOPQRSTUY-' }

function signedIn(officer = 'li-na', prefix = 'w01-b1'): CounterState {
  const s = initialState(T0, LIMITS)
  return run({ ...s, records: { prefix, next: 1 } }, [[cmd('officer', { action: 'sign-in', officer, officerName: 'Li Na' }), T0]]).state
}

/** A012 called with a case number and started at T0 + 10 s. */
function serving(s = signedIn()): CounterState {
  return run(s, [[cmd('call', { ticket: 'A012', caseNo: 'CJ-7', item: 'passport' }), T0 + 1000], [cmd('start'), T0 + 10_000]]).state
}

describe('transfer (转移)', () => {
  it('ends this window\'s part with service-transferred, no evaluation, the record and case number with it', () => {
    const r = run(serving(), [[cmd('transfer', { toWindow: 'w07', reason: 'needs-approval' }), T0 + 70_000]])
    expect(types(r.effects)).toEqual(['service-transferred'])
    expect(eventOf(r.effects, 'service-transferred')).toMatchObject({ ticket: 'A012', officer: 'li-na', toWindow: 'w07', toQueue: null, reason: 'needs-approval', durationMs: 60_000, record: 'w01-b1-1', caseNo: 'CJ-7', item: 'passport' })
    expect(replies(r.effects)[0]).toMatchObject({ ok: true, result: { record: 'w01-b1-1', toWindow: 'w07', toQueue: null } })
    expect(r.state.mode).toBe('idle')
    expect(r.state.evaluation).toBeNull()
    // A press now is no rating: the service is rated where it finishes.
    const pressed = step(r.state, { kind: 'key', score: 'satisfied' }, T0 + 71_000, T0 + 71_000)
    expect(types(pressed.effects)).toEqual([])
    expectValid(r.effects)
  })

  it('to a queue names the queue and no window', () => {
    const r = run(serving(), [[cmd('transfer', { toQueue: 'permit', reason: 'wrong-queue' }), T0 + 20_000]])
    expect(eventOf(r.effects, 'service-transferred')).toMatchObject({ toWindow: null, toQueue: 'permit' })
  })

  it('the receiving window calls it with its record: called carries the record and case number, and the rating is given there, once', () => {
    const at1 = run(serving(), [[cmd('transfer', { toWindow: 'w07', reason: 'needs-approval' }), T0 + 70_000]])
    const moved = eventOf(at1.effects, 'service-transferred')!
    const w07 = signedIn('wang-li', 'w07-b9')
    const r = run(w07, [
      [cmd('call', { ticket: 'A012', record: moved.record, continues: 'transfer', caseNo: moved.caseNo, item: moved.item }), T0 + 80_000],
      [cmd('start'), T0 + 90_000],
      [cmd('finish', { outcome: 'served' }), T0 + 200_000],
      [{ kind: 'key', score: 'neutral' }, T0 + 203_000],
    ])
    expect(eventOf(r.effects, 'called')).toMatchObject({ ticket: 'A012', record: 'w01-b1-1', caseNo: 'CJ-7', continues: 'transfer' })
    expect(eventOf(r.effects, 'evaluated')).toMatchObject({ ticket: 'A012', record: 'w01-b1-1', caseNo: 'CJ-7', officer: 'wang-li' })
    // The receiving board's own numbering did not move: its next new service is w07-b9-1.
    expect(r.state.records.next).toBe(1)
    expectValid(r.effects)
    expectStateValid(run(w07, [[cmd('call', { ticket: 'A012', record: moved.record, continues: 'transfer' }), T0 + 80_000]]).state)
  })

  it('a call continuing a record that already ended here is refused: one outcome per record', () => {
    const rated = run(serving(), [[cmd('finish', { outcome: 'served' }), T0 + 60_000], [{ kind: 'key', score: 'satisfied' }, T0 + 62_000]])
    expect(rated.state.closedRecords).toEqual(['w01-b1-1'])
    const again = step(rated.state, cmd('call', { ticket: 'A012', record: 'w01-b1-1', continues: 'transfer' }), T0 + 70_000, T0 + 70_000)
    expect(replies(again.effects)[0]).toMatchObject({ ok: false, code: 'wrong-ticket' })
    expect((replies(again.effects)[0] as { message: string }).message).toMatch(/record: w01-b1-1 already ended/)
    expect(again.state).toBe(rated.state)
  })

  it('a record transferred away may come back to the same window (it was not closed here)', () => {
    const away = run(serving(), [[cmd('transfer', { toWindow: 'w07', reason: 'x' }), T0 + 20_000]])
    expect(away.state.closedRecords).toEqual([])
    const back = step(away.state, cmd('call', { ticket: 'A012', record: 'w01-b1-1', continues: 'transfer' }), T0 + 90_000, T0 + 90_000)
    expect(replies(back.effects)[0]).toMatchObject({ ok: true })
  })

  it('is refused unless serving, and for another ticket', () => {
    const calling = run(signedIn(), [[cmd('call', { ticket: 'A1' }), T0]]).state
    const r = step(calling, cmd('transfer', { toWindow: 'w02', reason: 'x' }), T0, T0)
    expect(replies(r.effects)[0]).toMatchObject({ ok: false, code: 'wrong-mode' })
    const wrong = step(serving(), cmd('transfer', { ticket: 'B9', toWindow: 'w02', reason: 'x' }), T0, T0)
    expect(replies(wrong.effects)[0]).toMatchObject({ ok: false, code: 'wrong-ticket' })
  })
})

describe('park and call back (挂起 / 回呼)', () => {
  it('park ends the part with service-parked and no evaluation; the call back continues the record and is rated once', () => {
    const parked = run(serving(), [[cmd('park', { reason: 'document' }), T0 + 40_000]])
    expect(types(parked.effects)).toEqual(['service-parked'])
    expect(eventOf(parked.effects, 'service-parked')).toMatchObject({ ticket: 'A012', reason: 'document', durationMs: 30_000, record: 'w01-b1-1', caseNo: 'CJ-7' })
    expect(parked.state.mode).toBe('idle')
    // Meanwhile the window serves someone else under a new record.
    const between = run(parked.state, [[cmd('call', { ticket: 'B3' }), T0 + 50_000], [cmd('start'), T0 + 51_000], [cmd('finish', { outcome: 'abandoned' }), T0 + 52_000]])
    expect(eventOf(between.effects, 'called')).toMatchObject({ record: 'w01-b1-2', continues: null })
    const back = run(between.state, [
      [cmd('call', { ticket: 'A012', record: 'w01-b1-1', continues: 'park', caseNo: 'CJ-7' }), T0 + 600_000],
      [cmd('start'), T0 + 610_000],
      [cmd('finish', { outcome: 'served' }), T0 + 700_000],
      [{ kind: 'tick' }, T0 + 800_000],
    ])
    expect(eventOf(back.effects, 'called')).toMatchObject({ record: 'w01-b1-1', continues: 'park' })
    expect(eventOf(back.effects, 'evaluation-missed')).toMatchObject({ record: 'w01-b1-1', caseNo: 'CJ-7' })
    expectValid([...parked.effects, ...back.effects])
  })

  it('is refused unless serving', () => {
    const idle = signedIn()
    expect(replies(step(idle, cmd('park', { reason: 'document' }), T0, T0).effects)[0]).toMatchObject({ ok: false, code: 'wrong-mode' })
  })
})

describe('pause after this service', () => {
  it('asked for while serving: ok at once, the service goes on, and the pause begins when its evaluation ends', () => {
    const s = serving()
    const asked = step(s, cmd('pause', { reason: 'break' }), T0 + 20_000, T0 + 20_000)
    expect(replies(asked.effects)[0]).toMatchObject({ ok: true, result: { pause: 'after-service', ticket: 'A012' } })
    expect(types(asked.effects)).toEqual([])
    expect(asked.state.mode).toBe('serving')
    expect(displayFor(asked.state, T0 + 20_000)).toMatchObject({ text: 'A012', pauseAfter: { reason: 'break', code: 'P-BR' } })
    expect(stateFields(asked.state).pauseAfter).toEqual({ reason: 'break', since: new Date(T0 + 20_000).toISOString() })
    expectStateValid(asked.state)
    const r = run(asked.state, [[cmd('finish', { outcome: 'served' }), T0 + 60_000], [{ kind: 'key', score: 'satisfied' }, T0 + 63_000]])
    expect(types(r.effects)).toEqual(['service-finished', 'evaluated', 'paused'])
    expect(eventOf(r.effects, 'paused')).toMatchObject({ reason: 'break', afterService: true, cmd: (asked.effects[0] as { cmd: string }).cmd, limitMs: 1_800_000 })
    expect(r.state.mode).toBe('paused')
    expect(r.state.pauseAfter).toBeNull()
    expect(displayFor(r.state, T0 + 63_000)).toEqual({ text: 'P-BR', attention: false, pause: { reason: 'break', code: 'P-BR', zh: '暂停服务 · 休息', en: 'paused: break' } })
    expectStateValid(r.state)
    expectValid(r.effects)
  })

  it('whichever way the service ends: no-show, transfer, park, a missed evaluation', () => {
    const calling = run(signedIn(), [[cmd('call', { ticket: 'A1' }), T0], [cmd('pause', { reason: 'meal' }), T0 + 1]]).state
    expect(run(calling, [[cmd('no-show'), T0 + 5000]]).state.mode).toBe('paused')
    for (const leave of [cmd('transfer', { toQueue: 'permit', reason: 'x' }), cmd('park', { reason: 'document' })]) {
      const s = run(serving(), [[cmd('pause', { reason: 'meal' }), T0 + 11_000], [leave, T0 + 12_000]])
      expect(s.state.mode).toBe('paused')
      expect(types(s.effects).at(-1)).toBe('paused')
    }
    const missed = run(serving(), [[cmd('finish', { outcome: 'served' }), T0 + 20_000], [cmd('pause', { reason: 'meal' }), T0 + 21_000], [{ kind: 'tick' }, T0 + 50_000]])
    expect(types(missed.effects)).toEqual(['service-finished', 'evaluation-missed', 'paused'])
  })

  it('a pause asked for twice keeps the newest reason; resume cancels one not yet begun', () => {
    const s = run(serving(), [[cmd('pause', { reason: 'break' }), T0 + 11_000], [cmd('pause', { reason: 'meeting' }), T0 + 12_000]]).state
    expect(s.pauseAfter?.reason).toBe('meeting')
    const cancelled = step(s, cmd('resume'), T0 + 13_000, T0 + 13_000)
    expect(replies(cancelled.effects)[0]).toMatchObject({ ok: true, result: { pause: 'cancelled' } })
    expect(types(cancelled.effects)).toEqual([])
    const done = run(cancelled.state, [[cmd('finish', { outcome: 'abandoned' }), T0 + 20_000]])
    expect(done.state.mode).toBe('idle')
  })

  it('resume with neither a pause nor one waiting is refused; pause while paused or closed is refused', () => {
    expect(replies(step(signedIn(), cmd('resume'), T0, T0).effects)[0]).toMatchObject({ ok: false, code: 'wrong-mode' })
    const paused = run(signedIn(), [[cmd('pause', { reason: 'break' }), T0]]).state
    expect(replies(step(paused, cmd('pause', { reason: 'meal' }), T0, T0).effects)[0]).toMatchObject({ ok: false, code: 'wrong-mode' })
    expect(replies(step(initialState(T0, LIMITS), cmd('pause', { reason: 'meal' }), T0, T0).effects)[0]).toMatchObject({ ok: false, code: 'wrong-mode' })
  })

  it('the display shows a code per reason the segments can draw, dashes for one it does not know; the state carries code and label', () => {
    for (const [reason, code] of [['break', 'P-BR'], ['meal', 'P-LU'], ['meeting', 'P-HY'], ['training', 'P-TR'], ['business', 'P-GO'], ['handover', 'P-JJ'], ['coffee', 'P---']] as const) {
      const s = run(signedIn(), [[cmd('pause', { reason }), T0]]).state
      expect(displayFor(s, T0).text, reason).toBe(code)
      expect(stateFields(s).pause).toMatchObject({ reason, code })
    }
    const narrow = run({ ...signedIn(), display: { digits: 3, charset: LIMITS.charset } }, [[cmd('pause', { reason: 'break' }), T0]]).state
    expect(displayFor(narrow, T0).text).toBe('---')
  })
})

describe('waits that run over', () => {
  it('a call not started within noShowPromptS raises call-unanswered once, with the lamp fast; a recall restarts the wait', () => {
    const s = run(signedIn(), [[cmd('call', { ticket: 'A5' }), T0]]).state
    expect(nextDeadline(s, T0 + 11_000)).toBe(T0 + 120_000)
    expect(step(s, { kind: 'tick' }, T0 + 119_999, T0 + 119_999).effects).toEqual([])
    const prompted = step(s, { kind: 'tick' }, T0 + 120_000, T0 + 120_000)
    expect(eventOf(prompted.effects, 'call-unanswered')).toEqual({ type: 'call-unanswered', ticket: 'A5', record: 'w01-b1-1', waitedMs: 120_000, limitMs: 120_000, recalls: 0, suggest: 'recall' })
    expect(statusLampFor(prompted.state)).toBe('fast')
    expectStateValid(prompted.state)
    expect(step(prompted.state, { kind: 'tick' }, T0 + 200_000, T0 + 200_000).effects).toEqual([])
    const recalled = step(prompted.state, cmd('recall'), T0 + 200_000, T0 + 200_000)
    expect(statusLampFor(recalled.state)).toBe('on')
    expect(types(step(recalled.state, { kind: 'tick' }, T0 + 320_000, T0 + 320_000).effects)).toEqual(['call-unanswered'])
  })

  it('once the recalls are used up the prompt suggests no-show', () => {
    const s = run(signedIn(), [[cmd('config', { settings: { recallLimit: 1, noShowPromptS: 30 } }), T0], [cmd('call', { ticket: 'A5' }), T0], [cmd('recall'), T0 + 1000]]).state
    expect(eventOf(step(s, { kind: 'tick' }, T0 + 31_000, T0 + 31_000).effects, 'call-unanswered')).toMatchObject({ recalls: 1, suggest: 'no-show' })
  })

  it('a pause past its limit raises pause-overtime once, for the duty supervisor; the pause command may set its own limit', () => {
    const s = run(signedIn(), [[cmd('pause', { reason: 'break', limitS: 900 }), T0]])
    expect(eventOf(s.effects, 'paused')).toMatchObject({ limitMs: 900_000, afterService: false })
    expect(nextDeadline(s.state, T0)).toBe(T0 + 900_000)
    const over = step(s.state, { kind: 'tick' }, T0 + 900_000, T0 + 900_000)
    expect(eventOf(over.effects, 'pause-overtime')).toEqual({ type: 'pause-overtime', reason: 'break', officer: 'li-na', pausedMs: 900_000, limitMs: 900_000 })
    expect(statusLampFor(over.state)).toBe('fast')
    expect(stateFields(over.state).pause).toMatchObject({ over: true, limitAt: new Date(T0 + 900_000).toISOString() })
    expect(nextDeadline(over.state, T0 + 900_000)).toBeNull()
    expect(step(over.state, { kind: 'tick' }, T0 + 2_000_000, T0 + 2_000_000).effects).toEqual([])
    const plain = run(signedIn(), [[cmd('pause', { reason: 'meal' }), T0]]).state
    expect(types(step(plain, { kind: 'tick' }, T0 + 1_800_000, T0 + 1_800_000).effects)).toEqual(['pause-overtime'])
  })
})

describe('recall limit', () => {
  it('recalls up to the limit act; the last says so and suggests no-show; the next is refused limit-reached', () => {
    let s = run(signedIn(), [[cmd('call', { ticket: 'A5' }), T0]]).state
    const results: unknown[] = []
    for (let i = 1; i <= 3; i++) {
      const r = step(s, cmd('recall'), T0 + i * 1000, T0 + i * 1000)
      s = r.state
      results.push((replies(r.effects)[0] as { result?: unknown }).result)
    }
    expect(results).toEqual([{ count: 1, left: 2 }, { count: 2, left: 1 }, { count: 3, left: 0, suggest: 'no-show' }])
    const fourth = step(s, cmd('recall'), T0 + 5000, T0 + 5000)
    expect(replies(fourth.effects)[0]).toMatchObject({ ok: false, code: 'limit-reached' })
    expect((replies(fourth.effects)[0] as { message: string }).message).toMatch(/send no-show/)
    expect(fourth.state).toBe(s)
    // The officer's recall key obeys the same limit: central hears the key, nothing is recalled.
    expect(types(step(s, { kind: 'officer-key', key: 'recall' }, T0 + 6000, T0 + 6000).effects)).toEqual(['officer-key'])
  })

  it('the refusal counts the recalls in plain English: once for a limit of 1, "3 times" for 3', () => {
    const messageAt = (limit: number): string => {
      let s = run(signedIn(), [[cmd('config', { settings: { recallLimit: limit } }), T0], [cmd('call', { ticket: 'A5' }), T0]]).state
      for (let i = 1; i <= limit; i++) s = step(s, cmd('recall'), T0 + i * 1000, T0 + i * 1000).state
      const refused = replies(step(s, cmd('recall'), T0 + 20_000, T0 + 20_000).effects)[0] as { ok: boolean; code: string; message: string }
      expect(refused).toMatchObject({ ok: false, code: 'limit-reached' })
      return refused.message
    }
    expect(messageAt(1)).toBe('recall: A5 was recalled once, the window\'s limit; send no-show')
    expect(messageAt(3)).toBe('recall: A5 was recalled 3 times, the window\'s limit; send no-show')
  })
})

describe('officers signing in and out', () => {
  it('sign-in and sign-out are events with id and name; sign-out carries the time staffed and paused', () => {
    const s = initialState(T0, LIMITS)
    const r = run(s, [
      [cmd('officer', { action: 'sign-in', officer: 'P1', officerName: 'Li Na' }), T0],
      [cmd('pause', { reason: 'break' }), T0 + 3_600_000],
      [cmd('resume'), T0 + 4_500_000],
      [cmd('pause', { reason: 'meal' }), T0 + 7_200_000],
    ])
    expect(eventOf(r.effects, 'signed-in')).toMatchObject({ officer: 'P1', officerName: 'Li Na' })
    expect(staffingFigures(r.state, T0 + 7_800_000)).toEqual({ staffedMs: 7_800_000, shiftPausedMs: 1_500_000, pauseMs: 600_000 })
    const out = step(r.state, cmd('officer', { action: 'sign-out' }), T0 + 7_800_000, T0 + 7_800_000)
    expect(eventOf(out.effects, 'signed-out')).toMatchObject({ officer: 'P1', officerName: 'Li Na', staffedMs: 7_800_000, pausedMs: 1_500_000 })
    expect(out.state.mode).toBe('closed')
    expect(staffingFigures(out.state, T0 + 7_800_000)).toEqual({ staffedMs: null, shiftPausedMs: null, pauseMs: null })
    expectValid([...r.effects, ...out.effects])
  })

  it('another officer signing in takes over: the first is signed out, then the second in; the same officer again changes nothing', () => {
    const s = signedIn('P1')
    const taken = step(s, cmd('officer', { action: 'sign-in', officer: 'P2', officerName: 'Wang' }), T0 + 60_000, T0 + 60_000)
    expect(types(taken.effects)).toEqual(['signed-out', 'signed-in'])
    expect(eventOf(taken.effects, 'signed-out')).toMatchObject({ officer: 'P1', staffedMs: 60_000 })
    expect(taken.state.officer).toMatchObject({ id: 'P2', since: T0 + 60_000 })
    const same = step(taken.state, cmd('officer', { action: 'sign-in', officer: 'P2' }), T0 + 70_000, T0 + 70_000)
    expect(types(same.effects)).toEqual([])
    expect(same.state.officer).toMatchObject({ id: 'P2', name: 'Wang', since: T0 + 60_000 })
    expectStateValid(same.state)
  })
})

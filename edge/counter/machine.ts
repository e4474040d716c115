import { SCORE_LABELS, commandExpired, hasApplicantMode, isFollowUpScore, type Command, type CommandName, type ErrorCode, type EvaluationScore, type OfficerKey } from '../protocol/index.ts'
import type { CounterState, Effect, Evaluation, Input, Millis, Step, Settings } from './state.ts'
import { elapsed, stepTime } from './time-rules.ts'
import { describeMode, enter, ok, refuse, serviceOf, ticketMismatch, wrongMode } from './replies.ts'
import { closedRecordsAfter, leaveService } from './service-flow.ts'
import { beginPendingPause, onOfficer, onPause, onResume } from './staffing.ts'

export { serviceOf } from './replies.ts'

const FIVE_ONLY: ReadonlySet<EvaluationScore> = new Set<EvaluationScore>(['very-satisfied', 'very-dissatisfied'])

/** Calling, serving or evaluating: someone stands at the window and a restart would cut them off. */
export function hasApplicant(state: CounterState): boolean {
  return hasApplicantMode(state.mode)
}

/** Evaluator keys report their health as `key-<score>` (officer keys as `officer-<key>`). */
const EVALUATOR_KEY = /^key-/

/** The evaluator keys in fault now: while any is, no rating can be a free choice between all of them. */
export function evaluatorKeyFaults(state: CounterState): CounterState['faults'] {
  return state.faults.filter((f) => EVALUATOR_KEY.test(f.device))
}

/**
 * The window's behaviour: (state, input, now, mono) → (state, effects). Pure:
 * no I/O, no clock, so every rule here is testable with plain values and fake
 * time. `now` is wall time (timestamps, command expiry); `mono` a monotonic
 * reading that every duration, window and timeout is measured on (see state.ts).
 * Both are required: a default of one for the other is how a wall-clock step
 * once closed evaluations early and made durations negative.
 */
export function step(state: CounterState, input: Input, now: Millis, mono: Millis): Step {
  const r = stepOnce(state, input, now, mono)
  if (r.state === state) return r
  // Whatever ended a service, the same two consequences: its record is closed here, and a pause waiting for it begins.
  const closedRecords = closedRecordsAfter(r.state, r.effects)
  const settled = closedRecords === r.state.closedRecords ? r : { ...r, state: { ...r.state, closedRecords } }
  return beginPendingPause(settled, now, mono)
}

function stepOnce(state: CounterState, input: Input, now: Millis, mono: Millis): Step {
  switch (input.kind) {
    case 'command':
      return onCommand(state, input.command, now, mono)
    case 'key':
      // Never later than the step itself: a press cannot come from the future.
      return onKey(state, input.score, now, mono, Math.min(input.pressedMono ?? mono, mono))
    case 'ambiguous-press':
      return { state: { ...state, ignoredPresses: state.ignoredPresses + 1 }, effects: [] }
    case 'tick':
      return stepTime(state, now, mono)
    case 'fault': {
      if (state.faults.some((f) => f.device === input.device && f.code === input.code)) return { state, effects: [] }
      const fault = { device: input.device, code: input.code, message: input.message, since: now }
      const faulted: Step = {
        state: { ...state, faults: [...state.faults, fault] },
        effects: [{ kind: 'event', event: { type: 'fault', device: input.device, code: input.code, message: input.message } }],
      }
      // A key that fails mid-evaluation takes the choice away: the service ends missed, with the reason, not rated by a broken key.
      const ev = state.evaluation
      if (state.mode === 'evaluating' && ev && EVALUATOR_KEY.test(input.device)) {
        const missed = missedForFault(ev, elapsed(ev.openedMono, mono), [fault])
        return { state: enter(faulted.state, 'idle', now, { evaluation: null, ticket: null }), effects: [...faulted.effects, missed] }
      }
      return faulted
    }
    case 'fault-cleared': {
      const faults = state.faults.filter((f) => !(f.device === input.device && f.code === input.code))
      if (faults.length === state.faults.length) return { state, effects: [] }
      return { state: { ...state, faults }, effects: [{ kind: 'event', event: { type: 'fault-cleared', device: input.device, code: input.code } }] }
    }
    case 'officer-key':
      return onOfficerKey(state, input.key, now, mono)
    case 'capture-result':
      return onCaptureResult(state, input)
  }
}

function missedForFault(ev: Pick<Evaluation, 'ticket' | 'officer' | 'record' | 'caseNo' | 'item'>, afterMs: number, faults: CounterState['faults']): Effect {
  const detail = faults.map((f) => `${f.device}: ${f.code}`).join(', ').slice(0, 200)
  return { kind: 'event', event: { type: 'evaluation-missed', ticket: ev.ticket, officer: ev.officer, afterMs, reason: 'evaluator-fault', detail, ...serviceOf(ev) } }
}

function onCommand(state: CounterState, cmd: Command, now: Millis, mono: Millis): Step {
  // A late command must never act: a call delivered after its expiry would put a stale number up.
  if (commandExpired(cmd, now)) return refuse(state, cmd, 'expired', `expired at ${cmd.expires}, received ${new Date(now).toISOString()}`)
  const officerId = state.officer?.id ?? null
  switch (cmd.name) {
    case 'call': {
      if (state.mode !== 'idle') return wrongMode(state, cmd, 'idle')
      const unshowable = [...cmd.ticket].filter((c) => !state.display.charset.includes(c))
      if (cmd.ticket.length > state.display.digits || unshowable.length > 0) {
        const why = unshowable.length ? `has ${unshowable.join(', ')}, which it cannot show` : `shows ${state.display.digits} characters`
        return refuse(state, cmd, 'unsupported', `ticket: ${cmd.ticket} cannot be shown: this window's display ${why}`)
      }
      if (cmd.record !== undefined && state.closedRecords.includes(cmd.record)) {
        return refuse(state, cmd, 'wrong-ticket', `record: ${cmd.record} already ended at this window; a service record has one outcome`)
      }
      const ticket = {
        number: cmd.ticket,
        record: cmd.record ?? `${state.records.prefix}-${state.records.next}`,
        caseNo: cmd.caseNo ?? null,
        item: cmd.item ?? null,
        service: cmd.service ?? null,
        green: cmd.green,
        appointment: cmd.appointment,
        calledAt: now,
        attentionAt: now,
        recalls: 0,
        startedAt: null,
        calledMono: mono,
        attentionMono: mono,
        startedMono: null,
        servedBy: null,
        overtimeWarnS: cmd.overtimeWarnS ?? null,
        overtimeLimitS: cmd.overtimeLimitS ?? null,
        continues: cmd.continues ?? null,
        unanswered: false,
      }
      // A continued service keeps its record: this board's own numbering moves on only for new ones.
      const records = cmd.record === undefined ? { ...state.records, next: state.records.next + 1 } : state.records
      return {
        state: enter(state, 'calling', now, { ticket, overtime: 'none', records }),
        effects: [
          { kind: 'event', event: { type: 'called', ticket: cmd.ticket, service: ticket.service, green: ticket.green, appointment: ticket.appointment, cmd: cmd.id, record: ticket.record, caseNo: ticket.caseNo, item: ticket.item, continues: ticket.continues } },
          ok(cmd),
        ],
      }
    }
    case 'recall': {
      if (state.mode !== 'calling' || !state.ticket) return wrongMode(state, cmd, 'calling')
      const bad = ticketMismatch(state, cmd)
      if (bad) return bad
      const limit = state.settings.recallLimit
      if (state.ticket.recalls >= limit) {
        return refuse(state, cmd, 'limit-reached', `recall: ${state.ticket.number} was recalled ${limit === 1 ? 'once' : `${limit} times`}, the window's limit; send no-show`)
      }
      const ticket = { ...state.ticket, recalls: state.ticket.recalls + 1, attentionAt: now, attentionMono: mono, unanswered: false }
      const left = limit - ticket.recalls
      return {
        state: { ...state, ticket },
        effects: [
          { kind: 'event', event: { type: 'recalled', ticket: ticket.number, count: ticket.recalls, cmd: cmd.id, record: ticket.record } },
          ok(cmd, { count: ticket.recalls, left, ...(left === 0 ? { suggest: 'no-show' } : {}) }),
        ],
      }
    }
    case 'no-show': {
      if (state.mode !== 'calling' || !state.ticket) return wrongMode(state, cmd, 'calling')
      const bad = ticketMismatch(state, cmd)
      if (bad) return bad
      return {
        state: enter(state, 'idle', now, { ticket: null }),
        effects: [{ kind: 'event', event: { type: 'no-show', ticket: state.ticket.number, cmd: cmd.id, record: state.ticket.record } }, ok(cmd)],
      }
    }
    case 'start': {
      if (state.mode !== 'calling' || !state.ticket) return wrongMode(state, cmd, 'calling')
      const bad = ticketMismatch(state, cmd)
      if (bad) return bad
      const ticket = { ...state.ticket, startedAt: now, startedMono: mono, servedBy: officerId }
      return {
        state: enter(state, 'serving', now, { ticket }),
        effects: [{ kind: 'event', event: { type: 'service-started', ticket: ticket.number, officer: officerId, waitedMs: elapsed(ticket.calledMono, mono), cmd: cmd.id, record: ticket.record } }, ok(cmd)],
      }
    }
    case 'finish': {
      if (state.mode !== 'serving' || !state.ticket) return wrongMode(state, cmd, 'serving')
      const bad = ticketMismatch(state, cmd)
      if (bad) return bad
      const t = state.ticket
      const servedBy = t.servedBy ?? officerId
      const finished: Effect = { kind: 'event', event: { type: 'service-finished', ticket: t.number, officer: servedBy, outcome: cmd.outcome, durationMs: elapsed(t.startedMono ?? mono, mono), cmd: cmd.id, ...serviceOf(t) } }
      // Only a served applicant rates the service; a transfer is rated at the window that finishes it.
      if (cmd.outcome !== 'served') return { state: enter(state, 'idle', now, { ticket: null, overtime: 'none' }), effects: [finished, ok(cmd)] }
      // With a key in fault the applicant cannot choose freely (a stuck key, a chattering one): the evaluator stays dark and the service ends missed, saying why.
      const keyFaults = evaluatorKeyFaults(state)
      if (keyFaults.length > 0) {
        return {
          state: enter(state, 'idle', now, { ticket: null, overtime: 'none' }),
          effects: [finished, missedForFault({ ticket: t.number, officer: servedBy, ...serviceOf(t) }, 0, keyFaults), ok(cmd, { evaluation: 'missed', reason: 'evaluator-fault' })],
        }
      }
      const timeoutMs = state.settings.evaluationTimeoutS * 1000
      const evaluation = { ticket: t.number, officer: servedBy, ...serviceOf(t), openedAt: now, closesAt: now + timeoutMs, openedMono: mono, closesMono: mono + timeoutMs }
      return { state: enter(state, 'evaluating', now, { evaluation, overtime: 'none' }), effects: [finished, ok(cmd, { evaluation: 'open' })] }
    }
    case 'evaluate': {
      // Never opens an evaluation of its own: only the service that just finished here, served and not yet rated or missed, has one, and it is already open.
      const ev = state.evaluation
      if (state.mode !== 'evaluating' || !ev) {
        return refuse(state, cmd, 'wrong-mode', `evaluate needs a service that finished here and awaits its rating; the window is ${describeMode(state)}`)
      }
      if (cmd.ticket !== undefined && cmd.ticket !== ev.ticket) {
        return refuse(state, cmd, 'wrong-ticket', `ticket: ${cmd.ticket} is not the service awaiting its rating here (${ev.ticket})`)
      }
      return { state, effects: [ok(cmd, { evaluation: 'open', ticket: ev.ticket })] }
    }
    case 'pause':
      return onPause(state, cmd, now, mono)
    case 'resume':
      return onResume(state, cmd, now, mono)
    case 'officer':
      return onOfficer(state, cmd, now, mono)
    case 'transfer':
    case 'park':
      return leaveService(state, cmd, now, mono)
    case 'identify':
      return { state, effects: [{ kind: 'identify', seconds: cmd.seconds }, ok(cmd)] }
    case 'sync':
      return { state, effects: [{ kind: 'sync' }, ok(cmd)] }
    case 'config':
      return applyConfig(state, cmd)
    case 'capture':
      return onCapture(state, cmd, now, mono)
    case 'self-test':
      return onSelfTest(state, cmd)
    case 'update':
      // Never a restart with an applicant at the window: their call, service or rating would be cut off (issue 24).
      if (hasApplicant(state)) return refuse(state, cmd, 'busy', `an applicant is at the window (${describeMode(state)}); update once it is idle, paused or closed`)
      return { state, effects: [{ kind: 'update', cmd }] }
  }
}

/**
 * The trigger test fires every capture device for real: with an applicant at the window it would
 * photograph them, or start their scanner, unasked, and it would collide with a capture of theirs
 * still running. The display and key tests only show the lamp test and read the keys, so they run
 * whenever a technician asks (the dashboard asks its technician first when an applicant is there).
 */
function onSelfTest(state: CounterState, cmd: Extract<Command, { name: 'self-test' }>): Step {
  const tests = cmd.tests ?? ['display', 'keys', 'triggers']
  if (tests.includes('triggers')) {
    const running = Object.keys(state.captures)
    if (hasApplicant(state) || running.length > 0) {
      const why = hasApplicant(state) ? `an applicant is at the window (${describeMode(state)})` : `a ${running.join(' and ')} capture is running`
      return refuse(state, cmd, 'busy', `tests: the trigger test fires the capture devices, and ${why}; test display and keys now, triggers once the window is idle, paused or closed`)
    }
  }
  return { state, effects: [{ kind: 'self-test', cmd: cmd.id, tests }] }
}

function onCapture(state: CounterState, cmd: Extract<Command, { name: 'capture' }>, now: Millis, mono: Millis): Step {
  const device = cmd.kind
  if (!state.captureDevices.includes(device)) return refuse(state, cmd, 'unsupported', `kind: this window has no ${device} device`)
  if (state.mode !== 'calling' && state.mode !== 'serving') return wrongMode(state, cmd, 'calling or serving')
  const bad = ticketMismatch(state, cmd)
  if (bad) return bad
  const ticket = state.ticket?.number ?? null
  const record = state.ticket?.record ?? null
  // One outcome per command: a refused capture never started, so its refusal is its only outcome, no capture-failed besides.
  if (state.captures[device]) return refuse(state, cmd, 'busy', `a ${device} capture is already running`)
  const effects: Effect[] = []
  let next = state
  // The first capture starts the service: the applicant is at the window.
  if (state.mode === 'calling' && state.ticket) {
    const t = { ...state.ticket, startedAt: now, startedMono: mono, servedBy: state.officer?.id ?? null }
    next = enter(state, 'serving', now, { ticket: t })
    effects.push({ kind: 'event', event: { type: 'service-started', ticket: t.number, officer: t.servedBy, waitedMs: elapsed(t.calledMono, mono), cmd: cmd.id, record: t.record } })
  }
  next = { ...next, captures: { ...next.captures, [device]: { cmd: cmd.id, ticket, record } } }
  effects.push({ kind: 'capture', device, cmd: cmd.id }, ok(cmd, { capture: 'started' }))
  return { state: next, effects }
}

function onCaptureResult(state: CounterState, input: Extract<Input, { kind: 'capture-result' }>): Step {
  const running = state.captures[input.device]
  if (!running || running.cmd !== input.cmd) return { state, effects: [] }
  const { [input.device]: _done, ...rest } = state.captures
  const next = { ...state, captures: rest }
  const o = input.outcome
  const effect: Effect = o.ok
    ? { kind: 'event', event: { type: 'capture-done', kind: input.device, ticket: running.ticket, latencyMs: o.latencyMs, cmd: input.cmd, ...(running.record ? { record: running.record } : {}) } }
    : { kind: 'event', event: { type: 'capture-failed', kind: input.device, ticket: running.ticket, reason: o.reason, message: o.message.slice(0, 200), cmd: input.cmd, ...(running.record ? { record: running.record } : {}) } }
  return { state: next, effects: [effect] }
}

/** Officer keys ask central for things; only recall and help act at the window. They can never rate. */
function onOfficerKey(state: CounterState, key: OfficerKey, now: Millis, mono: Millis): Step {
  const ticket = state.ticket?.number ?? null
  const officer = state.officer?.id ?? null
  const effects: Effect[] = [{ kind: 'event', event: { type: 'officer-key', key, ticket } }]
  let next = state
  // The recall key obeys the recall limit like the command: past it, only central hears the key (and sends no-show).
  if (key === 'recall' && state.mode === 'calling' && state.ticket && state.ticket.recalls < state.settings.recallLimit) {
    const t = { ...state.ticket, recalls: state.ticket.recalls + 1, attentionAt: now, attentionMono: mono, unanswered: false }
    next = { ...state, ticket: t }
    effects.push({ kind: 'event', event: { type: 'recalled', ticket: t.number, count: t.recalls, record: t.record } })
  }
  if (key === 'help') effects.push({ kind: 'event', event: { type: 'help-requested', ticket, officer } })
  return { state: next, effects }
}

function applyConfig(state: CounterState, cmd: Extract<Command, { name: 'config' }>): Step {
  const { logLevel, ...rest } = cmd.settings
  const next: Settings = { ...state.settings }
  const changed: Array<keyof Settings | 'logLevel'> = []
  for (const [k, v] of Object.entries(rest) as Array<[keyof Settings, number]>) {
    if (v === undefined) continue
    ;(next as unknown as Record<string, number>)[k] = v
    changed.push(k)
  }
  if (next.overtimeWarnS >= next.overtimeLimitS) {
    return refuse(state, cmd, 'bad-payload', `settings.overtimeWarnS (${next.overtimeWarnS}) must be below settings.overtimeLimitS (${next.overtimeLimitS})`)
  }
  if (next.scale > state.evaluatorKeys) {
    return refuse(state, cmd, 'unsupported', `settings.scale: ${next.scale} needs a ${next.scale}-key evaluator; this window's has ${state.evaluatorKeys} keys`)
  }
  if (next.scale !== state.settings.scale && state.mode === 'evaluating') {
    return refuse(state, cmd, 'wrong-mode', 'settings.scale cannot change while an evaluation is open')
  }
  if (logLevel) changed.push('logLevel')
  const effect: Effect = logLevel ? { kind: 'apply-settings', changed, logLevel } : { kind: 'apply-settings', changed }
  return { state: { ...state, settings: next }, effects: [effect, ok(cmd, { applied: changed, restartRequired: [] })] }
}

function onKey(state: CounterState, score: EvaluationScore, now: Millis, mono: Millis, pressedMono: Millis): Step {
  const ev = state.evaluation
  const ignored = (s: CounterState): CounterState => ({ ...s, ignoredPresses: s.ignoredPresses + 1 })
  // Presses with no evaluation open (an officer testing, a child playing) must never become ratings.
  if (state.mode !== 'evaluating' || !ev || (state.settings.scale === 3 && FIVE_ONLY.has(score))) {
    return { state: ignored(state), effects: [] }
  }
  // Decided by the press's own time, not by whether the closing timer has run yet (a busy event loop runs it late, the evaluator decides a press a little after it).
  if (pressedMono >= ev.closesMono) {
    const closed = stepTime(state, now, mono)
    return { state: ignored(closed.state), effects: closed.effects }
  }
  // A press made before the evaluator opened (an officer's finger on the key at the finish) is not this service's rating.
  if (pressedMono < ev.openedMono) return { state: ignored(state), effects: [] }
  // A key in fault never decides a rating (its fault closes the evaluation; this holds if a press was already queued behind it).
  if (evaluatorKeyFaults(state).length > 0) return { state: ignored(state), effects: [] }
  const latencyMs = elapsed(ev.openedMono, pressedMono)
  const scale = state.settings.scale
  const early = latencyMs < state.settings.evaluationDwellMs
  const effects: Effect[] = [{ kind: 'event', event: { type: 'evaluated', ticket: ev.ticket, officer: ev.officer, score, scale, latencyMs, early, ...serviceOf(ev) } }]
  // A bad rating is followed up (好差评): its alert is an effect of the same step, so it is saved and journalled with the rating, never without it.
  if (isFollowUpScore(score)) {
    effects.push({ kind: 'event', event: { type: 'rating-alert', ticket: ev.ticket, officer: ev.officer, score, scale, level: SCORE_LABELS[score].national, early, ...serviceOf(ev) } })
  }
  return { state: enter(state, 'idle', now, { evaluation: null, ticket: null }), effects }
}

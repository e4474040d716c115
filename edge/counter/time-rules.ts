import type { CounterState, Effect, Millis, Step } from './state.ts'
import { plausibleTime } from '../shared/plausible-time.ts'

/** A duration between two monotonic readings; never negative, even across a restart's rebase. */
export function elapsed(from: Millis, to: Millis): Millis {
  return Math.max(0, Math.round(to - from))
}

/**
 * What the passing of time does to a window: an evaluation nobody answered
 * closes as missed, a long service crosses the overtime thresholds. Each
 * threshold is reported once. `mono` is the monotonic reading every window
 * and duration is measured on; `now` (wall) only stamps `since`.
 */
export function stepTime(state: CounterState, now: Millis, mono: Millis): Step {
  const ev = state.evaluation
  if (state.mode === 'evaluating' && ev && mono >= ev.closesMono) {
    return {
      state: { ...state, mode: 'idle', since: now, evaluation: null, ticket: null },
      effects: [{ kind: 'event', event: { type: 'evaluation-missed', ticket: ev.ticket, officer: ev.officer, afterMs: elapsed(ev.openedMono, mono), reason: 'timeout', record: ev.record, caseNo: ev.caseNo, item: ev.item } }],
    }
  }
  const t = state.ticket
  // Nobody came to the window: prompt the officer (status lamp) and central, once per call or recall.
  if (state.mode === 'calling' && t && !t.unanswered) {
    const limitMs = state.settings.noShowPromptS * 1000
    const waitedMs = elapsed(t.attentionMono, mono)
    if (waitedMs >= limitMs) {
      const suggest = t.recalls >= state.settings.recallLimit ? 'no-show' : 'recall'
      return {
        state: { ...state, ticket: { ...t, unanswered: true } },
        effects: [{ kind: 'event', event: { type: 'call-unanswered', ticket: t.number, record: t.record, waitedMs, limitMs, recalls: t.recalls, suggest } }],
      }
    }
  }
  const p = state.pause
  if (state.mode === 'paused' && p && !p.over) {
    const limitMs = pauseLimitMs(state)
    const pausedMs = elapsed(p.sinceMono, mono)
    if (pausedMs >= limitMs) {
      return {
        state: { ...state, pause: { ...p, over: true } },
        effects: [{ kind: 'event', event: { type: 'pause-overtime', reason: p.reason, officer: state.officer?.id ?? null, pausedMs, limitMs } }],
      }
    }
  }
  if (state.mode === 'serving' && t?.startedMono != null) {
    const ms = elapsed(t.startedMono, mono)
    const { overtimeWarnS, overtimeLimitS } = thresholds(state)
    const level = ms >= overtimeLimitS * 1000 ? 'over' : ms >= overtimeWarnS * 1000 ? 'warning' : 'none'
    if (level !== 'none' && level !== state.overtime) {
      const effect: Effect = {
        kind: 'event',
        event: { type: 'overtime', ticket: t.number, record: t.record, officer: t.servedBy, level, elapsedMs: ms, limitMs: (level === 'over' ? overtimeLimitS : overtimeWarnS) * 1000 },
      }
      return { state: { ...state, overtime: level }, effects: [effect] }
    }
  }
  return { state, effects: [] }
}

/** The next monotonic instant at which time alone changes something, so the runtime can sleep until then. */
export function nextDeadline(state: CounterState, mono: Millis): Millis | null {
  const candidates: Millis[] = []
  if (state.mode === 'evaluating' && state.evaluation) candidates.push(state.evaluation.closesMono)
  const t = state.ticket
  if (state.mode === 'serving' && t?.startedMono != null) {
    const { overtimeWarnS, overtimeLimitS } = thresholds(state)
    if (state.overtime === 'none') candidates.push(t.startedMono + overtimeWarnS * 1000)
    if (state.overtime !== 'over') candidates.push(t.startedMono + overtimeLimitS * 1000)
  }
  if (state.mode === 'calling' && t) {
    const end = t.attentionMono + state.settings.attentionS * 1000
    if (end > mono) candidates.push(end)
    if (!t.unanswered) candidates.push(t.attentionMono + state.settings.noShowPromptS * 1000)
  }
  if (state.mode === 'paused' && state.pause && !state.pause.over) candidates.push(state.pause.sinceMono + pauseLimitMs(state))
  return candidates.length ? Math.max(mono, Math.min(...candidates)) : null
}

/**
 * Moves every monotonic reading in a state by `delta`: a restarted board's
 * monotonic clock has a new origin, and the saved windows and timeouts must
 * keep their remaining length on it.
 */
export function rebaseMono(state: CounterState, delta: Millis): CounterState {
  if (delta === 0) return state
  const t = state.ticket
  const ev = state.evaluation
  return {
    ...state,
    ticket: t ? { ...t, calledMono: t.calledMono + delta, attentionMono: t.attentionMono + delta, startedMono: t.startedMono === null ? null : t.startedMono + delta } : null,
    evaluation: ev ? { ...ev, openedMono: ev.openedMono + delta, closesMono: ev.closesMono + delta } : null,
    pause: state.pause ? { ...state.pause, sinceMono: state.pause.sinceMono + delta } : null,
    officer: state.officer ? { ...state.officer, sinceMono: state.officer.sinceMono + delta } : null,
  }
}

/** Both of a run's clocks at one moment, and the machine's monotonic clock when the runtime can read it (edge/machine-clock.ts). */
export interface ClockReading {
  wall: Millis
  mono: Millis
  machine?: { boot: string; ms: Millis }
}

/**
 * A saved state onto this run's monotonic clock: the readings saved at
 * `saved` move so that the time since then is the time that passed, and every
 * window keeps what was left of it. Within one boot of the machine that is its
 * monotonic clock's, exact whatever the wall clock did meanwhile: a runtime that
 * restarted after NTP stepped a board's 1970 clock to the day counted 56 years
 * gone, and closed the applicant's open evaluation as missed and the service as
 * decades over time. Across a reboot only the wall clock can say: what it says,
 * none if it went back, and none if it was not set at the save and is now.
 */
export function resumeOnNewClock(state: CounterState, saved: ClockReading, now: ClockReading): CounterState {
  return rebaseMono(state, now.mono - timeBetween(saved, now) - saved.mono)
}

function timeBetween(saved: ClockReading, now: ClockReading): Millis {
  if (saved.machine && now.machine && saved.machine.boot === now.machine.boot && now.machine.ms >= saved.machine.ms) return now.machine.ms - saved.machine.ms
  if (!plausibleTime(saved.wall) && plausibleTime(now.wall)) return 0
  return Math.max(0, now.wall - saved.wall)
}

/** The pause's limit in milliseconds: its own, or the window's. */
export function pauseLimitMs(state: CounterState): number {
  return (state.pause?.limitS ?? state.settings.pauseLimitS) * 1000
}

/** The call's per-service thresholds win over the window's settings. */
export function thresholds(state: CounterState): { overtimeWarnS: number; overtimeLimitS: number } {
  return {
    overtimeWarnS: state.ticket?.overtimeWarnS ?? state.settings.overtimeWarnS,
    overtimeLimitS: state.ticket?.overtimeLimitS ?? state.settings.overtimeLimitS,
  }
}

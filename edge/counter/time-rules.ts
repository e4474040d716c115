import type { CounterState, Effect, Millis, Step } from './state.ts'

/**
 * What the passing of time does to a window: an evaluation nobody answered
 * closes as missed, a long service crosses the overtime thresholds. Each
 * threshold is reported once.
 */
export function stepTime(state: CounterState, now: Millis): Step {
  const ev = state.evaluation
  if (state.mode === 'evaluating' && ev && now >= ev.closesAt) {
    return {
      state: { ...state, mode: 'idle', since: now, evaluation: null, ticket: null },
      effects: [{ kind: 'event', event: { type: 'evaluation-missed', ticket: ev.ticket, officer: ev.officer, afterMs: now - ev.openedAt } }],
    }
  }
  const t = state.ticket
  if (state.mode === 'serving' && t?.startedAt != null) {
    const elapsed = now - t.startedAt
    const { overtimeWarnS, overtimeLimitS } = thresholds(state)
    const level = elapsed >= overtimeLimitS * 1000 ? 'over' : elapsed >= overtimeWarnS * 1000 ? 'warning' : 'none'
    if (level !== 'none' && level !== state.overtime) {
      const effect: Effect = {
        kind: 'event',
        event: { type: 'overtime', ticket: t.number, officer: state.officer?.id ?? null, level, elapsedMs: elapsed, limitMs: (level === 'over' ? overtimeLimitS : overtimeWarnS) * 1000 },
      }
      return { state: { ...state, overtime: level }, effects: [effect] }
    }
  }
  return { state, effects: [] }
}

/** The next instant at which time alone changes something, so the runtime can sleep until then. */
export function nextDeadline(state: CounterState, now: Millis): Millis | null {
  const candidates: Millis[] = []
  if (state.mode === 'evaluating' && state.evaluation) candidates.push(state.evaluation.closesAt)
  const t = state.ticket
  if (state.mode === 'serving' && t?.startedAt != null) {
    const { overtimeWarnS, overtimeLimitS } = thresholds(state)
    if (state.overtime === 'none') candidates.push(t.startedAt + overtimeWarnS * 1000)
    if (state.overtime !== 'over') candidates.push(t.startedAt + overtimeLimitS * 1000)
  }
  if (state.mode === 'calling' && t) {
    const end = t.attentionAt + state.settings.attentionS * 1000
    if (end > now) candidates.push(end)
  }
  return candidates.length ? Math.max(now, Math.min(...candidates)) : null
}

/** The call's per-service thresholds win over the window's settings. */
export function thresholds(state: CounterState): { overtimeWarnS: number; overtimeLimitS: number } {
  return {
    overtimeWarnS: state.ticket?.overtimeWarnS ?? state.settings.overtimeWarnS,
    overtimeLimitS: state.ticket?.overtimeLimitS ?? state.settings.overtimeLimitS,
  }
}

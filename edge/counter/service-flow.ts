import type { Command } from '../protocol/index.ts'
import type { CounterState, Millis, Step } from './state.ts'
import { enter, ok, serviceOf, ticketMismatch, wrongMode } from './replies.ts'
import { elapsed } from './time-rules.ts'

/**
 * A service that leaves this window before it is finished (转移 transfer,
 * 挂起 park). Its part here ends with no evaluation: one service, one rating,
 * given at the window that finishes it, which gets the record back with the
 * `call` that continues it (`record`, `continues`). The record is not closed
 * here, so the same window may take it back later.
 */
export function leaveService(state: CounterState, cmd: Extract<Command, { name: 'transfer' | 'park' }>, now: Millis, mono: Millis): Step {
  if (state.mode !== 'serving' || !state.ticket) return wrongMode(state, cmd, 'serving')
  const bad = ticketMismatch(state, cmd)
  if (bad) return bad
  const t = state.ticket
  const officer = t.servedBy ?? state.officer?.id ?? null
  const durationMs = elapsed(t.startedMono ?? mono, mono)
  const idle = enter(state, 'idle', now, { ticket: null, overtime: 'none' })
  if (cmd.name === 'transfer') {
    const to = { toWindow: cmd.toWindow ?? null, toQueue: cmd.toQueue ?? null }
    return {
      state: idle,
      effects: [
        { kind: 'event', event: { type: 'service-transferred', ticket: t.number, officer, ...to, reason: cmd.reason, durationMs, cmd: cmd.id, ...serviceOf(t) } },
        ok(cmd, { record: t.record, ...to }),
      ],
    }
  }
  return {
    state: idle,
    effects: [
      { kind: 'event', event: { type: 'service-parked', ticket: t.number, officer, reason: cmd.reason, durationMs, cmd: cmd.id, ...serviceOf(t) } },
      ok(cmd, { record: t.record }),
    ],
  }
}

/** Records kept as closed: enough for any call central could still be sending again for one. */
const CLOSED_KEPT = 64

/** A record reaches its outcome here with these events; `service-finished` only when it opens no evaluation. */
export function closedRecordsAfter(state: CounterState, effects: Step['effects']): string[] {
  let closed = state.closedRecords
  for (const e of effects) {
    if (e.kind !== 'event') continue
    const ev = e.event
    const final =
      ev.type === 'evaluated' ||
      ev.type === 'evaluation-missed' ||
      ev.type === 'no-show' ||
      (ev.type === 'service-finished' && ev.outcome === 'abandoned')
    if (final && ev.record && !closed.includes(ev.record)) closed = [...closed, ev.record].slice(-CLOSED_KEPT)
  }
  return closed
}

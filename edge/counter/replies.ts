import type { Command, ErrorCode } from '../protocol/index.ts'
import type { CounterState, Effect, Millis, Step } from './state.ts'

/**
 * What every command handler of the machine shares: its answers, the mode
 * change, and what ties an event to its service. A leaf, so the handlers in
 * machine.ts, service-flow.ts and staffing.ts can all use it without a cycle.
 */

export function ok(cmd: Command, result?: Record<string, unknown>): Effect {
  return result ? { kind: 'reply', cmd: cmd.id, name: cmd.name, ok: true, result } : { kind: 'reply', cmd: cmd.id, name: cmd.name, ok: true }
}

export function refuse(state: CounterState, cmd: Command, code: ErrorCode, message: string): Step {
  return { state, effects: [{ kind: 'reply', cmd: cmd.id, name: cmd.name, ok: false, code, message }] }
}

export function wrongMode(state: CounterState, cmd: Command, allowed: string): Step {
  return refuse(state, cmd, 'wrong-mode', `${cmd.name} needs the window ${allowed}; it is ${describeMode(state)}`)
}

export function describeMode(s: CounterState): string {
  switch (s.mode) {
    case 'calling':
      return `calling ${s.ticket?.number}`
    case 'serving':
      return `serving ${s.ticket?.number}`
    case 'evaluating':
      return `waiting for the rating of ${s.evaluation?.ticket}`
    case 'paused':
      return `paused (${s.pause?.reason})`
    default:
      return s.mode
  }
}

export function ticketMismatch(state: CounterState, cmd: Command & { ticket?: string }): Step | null {
  if (cmd.ticket !== undefined && state.ticket && cmd.ticket !== state.ticket.number) {
    return refuse(state, cmd, 'wrong-ticket', `ticket: ${cmd.ticket} is not the ticket at this window (${state.ticket.number})`)
  }
  return null
}

export function enter(state: CounterState, mode: CounterState['mode'], now: Millis, patch: Partial<CounterState> = {}): CounterState {
  return { ...state, ...patch, mode, since: mode === state.mode ? state.since : now }
}

/** What ties an event to its service record. */
export function serviceOf(s: { record: string; caseNo: string | null; item: string | null }): { record: string; caseNo: string | null; item: string | null } {
  return { record: s.record, caseNo: s.caseNo, item: s.item }
}

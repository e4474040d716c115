import type { Command } from '../protocol/index.ts'
import type { CounterState, Effect, Millis, Officer, Step } from './state.ts'
import { describeMode, enter, ok, refuse, wrongMode } from './replies.ts'
import { elapsed, pauseLimitMs } from './time-rules.ts'

/**
 * Who staffs the window and when it is paused: sign-in and sign-out, each an
 * event with the time staffed; `pause` at once when idle, otherwise after the
 * service at the window ends (a hall pauses "after this one", never in the
 * middle of an applicant).
 */

/** Paused time of the current sign-in so far, the current pause included. */
export function shiftPausedMs(state: CounterState, mono: Millis): number | null {
  const o = state.officer
  if (!o) return null
  const current = state.pause ? elapsed(Math.max(state.pause.sinceMono, o.sinceMono), mono) : 0
  return o.pausedMs + current
}

export function onPause(state: CounterState, cmd: Extract<Command, { name: 'pause' }>, now: Millis, mono: Millis): Step {
  const limitS = cmd.limitS ?? null
  if (state.mode === 'idle') {
    const pause = { reason: cmd.reason, since: now, sinceMono: mono, limitS, over: false, afterService: false, cmd: cmd.id }
    const next = enter(state, 'paused', now, { pause, pauseAfter: null })
    return { state: next, effects: [pausedEvent(next), ok(cmd, { pause: 'now' })] }
  }
  if (state.mode === 'calling' || state.mode === 'serving' || state.mode === 'evaluating') {
    // Asked again before the service ended: the newest reason wins, still one pause.
    const pauseAfter = { reason: cmd.reason, since: now, limitS, cmd: cmd.id }
    return { state: { ...state, pauseAfter }, effects: [ok(cmd, { pause: 'after-service', ticket: state.ticket?.number ?? state.evaluation?.ticket ?? null })] }
  }
  return wrongMode(state, cmd, 'open (idle, or at a service to pause after)')
}

export function onResume(state: CounterState, cmd: Extract<Command, { name: 'resume' }>, now: Millis, mono: Millis): Step {
  if (state.mode === 'paused' && state.pause) {
    const p = state.pause
    const officer = state.officer ? { ...state.officer, pausedMs: shiftPausedMs(state, mono) ?? 0 } : null
    return {
      state: enter(state, 'idle', now, { pause: null, officer }),
      effects: [{ kind: 'event', event: { type: 'resumed', pausedMs: elapsed(p.sinceMono, mono), cmd: cmd.id } }, ok(cmd)],
    }
  }
  // The officer changed their mind before the service ended: nothing was paused, so nothing resumes.
  if (state.pauseAfter) return { state: { ...state, pauseAfter: null }, effects: [ok(cmd, { pause: 'cancelled' })] }
  return refuse(state, cmd, 'wrong-mode', `resume needs the window paused or a pause waiting for the service to end; it is ${describeMode(state)}`)
}

export function onOfficer(state: CounterState, cmd: Extract<Command, { name: 'officer' }>, now: Millis, mono: Millis): Step {
  if (cmd.action === 'sign-in') {
    if (state.mode !== 'closed' && state.mode !== 'idle' && state.mode !== 'paused') return wrongMode(state, cmd, 'closed, idle or paused')
    const id = cmd.officer!
    const name = cmd.officerName ?? null
    const mode = state.mode === 'closed' ? 'idle' : state.mode
    const prev = state.officer
    // The same officer signing in again (a second terminal, a retry with a new id) keeps their shift.
    if (prev && prev.id === id) return { state: enter(state, mode, now, { officer: { ...prev, name: name ?? prev.name } }), effects: [ok(cmd)] }
    const effects: Effect[] = prev ? [signedOut(state, prev, mono, cmd.id)] : []
    const officer: Officer = { id, name, since: now, sinceMono: mono, pausedMs: 0 }
    effects.push({ kind: 'event', event: { type: 'signed-in', officer: id, officerName: name, cmd: cmd.id } }, ok(cmd))
    return { state: enter(state, mode, now, { officer }), effects }
  }
  if (state.mode !== 'idle' && state.mode !== 'paused') return wrongMode(state, cmd, 'idle or paused')
  const prev = state.officer
  const effects: Effect[] = prev ? [signedOut(state, prev, mono, cmd.id)] : []
  effects.push(ok(cmd))
  return { state: enter(state, 'closed', now, { officer: null, pause: null, pauseAfter: null }), effects }
}

function signedOut(state: CounterState, o: Officer, mono: Millis, cmd: string): Effect {
  return { kind: 'event', event: { type: 'signed-out', officer: o.id, officerName: o.name, staffedMs: elapsed(o.sinceMono, mono), pausedMs: shiftPausedMs(state, mono) ?? 0, cmd } }
}

function pausedEvent(s: CounterState): Effect {
  const p = s.pause!
  return { kind: 'event', event: { type: 'paused', reason: p.reason, ...(p.cmd ? { cmd: p.cmd } : {}), afterService: p.afterService, limitMs: pauseLimitMs(s) } }
}

/**
 * After every step: a pause asked for during a service begins the moment the
 * window is idle again (whichever way the service ended), so the window never
 * shows idle to a central queue that would call the next ticket into it.
 */
export function beginPendingPause(step: Step, now: Millis, mono: Millis): Step {
  const s = step.state
  if (s.mode !== 'idle' || !s.pauseAfter) return step
  const w = s.pauseAfter
  const pause = { reason: w.reason, since: now, sinceMono: mono, limitS: w.limitS, over: false, afterService: true, cmd: w.cmd }
  const next = enter(s, 'paused', now, { pause, pauseAfter: null })
  return { state: next, effects: [...step.effects, pausedEvent(next)] }
}

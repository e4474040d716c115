import type { CounterState, Millis } from './state.ts'

export interface DisplayContent {
  /** null: the display is dark. */
  text: string | null
  /** Blink to draw the applicant's eye after a call or recall. */
  attention: boolean
}

/**
 * What the call display shows follows from the state alone, so after any step
 * or a restart the display cannot hold a number the window was not told to call.
 */
export function displayFor(s: CounterState, mono: Millis): DisplayContent {
  switch (s.mode) {
    case 'calling':
      return { text: s.ticket!.number, attention: mono < s.ticket!.attentionMono + s.settings.attentionS * 1000 }
    case 'serving':
    case 'evaluating':
      return { text: s.ticket?.number ?? s.evaluation?.ticket ?? null, attention: false }
    case 'paused':
      return { text: '-'.repeat(s.display.digits), attention: false }
    case 'idle':
    case 'closed':
      return { text: null, attention: false }
  }
}

/** The evaluator lamp is lit exactly while a rating can be given. */
/**
 * Whether the video must cover the window now: from the call through the end
 * of its evaluation (rated, missed, or the service ended without one), so the
 * moment of rating is on video, not only the service (issue 16).
 */
export function videoCovers(s: CounterState): boolean {
  return s.mode === 'calling' || s.mode === 'serving' || s.mode === 'evaluating'
}

export function evaluatorOpen(s: CounterState): boolean {
  return s.mode === 'evaluating' && s.evaluation !== null
}

const iso = (ms: Millis) => new Date(ms).toISOString()

/** The retained `state` message's fields (docs/architecture.md §3), without the envelope. */
export function stateFields(s: CounterState) {
  return {
    mode: s.mode,
    ticket: s.ticket
      ? {
          number: s.ticket.number,
          service: s.ticket.service,
          green: s.ticket.green,
          appointment: s.ticket.appointment,
          calledAt: iso(s.ticket.calledAt),
          recalls: s.ticket.recalls,
          startedAt: s.ticket.startedAt === null ? null : iso(s.ticket.startedAt),
        }
      : null,
    officer: s.officer ? { id: s.officer.id, name: s.officer.name } : null,
    since: iso(s.since),
    overtime: s.overtime,
    evaluation: s.evaluation ? { ticket: s.evaluation.ticket, openedAt: iso(s.evaluation.openedAt), closesAt: iso(s.evaluation.closesAt) } : null,
    pause: s.pause ? { reason: s.pause.reason, since: iso(s.pause.since) } : null,
    faults: s.faults.map((f) => ({ device: f.device, code: f.code, message: f.message, since: iso(f.since) })),
  }
}

/**
 * The status light, seen by the officer and the supervisor: off while closed,
 * steady while open, slow blink while paused or at the overtime warning, fast
 * blink once over the limit (a single-colour light; colour needs a second line).
 */
export function statusLampFor(s: CounterState): 'off' | 'on' | 'slow' | 'fast' {
  if (s.mode === 'closed') return 'off'
  if (s.overtime === 'over') return 'fast'
  if (s.mode === 'paused' || s.overtime === 'warning') return 'slow'
  return 'on'
}

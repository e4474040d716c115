import type { CounterState, Millis } from './state.ts'
import { pauseLimitMs } from './time-rules.ts'
import { shiftPausedMs } from './staffing.ts'

export interface PauseView {
  reason: string
  /** What a segment display shows: 'P-' and two letters it can draw (no Chinese on four digits). */
  code: string
  /** What a screen that can draw characters shows: 暂停服务 with the reason beneath. */
  zh: string
  en: string
}

export interface DisplayContent {
  /** null: the display is dark. */
  text: string | null
  /** Blink to draw the applicant's eye after a call or recall. */
  attention: boolean
  /** While paused: the reason, for screens that can show more than the code in `text`. */
  pause?: PauseView
  /** During a service with a pause asked for after it: screens can say so (本次服务后暂停); segments show the ticket. */
  pauseAfter?: PauseView
}

/**
 * Pause reasons a hall uses, each with a code a 7-segment display can draw
 * (no K, M, V, W, X) and the words a window screen shows. `pause` takes any
 * reason; one not in the table shows as P--- and 暂停服务 alone.
 */
export const PAUSE_REASONS: Readonly<Record<string, { code: string; zh: string; en: string }>> = {
  break: { code: 'P-BR', zh: '休息', en: 'break' },
  meal: { code: 'P-LU', zh: '用餐', en: 'meal' },
  lunch: { code: 'P-LU', zh: '用餐', en: 'meal' },
  meeting: { code: 'P-HY', zh: '会议', en: 'meeting' },
  training: { code: 'P-TR', zh: '培训', en: 'training' },
  business: { code: 'P-GO', zh: '公务外出', en: 'official business' },
  handover: { code: 'P-JJ', zh: '交接', en: 'handover' },
  document: { code: 'P-DC', zh: '等待材料', en: 'waiting for documents' },
  'officer-key': { code: 'P-OF', zh: '暂离', en: 'stepped away' },
}

const PAUSED_ZH = '暂停服务'

export function pauseView(reason: string): PauseView {
  const known = PAUSE_REASONS[reason.toLowerCase()]
  return known ? { reason, code: known.code, zh: `${PAUSED_ZH} · ${known.zh}`, en: `paused: ${known.en}` } : { reason, code: 'P---', zh: PAUSED_ZH, en: `paused: ${reason}` }
}

/**
 * Text as this display can show it: itself where it fits and every character
 * draws, dashes otherwise. A call the display cannot show is refused, so a
 * ticket reaches this only from a state saved under another board profile
 * (a display swapped with the hall open): the service goes on, never mangled.
 */
function fitted(text: string, display: CounterState['display']): string {
  const fits = text.length <= display.digits && [...text].every((c) => display.charset.includes(c))
  return fits ? text : '-'.repeat(display.digits)
}

function pauseText(reason: string, display: CounterState['display']): string {
  return fitted(pauseView(reason).code, display)
}

/**
 * What the call display shows follows from the state alone, so after any step
 * or a restart the display cannot hold a number the window was not told to call.
 */
export function displayFor(s: CounterState, mono: Millis): DisplayContent {
  const shown = displayOf(s, mono)
  return s.pauseAfter && s.mode !== 'paused' ? { ...shown, pauseAfter: pauseView(s.pauseAfter.reason) } : shown
}

function displayOf(s: CounterState, mono: Millis): DisplayContent {
  switch (s.mode) {
    case 'calling':
      return { text: fitted(s.ticket!.number, s.display), attention: mono < s.ticket!.attentionMono + s.settings.attentionS * 1000 }
    case 'serving':
    case 'evaluating': {
      const ticket = s.ticket?.number ?? s.evaluation?.ticket ?? null
      return { text: ticket === null ? null : fitted(ticket, s.display), attention: false }
    }
    case 'paused':
      return s.pause ? { text: pauseText(s.pause.reason, s.display), attention: false, pause: pauseView(s.pause.reason) } : { text: '-'.repeat(s.display.digits), attention: false }
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
          record: s.ticket.record,
          continues: s.ticket.continues,
          unanswered: s.ticket.unanswered,
        }
      : null,
    officer: s.officer ? { id: s.officer.id, name: s.officer.name, since: iso(s.officer.since) } : null,
    since: iso(s.since),
    overtime: s.overtime,
    evaluation: s.evaluation ? { ticket: s.evaluation.ticket, openedAt: iso(s.evaluation.openedAt), closesAt: iso(s.evaluation.closesAt) } : null,
    pause: s.pause
      ? {
          reason: s.pause.reason,
          since: iso(s.pause.since),
          code: pauseView(s.pause.reason).code,
          label: pauseView(s.pause.reason).zh.slice(0, 16),
          limitAt: iso(s.pause.since + pauseLimitMs(s)),
          over: s.pause.over,
          afterService: s.pause.afterService,
        }
      : null,
    pauseAfter: s.pauseAfter ? { reason: s.pauseAfter.reason, since: iso(s.pauseAfter.since) } : null,
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
  // The no-show prompt and a pause past its limit ask someone to act now, like a service over its limit.
  if (s.mode === 'calling' && s.ticket?.unanswered) return 'fast'
  if (s.mode === 'paused' && s.pause?.over) return 'fast'
  if (s.mode === 'paused' || s.overtime === 'warning') return 'slow'
  return 'on'
}

/** Staffing figures for telemetry: the officer's time signed in, its paused part, and the current pause. */
export function staffingFigures(s: CounterState, mono: Millis): { staffedMs: number | null; shiftPausedMs: number | null; pauseMs: number | null } {
  return {
    staffedMs: s.officer ? Math.max(0, Math.round(mono - s.officer.sinceMono)) : null,
    shiftPausedMs: shiftPausedMs(s, mono),
    pauseMs: s.pause ? Math.max(0, Math.round(mono - s.pause.sinceMono)) : null,
  }
}

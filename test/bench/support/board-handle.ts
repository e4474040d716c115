/**
 * A simulated window as the central driver sees it, wherever it runs (in the
 * bench process, or in a hall worker behind IPC): it can be told which ticket
 * to look for on the display, and a person can press its keys.
 */
export interface BoardHandle {
  readonly hall: string
  readonly counter: string
  /**
   * Resolves with the time (epochNow) at which the display RAM first showed
   * `text`, lit; a display that changed to it at or after `notBefore` counts
   * even if the expectation arrives later.
   */
  expectDisplay(text: string, timeoutMs: number, notBefore?: number): Promise<number>
  /** Presses an evaluator key; resolves with the time (epochNow) the line went active. */
  press(score: 'satisfied' | 'neutral' | 'dissatisfied'): Promise<number>
  /** The window's mode as the runtime holds it, to recover a board after a lost step. */
  mode(): Promise<string | null>
}

/** Tickets the 7-segment display shows unambiguously (no 5, which reads as S too). */
export function ticketFor(n: number): string {
  const digits = (n % 900) + 100
  return `A${String(digits).replace(/5/g, '6')}`
}

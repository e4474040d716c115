/**
 * The delay before reconnect attempt n (from 0): between half and all of
 * min·2^n, capped at max ("equal jitter"). Never sooner than half the step,
 * so backing off still backs off; the randomness keeps a hall's boards (or a
 * province's hubs) from all coming back in the same second after an outage.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(Math.max(minMs, maxMs), minMs * 2 ** Math.min(Math.max(0, attempt), 30))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

export interface BackoffOptions {
  minMs: number
  maxMs: number
  /**
   * A connection that lasted this long starts the next outage from minMs
   * again; a shorter one (accepted, then dropped at once) keeps backing off.
   * 0: any connection resets.
   */
  stableMs?: number
  random?: () => number
  now?: () => number
}

/** Jittered exponential backoff for one reconnecting client. */
export class Backoff {
  private attempt = 0
  private upSince: number | null = null
  private readonly random: () => number
  private readonly now: () => number

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random
    this.now = opts.now ?? Date.now
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt
  }

  /** The delay before the next attempt; each call counts one attempt. */
  next(): number {
    return backoffDelay(this.attempt++, this.opts.minMs, this.opts.maxMs, this.random)
  }

  /** The connection is up. */
  connected(): void {
    this.upSince = this.now()
  }

  /** The connection is down: if it was up long enough, the next delay starts from minMs again. */
  disconnected(): void {
    if (this.upSince !== null && this.now() - this.upSince >= (this.opts.stableMs ?? 0)) this.attempt = 0
    this.upSince = null
  }

  reset(): void {
    this.attempt = 0
  }
}

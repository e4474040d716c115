import { randomBytes } from 'node:crypto'
import { CONTRACT_VERSION, type Envelope } from '../protocol/index.ts'

export interface Clock {
  now(): number
  /** Whether the wall clock is trustworthy (NTP synced); a Pi without RTC boots in 1970 or at its last shutdown. */
  synced(): boolean
  /**
   * A monotonic reading (ms, arbitrary origin) for durations, windows and
   * timeouts, which a step of the wall clock must not move; default
   * performance.now().
   */
  monotonic?(): number
}

export const systemClock: Clock = { now: () => Date.now(), synced: () => true, monotonic: () => performance.now() }

export function newBootId(): string {
  return randomBytes(6).toString('hex')
}

/**
 * Stamps every board message with the envelope of docs/architecture.md §3. Order comes from
 * seq (one counter per boot), never from ts: the wall clock may jump.
 */
export class EnvelopeStamper {
  private seq = 0

  constructor(
    private readonly counter: string,
    readonly boot: string,
    private readonly clock: Clock,
  ) {}

  next(): Envelope {
    const seq = this.seq++
    return { v: CONTRACT_VERSION, id: `${this.counter}-${this.boot}-${seq}`, boot: this.boot, seq, ts: new Date(this.clock.now()).toISOString(), synced: this.clock.synced() }
  }
}

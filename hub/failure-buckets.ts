/**
 * Token buckets of login failures, one per key (an address, an account). An attempt takes a token
 * before its password is checked and gives it back only if it did not fail, so parallel attempts
 * cannot all pass before the first failure is counted. A bucket that has filled up again holds
 * nothing worth keeping and is dropped; past `maxEntries` the least recently used go first.
 */

interface Level {
  tokens: number
  at: number
}

export interface BucketOptions {
  /** Tokens a full bucket holds: failures allowed in a burst. 0: every attempt is refused. */
  capacity: number
  /** One token back per this long. 0: the bucket never runs dry (the limit is off). */
  refillMs: number
  maxEntries: number
}

export type TakeResult = { ok: true } | { ok: false; retryInMs: number }

/** How often full buckets are looked for and dropped, at most. */
const SWEEP_EVERY_MS = 60_000

export class FailureBuckets {
  private readonly levels = new Map<string, Level>()
  private sweptAt: number

  constructor(
    private readonly opts: BucketOptions,
    private readonly now: () => number,
  ) {
    this.sweptAt = now()
  }

  /** Takes a token for an attempt; refused (with when the next one comes) when the bucket is empty. */
  take(key: string): TakeResult {
    if (this.opts.refillMs === 0) return { ok: true }
    const t = this.now()
    this.sweep(t)
    const l = this.level(key, t)
    if (l.tokens < 1) {
      const retryInMs = this.opts.capacity === 0 ? Number.POSITIVE_INFINITY : Math.ceil((1 - l.tokens) * this.opts.refillMs)
      this.store(key, l)
      return { ok: false, retryInMs }
    }
    l.tokens -= 1
    this.store(key, l)
    return { ok: true }
  }

  /** Gives back the token an attempt took, which did not fail (never more than the bucket holds). */
  giveBack(key: string): void {
    if (this.opts.refillMs === 0) return
    const t = this.now()
    const l = this.level(key, t)
    l.tokens = Math.min(this.opts.capacity, l.tokens + 1)
    if (l.tokens >= this.opts.capacity) this.levels.delete(key)
    else this.store(key, l)
  }

  /** Tokens left for a key now (a full bucket for one never seen). */
  tokens(key: string): number {
    return this.level(key, this.now()).tokens
  }

  get size(): number {
    return this.levels.size
  }

  private level(key: string, t: number): Level {
    const l = this.levels.get(key)
    if (!l) return { tokens: this.opts.capacity, at: t }
    return { tokens: Math.min(this.opts.capacity, l.tokens + (t - l.at) / this.opts.refillMs), at: t }
  }

  private store(key: string, l: Level): void {
    // Deleted and set again: the map's order then runs from least to most recently used.
    this.levels.delete(key)
    if (l.tokens >= this.opts.capacity) return
    this.levels.set(key, l)
    while (this.levels.size > this.opts.maxEntries) {
      const oldest = this.levels.keys().next().value
      if (oldest === undefined) break
      this.levels.delete(oldest)
    }
  }

  /** Drops the buckets that have filled up again: a table of every address that ever failed would only grow. */
  private sweep(t: number): void {
    if (t - this.sweptAt < SWEEP_EVERY_MS) return
    this.sweptAt = t
    for (const [key, l] of this.levels) {
      if (l.tokens + (t - l.at) / this.opts.refillMs >= this.opts.capacity) this.levels.delete(key)
    }
  }
}

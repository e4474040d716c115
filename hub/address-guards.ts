/**
 * Per-address protection of the listeners: how many connections one address
 * may hold and open (failed logins are hub/login-limiter.ts's). Keyed by the
 * remote address only, so one noisy device never slows another; boards behind
 * one NAT address share their allowance (documented in the operations guide).
 */

/** Maps kept per address are trimmed past this size, so a scan of many addresses cannot grow them without bound. */
const MAX_TRACKED = 10_000

export type GuardDecision = { ok: true } | { ok: false; reason: string }

/** "::ffff:10.0.0.5" and "10.0.0.5" are the same peer. */
export function normalizeAddress(addr: string | undefined): string {
  if (!addr) return 'unknown'
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr
}

interface Bucket {
  tokens: number
  at: number
}

export class ConnectionGuard {
  private readonly open = new Map<string, number>()
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    private readonly opts: { maxPerAddress: number; burst: number; perSecond: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Call for every accepted socket; on ok, call release() when it closes. */
  admit(addr: string): GuardDecision {
    const open = this.open.get(addr) ?? 0
    if (open >= this.opts.maxPerAddress) return { ok: false, reason: `${open} connections already open from this address (cap ${this.opts.maxPerAddress})` }
    const t = this.now()
    const b = this.buckets.get(addr) ?? { tokens: this.opts.burst, at: t }
    b.tokens = Math.min(this.opts.burst, b.tokens + ((t - b.at) / 1000) * this.opts.perSecond)
    b.at = t
    if (b.tokens < 1) {
      this.buckets.set(addr, b)
      return { ok: false, reason: `connecting faster than ${this.opts.perSecond}/s after a burst of ${this.opts.burst}` }
    }
    b.tokens -= 1
    this.buckets.delete(addr) // re-insert: Map order then runs from least to most recently used
    this.buckets.set(addr, b)
    trim(this.buckets)
    this.open.set(addr, open + 1)
    return { ok: true }
  }

  release(addr: string): void {
    const n = (this.open.get(addr) ?? 1) - 1
    if (n <= 0) this.open.delete(addr)
    else this.open.set(addr, n)
  }

  openFrom(addr: string): number {
    return this.open.get(addr) ?? 0
  }
}

function trim<V>(map: Map<string, V>): void {
  while (map.size > MAX_TRACKED) {
    const oldest = map.keys().next().value
    if (oldest === undefined) return
    map.delete(oldest)
  }
}

import type { Redis } from 'ioredis'
import type { Logger } from '../edge/shared/logger.ts'
import type { HallTotals, HallTotalsSnapshot } from './hall-totals.ts'

/** What /metrics shows of this node's view of its cluster, from live probes (never from a retained message). */
export interface ClusterSample {
  redisUp: boolean
  /** Round trip of the last PING that was answered in time; null while Redis is away. */
  redisLatencyMs: number | null
  /** Whether this node holds the bridge lease now. */
  leaseHeld: boolean
  /** Who holds it, as last read from Redis (a node's broker id); null when nobody does or Redis is away. */
  leaseHolder: string | null
  totals: HallTotalsSnapshot | null
  /** Hall-total increments this node still has to write (Redis away). */
  totalsUnwritten: number
}

export interface ClusterHealthOptions {
  redis: Redis
  /** The lease key under the hall's prefix (the same connection's keyPrefix applies). */
  leaseKey: string
  leaseHeld: () => boolean
  totals: HallTotals
  log: Logger
  probeMs?: number
  /** A PING not answered within this long counts as Redis away. */
  timeoutMs?: number
}

/**
 * Probes the hall's Redis every second: PING (reachable, latency), the lease
 * holder and the hall totals. A command to a Redis that is gone waits in
 * ioredis's queue rather than failing, so a probe that does not answer in time
 * says "away" at once, while the outage lasts, and not only when it fails.
 */
export class ClusterHealth {
  private timer: NodeJS.Timeout | null = null
  private probing = false
  private up = false
  private latency: number | null = null
  private holder: string | null = null
  private readonly listeners = new Set<(up: boolean) => void>()

  constructor(private readonly opts: ClusterHealthOptions) {}

  async start(): Promise<void> {
    await this.probe()
    this.timer = setInterval(() => void this.probe(), this.opts.probeMs ?? 1_000)
    this.timer.unref()
  }

  /** Whether Redis answered the last probe in time and the connection is up now. */
  get redisUp(): boolean {
    return this.up && this.opts.redis.status === 'ready'
  }

  /** Told when Redis goes away or comes back. */
  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get sample(): ClusterSample {
    const up = this.redisUp
    return {
      redisUp: up,
      redisLatencyMs: up ? this.latency : null,
      leaseHeld: this.opts.leaseHeld(),
      leaseHolder: up ? this.holder : null,
      totals: this.opts.totals.snapshot,
      totalsUnwritten: this.opts.totals.unwritten,
    }
  }

  private async probe(): Promise<void> {
    if (this.probing) return
    this.probing = true
    const { redis } = this.opts
    const t0 = performance.now()
    let timer: NodeJS.Timeout | undefined
    try {
      if (redis.status !== 'ready') throw new Error(`connection ${redis.status}`)
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer in time')), this.opts.timeoutMs ?? 1_000)
      })
      // An answer after the deadline is dropped, not left as an unhandled rejection.
      const late = <T>(p: Promise<T>) => (p.catch(() => {}), p)
      await Promise.race([late(redis.ping()), timeout])
      this.latency = performance.now() - t0
      const [holder] = await Promise.race([late(Promise.all([redis.get(this.opts.leaseKey), this.opts.totals.read()])), timeout])
      this.holder = holder
      this.set(true)
      this.opts.totals.flush()
    } catch (err) {
      if (this.up) this.opts.log.warn({ err: (err as Error).message }, 'Redis 不可达 / Redis unreachable')
      this.set(false)
    } finally {
      clearTimeout(timer)
      this.probing = false
    }
  }

  private set(up: boolean): void {
    if (up === this.up) return
    if (up) this.opts.log.info({ latencyMs: this.latency }, 'Redis 已恢复 / Redis reachable again')
    this.up = up
    for (const l of this.listeners) l(up)
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.listeners.clear()
  }
}

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
  /** This node's broker id, and its name in the cluster. */
  self: { id: string; node: string | null }
  /** The live nodes as each last wrote itself into Redis (this one from its own probe); empty while Redis is away. */
  nodes: NodeEntry[]
}

/** What a node writes of itself into Redis every probe; it lapses when the node stops writing (gone, or cut off from Redis). */
export interface NodeEntry {
  id: string
  node: string | null
  /** Boards with a session at that node. */
  boards: number
  /** That node's own last PING round trip to Redis. */
  redisLatencyMs: number | null
  leaseHeld: boolean
}

export interface ClusterHealthOptions {
  redis: Redis
  /** The lease key under the hall's prefix (the same connection's keyPrefix applies). */
  leaseKey: string
  leaseHeld: () => boolean
  /** This node's broker id and name, and how many boards it holds now: written into Redis for the other nodes. */
  self: { id: string; node: string | null; boards: () => number }
  totals: HallTotals
  log: Logger
  probeMs?: number
  /** A PING not answered within this long counts as Redis away. */
  timeoutMs?: number
}

/** A node's entry lapses after this long without a write (three probes): a dead node counts this long. */
export const NODE_ENTRY_LAPSE_MS = 3_000

/** Under the hall's prefix: the set of node ids, and each node's entry. */
const NODE_INDEX = 'nodes'
const NODE_KEY = 'node:'

function parseEntry(text: string): NodeEntry | null {
  try {
    const e = JSON.parse(text) as Partial<NodeEntry>
    if (typeof e.id !== 'string' || typeof e.boards !== 'number') return null
    return { id: e.id, node: typeof e.node === 'string' ? e.node : null, boards: e.boards, redisLatencyMs: typeof e.redisLatencyMs === 'number' ? e.redisLatencyMs : null, leaseHeld: e.leaseHeld === true }
  } catch {
    return null
  }
}

/**
 * Probes the hall's Redis every second: PING (reachable, latency), the lease
 * holder, the hall totals and the nodes' entries (boards per node, for the
 * dashboard and hub/board-rebalancer.ts). A command to a Redis that is gone waits in
 * ioredis's queue rather than failing, so a probe that does not answer in time
 * says "away" at once, while the outage lasts, and not only when it fails.
 */
export class ClusterHealth {
  private timer: NodeJS.Timeout | null = null
  private probing = false
  private up = false
  private latency: number | null = null
  private holder: string | null = null
  private nodes: NodeEntry[] = []
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

  /** The other live nodes' entries (from the last probe); null while Redis is away, when nothing is known of them. */
  others(): NodeEntry[] | null {
    return this.redisUp ? this.nodes.filter((n) => n.id !== this.opts.self.id) : null
  }

  get sample(): ClusterSample {
    const up = this.redisUp
    const self = this.opts.self
    const mine: NodeEntry = { id: self.id, node: self.node, boards: self.boards(), redisLatencyMs: up ? this.latency : null, leaseHeld: this.opts.leaseHeld() }
    return {
      self: { id: self.id, node: self.node },
      nodes: up ? [mine, ...this.nodes.filter((n) => n.id !== self.id)].sort((a, b) => String(a.node ?? a.id).localeCompare(String(b.node ?? b.id))) : [],
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
      this.nodes = await Promise.race([late(this.exchangeEntries()), timeout])
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

  /**
   * Writes this node's entry (expiring after three probes, so a node that stops writing drops out
   * whatever the clocks say) and reads every live node's; entries that lapsed leave the index.
   */
  private async exchangeEntries(): Promise<NodeEntry[]> {
    const { redis, self } = this.opts
    const ttl = Math.max(NODE_ENTRY_LAPSE_MS, 3 * (this.opts.probeMs ?? 1_000))
    const entry: NodeEntry = { id: self.id, node: self.node, boards: self.boards(), redisLatencyMs: this.latency, leaseHeld: this.opts.leaseHeld() }
    await redis.multi().set(`${NODE_KEY}${self.id}`, JSON.stringify(entry), 'PX', ttl).sadd(NODE_INDEX, self.id).exec()
    const ids = await redis.smembers(NODE_INDEX)
    if (ids.length === 0) return []
    const values = await redis.mget(ids.map((id) => `${NODE_KEY}${id}`))
    const live: NodeEntry[] = []
    const gone: string[] = []
    ids.forEach((id, i) => {
      const v = values[i]
      const e = v ? parseEntry(v) : null
      if (e) live.push(e)
      else gone.push(id)
    })
    if (gone.length > 0) await redis.srem(NODE_INDEX, ...gone)
    return live
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

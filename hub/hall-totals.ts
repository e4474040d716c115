import type { Aedes, AedesPublishPacket } from 'aedes'
import type { Redis } from 'ioredis'
import { lastLevel, parseMessage, topics, type BoardEvent } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'

/** The hash of a hall's totals and the prefix of its seen-event keys (under the hall's key prefix). */
const TOTALS = 'totals'
const SEEN = 'totals:seen:'
/** How long an event id is remembered: a board's journal replays within minutes, not days. */
const SEEN_SECONDS = 2 * 24 * 3600
/** Increments not yet written (Redis away) kept at most; past it the oldest are dropped and counted. */
const MAX_PENDING = 20_000

/** Counts an event once however many nodes see it, and however often its board resends it. */
const COUNT_ONCE = `if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return redis.call('HINCRBY', KEYS[2], ARGV[1], 1) end return 0`

export interface HallTotalsSnapshot {
  /** counter → score → ratings */
  ratings: Record<string, Record<string, number>>
  /** counter → outcome → services finished */
  served: Record<string, Record<string, number>>
}

/**
 * A hall cluster's ratings and services, kept in Redis so a total survives a
 * node's restart and a failover (a node's own ServiceStats starts from zero).
 * Every node counts every event it sees (the message bus gives each node the
 * hall's events): counted once by event id in Redis, so two nodes, or a
 * journal replay, never count one rating twice, and a node that could not
 * write while Redis was away is covered by the other or by its own retry.
 */
export class HallTotals {
  private pending: Array<{ id: string; field: string }> = []
  private flushing = false
  private last: HallTotalsSnapshot | null = null
  dropped = 0
  private readonly filter: string
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    this.take(packet.topic, packet.payload)
    done()
  }

  constructor(private readonly opts: { hall: string; aedes: Aedes; redis: Redis; log: Logger }) {
    this.filter = topics.hallEvents(opts.hall)
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.opts.aedes.subscribe(this.filter, this.deliver, () => r()))
    await this.read().catch(() => {})
  }

  /** The totals as last read from Redis; null until one read succeeded. */
  get snapshot(): HallTotalsSnapshot | null {
    return this.last
  }

  get unwritten(): number {
    return this.pending.length
  }

  private take(topic: string, payload: Uint8Array | string): void {
    // Only ratings and finished services count: the others are passed over before any parse.
    const leaf = lastLevel(topic)
    if (leaf !== 'evaluated' && leaf !== 'service-finished' && leaf !== 'service-transferred') return
    const m = parseMessage(topic, payload)
    if (!m.ok || m.topic.kind !== 'event') return
    const e = m.message as BoardEvent
    const counter = m.topic.counter
    // A transfer ends the window's part of the service, as finish {"outcome": "transferred"} does (hub/dashboard/service-stats.ts).
    const field =
      e.type === 'evaluated' ? `ratings|${counter}|${e.score}` : e.type === 'service-finished' ? `served|${counter}|${e.outcome}` : e.type === 'service-transferred' ? `served|${counter}|transferred` : null
    if (!field) return
    this.pending.push({ id: `${counter}:${e.id}`, field })
    if (this.pending.length > MAX_PENDING) this.dropped += this.pending.splice(0, this.pending.length - MAX_PENDING).length
    this.flush()
  }

  /** Writes what is pending, in order; what fails stays for the next flush (the health probe calls it every tick). */
  flush(): void {
    if (this.flushing || this.pending.length === 0) return
    this.flushing = true
    const batch = this.pending.slice(0, 500)
    const p = this.opts.redis.pipeline()
    for (const b of batch) p.eval(COUNT_ONCE, 2, `${SEEN}${b.id}`, TOTALS, b.field, SEEN_SECONDS)
    p.exec()
      .then((results) => {
        // Written ones leave; the first failure and what follows stay, in order.
        const failed = (results ?? []).findIndex(([err]) => err)
        const done = failed < 0 ? batch.length : failed
        this.pending.splice(0, done)
        if (failed >= 0) throw results![failed]![0]
      })
      .then(
        () => {
          this.flushing = false
          this.flush()
        },
        (err: Error) => {
          this.flushing = false
          this.opts.log.debug({ err: err.message, pending: this.pending.length }, 'hall totals not written yet; retried on the next probe')
        },
      )
  }

  /** Reads the totals from Redis into the snapshot the metrics show. */
  async read(): Promise<void> {
    const all = await this.opts.redis.hgetall(TOTALS)
    const snap: HallTotalsSnapshot = { ratings: {}, served: {} }
    for (const [field, value] of Object.entries(all)) {
      const [kind, counter, key] = field.split('|')
      if ((kind !== 'ratings' && kind !== 'served') || !counter || !key) continue
      ;(snap[kind][counter] ??= {})[key] = Number(value)
    }
    this.last = snap
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.opts.aedes.unsubscribe(this.filter, this.deliver, () => r()))
  }
}

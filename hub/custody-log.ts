import type { Logger } from '../edge/shared/logger.ts'
import { GroupCommit } from '../edge/shared/group-commit.ts'
import type { CustodyRecord, CustodyStore } from './custody-store.ts'

export type { CustodyRecord } from './custody-store.ts'

/**
 * What the uplink and the bridge need of a custody log: the hub's own
 * (CustodyLog, on its data directory) or a hall cluster's shared one in Redis
 * (RedisCustodyLog). Seqs rise in the order messages were taken into custody.
 */
export interface Custody {
  /** Messages in custody that central has not acknowledged (may lag a little for a shared log). */
  readonly size: number
  /** Resolves with the record's seq once it is durable; rejects if it could not be written. */
  append(m: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean }): Promise<number>
  /** Durable records with seq > after, in seq order, at most limit. */
  next(after: number, limit: number): Promise<CustodyRecord[]>
  /** Central acknowledged this record: it leaves custody. */
  ack(seq: number): void
  /** Called when records were added (by this process or, for a shared log, by any node). */
  onAppended(listener: () => void): () => void
}

export interface CustodyLogOptions {
  store: CustodyStore
  log: Logger
  /** Records kept in memory for the bridge, newest first to stay; older ones are read back from the store. */
  cacheLimit?: number
  /** Most records in one write; a larger burst is split over consecutive writes. */
  maxBatch?: number
  /** How long acknowledged records may wait to be deleted together with others. */
  deleteDelayMs?: number
}

/**
 * The hub's custody log (docs/architecture.md §4 step 2): a board message is appended
 * here, durably, before the hub acknowledges it, and leaves only when central
 * has acknowledged it. Appends are group-committed: every append that arrives
 * while a write is in progress goes into the next write, so a hall's worth of
 * publishes costs one fsync rather than one each. Deletes need no fsync: one
 * lost in a crash only means central gets that message again, and consumers
 * drop duplicates by id.
 */
export class CustodyLog implements Custody {
  private nextSeq = 1
  private count = 0
  private deletes: number[] = []
  /**
   * setImmediate, not a microtask: the rest of the socket chunk Aedes is
   * parsing joins this write. Deletes ride along with each write; request()
   * writes them alone.
   */
  private readonly commits: GroupCommit<CustodyRecord, number>
  private deleteTimer: NodeJS.Timeout | null = null
  private closed = false
  /**
   * Durable, unacknowledged records with seq >= cacheFrom are all here. Looked up by seq, never
   * iterated: a Map keeps the holes its deletions leave until it rehashes, so taking its oldest key
   * walked over every record acknowledged since, once per record trimmed (a tenth of the hub's CPU
   * while the bridge lagged behind the boards, docs/benchmarks.md).
   */
  private readonly cache = new Map<number, CustodyRecord>()
  private cacheFrom = 1
  /** The highest seq written to the cache (seqs are written in order: one group commit at a time). */
  private cachedTo = 0
  private readonly listeners = new Set<() => void>()
  private readonly cacheLimit: number
  private readonly maxBatch: number

  constructor(private readonly opts: CustodyLogOptions) {
    this.cacheLimit = opts.cacheLimit ?? 10_000
    this.maxBatch = opts.maxBatch ?? 2_000
    this.commits = new GroupCommit({ write: (batch) => this.write(batch), schedule: (run) => setImmediate(run), maxBatch: this.maxBatch })
  }

  async start(): Promise<void> {
    await this.opts.store.open()
    const { count, lastSeq } = await this.opts.store.scan()
    this.count = count
    this.nextSeq = lastSeq + 1
    this.cacheFrom = this.nextSeq
    if (count > 0) this.opts.log.info({ backlog: count }, 'custody log reopened with messages central has not acknowledged')
  }

  /** Messages in custody that central has not acknowledged. */
  get size(): number {
    return this.count
  }

  /** Resolves with the record's seq once it is durable; rejects if it could not be written. */
  append(m: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean }): Promise<number> {
    if (this.closed) return Promise.reject(new Error('custody log is closed'))
    return this.commits.append({ seq: this.nextSeq++, topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, at: Date.now() })
  }

  /** Durable records with seq > after, in order: from memory when it has them, else from the store. */
  async next(after: number, limit: number): Promise<CustodyRecord[]> {
    if (after + 1 >= this.cacheFrom) {
      const out: CustodyRecord[] = []
      for (let seq = Math.max(after + 1, this.cacheFrom); seq <= this.cachedTo && out.length < limit; seq++) {
        const r = this.cache.get(seq)
        if (r) out.push(r)
      }
      return out
    }
    return this.opts.store.read(after, limit)
  }

  /** Central acknowledged this record: it leaves custody. Call once per record. */
  ack(seq: number): void {
    this.cache.delete(seq)
    this.count = Math.max(0, this.count - 1)
    this.deletes.push(seq)
    this.scheduleDeletes()
  }

  private scheduleDeletes(): void {
    if (this.deleteTimer || this.closed) return
    this.deleteTimer = setTimeout(() => {
      this.deleteTimer = null
      this.commits.request()
    }, this.opts.deleteDelayMs ?? 50)
  }

  /** Called after each write that added records, so the bridge can send them. */
  onAppended(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** One group of appends, with the deletes gathered since the last write, as one store batch. */
  private async write(batch: CustodyRecord[]): Promise<number[]> {
    const dels = this.deletes.splice(0)
    if (batch.length === 0 && dels.length === 0) return []
    try {
      await this.opts.store.write(batch, dels, batch.length > 0)
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      this.opts.log.error({ err: e.message, records: batch.length }, 'custody log write failed; those messages are not acknowledged')
      // Kept for the next write; once closed there is none, and central will just see those again.
      if (!this.closed) this.deletes.unshift(...dels)
      throw e
    } finally {
      this.afterWrite()
    }
    for (const r of batch) this.cache.set(r.seq, r)
    if (batch.length > 0) this.cachedTo = batch[batch.length - 1]!.seq
    this.count += batch.length
    this.trimCache()
    if (batch.length > 0) for (const l of this.listeners) l()
    return batch.map((r) => r.seq)
  }

  /** Deletes left over: written by the next group if one waits, else after the delete delay, or at once when closing. */
  private afterWrite(): void {
    if (this.deletes.length === 0 || this.commits.pending > 0) return
    if (this.closed) this.commits.request()
    else this.scheduleDeletes()
  }

  private trimCache(): void {
    // Seqs below the oldest cached one are acknowledged or were never written: deleting them is a no-op.
    while (this.cache.size > this.cacheLimit && this.cacheFrom <= this.cachedTo) this.cache.delete(this.cacheFrom++)
  }

  /** Writes what is pending (appends and deletes), then closes the store. */
  async stop(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.deleteTimer) clearTimeout(this.deleteTimer)
    this.deleteTimer = null
    this.listeners.clear()
    this.commits.request()
    await this.commits.idle()
    await this.opts.store.close()
  }
}

import type { Redis } from 'ioredis'
import type { Logger } from '../edge/shared/logger.ts'
import { GroupCommit } from '../edge/shared/group-commit.ts'
import type { Custody } from './custody-log.ts'
import { decodeRecord, encodeRecord, type CustodyRecord } from './custody-store.ts'

export interface RedisCustodyOptions {
  /** Commands (appends, reads, deletes); its keyPrefix scopes the keys to the hall. */
  redis: Redis
  /** A second connection in subscriber mode, for the appended notices of every node. */
  subscriber: Redis
  /** Pub/sub channel of the hall's append notices (channels are not key-prefixed). */
  channel: string
  log: Logger
  /** Why appends may not be acknowledged now (a Redis not yet checked, or not durable, since a reconnect); null: they may. */
  refusal?: () => string | null
  /**
   * Replicas that must hold an append before it counts as durable (Redis WAIT).
   * 0: durable as Redis's own persistence makes it (run it with appendfsync always).
   */
  minReplicas?: number
  waitTimeoutMs?: number
  /** Most records in one append script; a larger burst goes in consecutive ones. */
  maxBatch?: number
  deleteDelayMs?: number
  /** How often the backlog count is refreshed and a lost notice made up for. */
  pollMs?: number
}

// The stream holds the records, with ids "<seq>-0"; the counter hands out seqs. Both under the hall's prefix.
const STREAM = 'custody'
const SEQ = 'custody:seq'

/**
 * Appends a batch atomically: seqs are taken from the counter and the records
 * added in the same script, so no reader can see seq n+1 before seq n. If the
 * counter was lost, it restarts after the stream's last id.
 */
const APPEND = `
local n = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      redis.call('SET', KEYS[2], string.match(info[i + 1], '^(%d+)'))
    end
  end
end
local last = redis.call('INCRBY', KEYS[2], n)
local first = last - n + 1
for i = 1, n do
  redis.call('XADD', KEYS[1], (first + i - 1) .. '-0', 'r', ARGV[i + 2])
end
redis.call('PUBLISH', ARGV[2], last)
return { first, redis.call('XLEN', KEYS[1]) }
`

/**
 * A hall cluster's custody log, shared by its hub nodes in one Redis stream:
 * every node appends what its boards publish (before the PUBACK, as the
 * single hub does with LevelDB), and only the node holding the bridge lease
 * reads and deletes. A node that dies takes nothing with it: what it
 * acknowledged is in Redis, and the next bridge drains it.
 *
 * Appends are group-committed like CustodyLog's: one script per batch, one
 * round trip. Every append publishes a notice on the hall's channel, so the
 * bridge on another node learns of it at once; a periodic poll makes up for
 * a notice lost while the subscriber reconnected.
 */
export class RedisCustodyLog implements Custody {
  private deletes: number[] = []
  /** setImmediate: the rest of the socket chunk Aedes is parsing joins this batch. Deletes ride along; request() writes them alone. */
  private readonly commits: GroupCommit<Buffer, number>
  private deleteTimer: NodeJS.Timeout | null = null
  private pollTimer: NodeJS.Timeout | null = null
  private closed = false
  private count = 0
  private lastSeq = 0
  private readonly listeners = new Set<() => void>()
  private readonly onNotice = (channel: string, message: string) => {
    if (channel !== this.opts.channel) return
    const last = Number(message)
    if (last > this.lastSeq) this.lastSeq = last
    this.notify()
  }

  constructor(private readonly opts: RedisCustodyOptions) {
    this.commits = new GroupCommit({ write: (batch) => this.write(batch), schedule: (run) => setImmediate(run), maxBatch: opts.maxBatch ?? 1_000 })
  }

  async start(): Promise<void> {
    const { subscriber, channel } = this.opts
    subscriber.on('message', this.onNotice)
    await subscriber.subscribe(channel)
    await this.refresh()
    if (this.count > 0) this.opts.log.info({ backlog: this.count }, 'shared custody log holds messages central has not acknowledged')
    let failing = false
    this.pollTimer = setInterval(() => {
      const before = this.lastSeq
      this.refresh().then(
        () => {
          if (failing) this.opts.log.info('shared custody log readable again')
          failing = false
          if (this.lastSeq > before) this.notify()
        },
        (err: Error) => {
          // Once per outage, not once a second.
          if (!failing) this.opts.log.warn({ err: err.message }, 'could not read the shared custody log size')
          failing = true
        },
      )
    }, this.opts.pollMs ?? 1_000)
    this.pollTimer.unref()
  }

  private async refresh(): Promise<void> {
    const [len, seq] = await Promise.all([this.opts.redis.xlen(STREAM), this.opts.redis.get(SEQ)])
    this.count = len
    this.lastSeq = Math.max(this.lastSeq, Number(seq ?? 0))
  }

  get size(): number {
    return this.count
  }

  append(m: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean }): Promise<number> {
    if (this.closed) return Promise.reject(new Error('custody log is closed'))
    // seq is given by Redis; the encoding does not carry it.
    return this.commits.append(encodeRecord({ seq: 0, topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, at: Date.now() }))
  }

  async next(after: number, limit: number): Promise<CustodyRecord[]> {
    const rows = await this.opts.redis.xrangeBuffer(STREAM, `(${Math.max(0, after)}-0`, '+', 'COUNT', limit)
    return rows.map(([id, fields]) => {
      const seq = parseInt(id.toString('latin1'), 10)
      return decodeRecord(seq, fields[1] as Buffer)
    })
  }

  ack(seq: number): void {
    this.count = Math.max(0, this.count - 1)
    this.deletes.push(seq)
    if (this.deleteTimer || this.closed) return
    this.deleteTimer = setTimeout(() => {
      this.deleteTimer = null
      this.commits.request()
    }, this.opts.deleteDelayMs ?? 50)
  }

  onAppended(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private notify(): void {
    for (const l of this.listeners) l()
  }

  /** One group of appends in one script (and one WAIT), after the deletes gathered since the last write. */
  private async write(batch: Buffer[]): Promise<number[]> {
    const dels = this.deletes.splice(0)
    try {
      const { redis } = this.opts
      if (dels.length > 0) {
        // A delete lost here only means central gets that message again (dedup by id).
        await redis.xdel(STREAM, ...dels.map((s) => `${s}-0`)).catch((err: Error) => {
          this.opts.log.warn({ err: err.message, records: dels.length }, 'could not delete acknowledged records from the shared custody log')
          if (!this.closed) this.deletes.unshift(...dels)
        })
      }
      if (batch.length === 0) return []
      const refused = this.opts.refusal?.()
      if (refused) throw new Error(refused)
      const [first, len] = (await redis.eval(APPEND, 2, STREAM, SEQ, batch.length, this.opts.channel, ...batch)) as [number, number]
      const min = this.opts.minReplicas ?? 0
      if (min > 0) {
        const acked = await redis.wait(min, this.opts.waitTimeoutMs ?? 1_000)
        // The records are in the log and will reach central; the boards just resend them (dedup by id).
        if (acked < min) throw new Error(`only ${acked} of ${min} Redis replicas confirmed the custody write`)
      }
      this.count = len
      this.lastSeq = Math.max(this.lastSeq, first + batch.length - 1)
      return batch.map((_, i) => first + i)
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      this.opts.log.error({ err: e.message, records: batch.length }, 'shared custody log write failed; those messages are not acknowledged')
      throw e
    } finally {
      // Once closed, deletes acknowledged since are written straight after, not after the delay.
      if (this.closed && this.deletes.length > 0 && this.commits.pending === 0) this.commits.request()
    }
  }

  /** Writes what is pending; the connections are their owner's to close. */
  async stop(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.deleteTimer) clearTimeout(this.deleteTimer)
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.listeners.clear()
    this.commits.request()
    await this.commits.idle()
    this.opts.subscriber.off('message', this.onNotice)
    await this.opts.subscriber.unsubscribe(this.opts.channel).catch(() => {})
  }
}

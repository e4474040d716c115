import { mkdir } from 'node:fs/promises'
import { Level } from 'level'

/** One message in custody: what the bridge must deliver to central, in seq order. */
export interface CustodyRecord {
  /** From 1, monotonic across restarts: the log's order is the order the hub acknowledged messages. */
  seq: number
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** When the hub took custody (ms since the epoch). */
  at: number
}

/** Where the custody log keeps its records. */
export interface CustodyStore {
  open(): Promise<void>
  /** Writes puts and deletes as one atomic batch; with sync, durable on disk when it resolves. */
  write(puts: readonly CustodyRecord[], dels: readonly number[], sync: boolean): Promise<void>
  /** Records with seq > after, in seq order, at most limit. */
  read(after: number, limit: number): Promise<CustodyRecord[]>
  /** How many records there are, and the highest seq (0 when empty; seqs start at 1). */
  scan(): Promise<{ count: number; lastSeq: number }>
  close(): Promise<void>
}

// Fixed-width hex keys sort like the numbers they encode; 14 digits outlast any hall.
const KEY_PREFIX = 'r!'
const keyOf = (seq: number) => KEY_PREFIX + seq.toString(16).padStart(14, '0')
const seqOf = (key: string) => parseInt(key.slice(KEY_PREFIX.length), 16)
const RANGE_END = 'r"' // the byte after '!': bounds a range to the record keys

const FORMAT = 1

/** [format 1][flags 1][at f64][topic length u16][topic][payload]: no JSON round trip of the payload. */
export function encodeRecord(r: CustodyRecord): Buffer {
  const topic = Buffer.from(r.topic, 'utf8')
  const head = Buffer.allocUnsafe(12)
  head.writeUInt8(FORMAT, 0)
  head.writeUInt8((r.qos & 3) | (r.retain ? 4 : 0), 1)
  head.writeDoubleBE(r.at, 2)
  head.writeUInt16BE(topic.length, 10)
  return Buffer.concat([head, topic, r.payload])
}

export function decodeRecord(seq: number, b: Buffer): CustodyRecord {
  if (b.length < 12 || b.readUInt8(0) !== FORMAT) throw new Error(`custody record ${seq} has an unknown format`)
  const flags = b.readUInt8(1)
  const topicLen = b.readUInt16BE(10)
  return {
    seq,
    qos: (flags & 3) as 0 | 1 | 2,
    retain: (flags & 4) !== 0,
    at: b.readDoubleBE(2),
    topic: b.subarray(12, 12 + topicLen).toString('utf8'),
    payload: Buffer.from(b.subarray(12 + topicLen)),
  }
}

/**
 * LevelDB in the hub's data directory; sync batches are fsynced before they resolve.
 *
 * After a failed write (a full disk: ENOSPC) LevelDB's log writer carries on
 * past the torn record as if it were whole: later writes succeed, but the
 * next open stops reading the log at the tear and drops all of them, though
 * the hub acknowledged them. So after any failed write the store reopens
 * LevelDB (which recovers the log up to the tear and starts a new one) before
 * it writes again, and writes nothing while the reopen fails.
 */
export class LevelCustodyStore implements CustodyStore {
  private readonly db: Level<string, Buffer>
  private suspect = false
  private reopening: Promise<void> | null = null

  constructor(private readonly dir: string) {
    this.db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' })
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await this.db.open()
  }

  /** Reopens after a failed write; one reopen at a time, retried by the next write while it fails. */
  private recover(): Promise<void> {
    if (!this.suspect) return Promise.resolve()
    this.reopening ??= (async () => {
      try {
        if (this.db.status === 'open') await this.db.close()
        await this.db.open()
        this.suspect = false
      } finally {
        this.reopening = null
      }
    })()
    return this.reopening
  }

  async write(puts: readonly CustodyRecord[], dels: readonly number[], sync: boolean): Promise<void> {
    await this.recover()
    const ops: Array<{ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }> = []
    for (const seq of dels) ops.push({ type: 'del', key: keyOf(seq) })
    for (const r of puts) ops.push({ type: 'put', key: keyOf(r.seq), value: encodeRecord(r) })
    try {
      await this.db.batch(ops, { sync })
    } catch (err) {
      this.suspect = true
      throw err
    }
  }

  async read(after: number, limit: number): Promise<CustodyRecord[]> {
    await this.recover()
    const out: CustodyRecord[] = []
    for await (const [key, value] of this.db.iterator({ gt: keyOf(Math.max(0, after)), lt: RANGE_END, limit })) {
      out.push(decodeRecord(seqOf(key), value))
    }
    return out
  }

  async scan(): Promise<{ count: number; lastSeq: number }> {
    let count = 0
    let lastSeq = 0
    for await (const key of this.db.keys({ gte: KEY_PREFIX, lt: RANGE_END })) {
      count++
      lastSeq = seqOf(key)
    }
    return { count, lastSeq }
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}

/** For tests and hubs without a data directory: the same log semantics, gone with the process. */
export class MemoryCustodyStore implements CustodyStore {
  private readonly records = new Map<number, CustodyRecord>()

  async open(): Promise<void> {}

  async write(puts: readonly CustodyRecord[], dels: readonly number[], _sync?: boolean): Promise<void> {
    for (const seq of dels) this.records.delete(seq)
    for (const r of puts) this.records.set(r.seq, r)
  }

  async read(after: number, limit: number): Promise<CustodyRecord[]> {
    const out: CustodyRecord[] = []
    for (const [seq, r] of this.records) {
      if (seq <= after) continue
      out.push(r)
      if (out.length >= limit) break
    }
    return out
  }

  async scan(): Promise<{ count: number; lastSeq: number }> {
    let lastSeq = 0
    for (const seq of this.records.keys()) lastSeq = Math.max(lastSeq, seq)
    return { count: this.records.size, lastSeq }
  }

  async close(): Promise<void> {}
}

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
const hex = (seq: number) => seq.toString(16).padStart(14, '0')
/** One record per key: how hubs before the group format wrote custody; still read, acknowledged and deleted. */
const RECORD_PREFIX = 'r!'
const RECORD_END = 'r"' // the byte after '!': bounds a range to the record keys
const keyOf = (seq: number) => RECORD_PREFIX + hex(seq)
const seqOf = (key: string) => parseInt(key.slice(RECORD_PREFIX.length), 16)
/** One group commit per key, `g!<first seq><last seq>`: its records' seqs run from first to last without a gap. */
const GROUP_PREFIX = 'g!'
const GROUP_END = 'g"'
const groupKey = (first: number, last: number) => GROUP_PREFIX + hex(first) + hex(last)
const groupRange = (key: string) => ({ first: parseInt(key.slice(2, 16), 16), last: parseInt(key.slice(16, 30), 16) })
/** Beside a group some of whose records are acknowledged: which, as a bitmap from its first seq. */
const ACKED_PREFIX = 'a!'
const ACKED_END = 'a"'
const ackedKey = (g: { first: number; last: number }) => ACKED_PREFIX + hex(g.first) + hex(g.last)

function ackedBitmap(g: { first: number; last: number }, acked: ReadonlySet<number>): Buffer {
  const b = Buffer.alloc(Math.ceil((g.last - g.first + 1) / 8))
  for (const s of acked) b[(s - g.first) >> 3]! |= 1 << ((s - g.first) & 7)
  return b
}

function ackedFromBitmap(g: { first: number; last: number }, b: Buffer): Set<number> {
  const out = new Set<number>()
  for (let s = g.first; s <= g.last; s++) if ((b[(s - g.first) >> 3] ?? 0) & (1 << ((s - g.first) & 7))) out.add(s)
  return out
}

const FORMAT = 1
const GROUP_FORMAT = 2
const HEAD = 12

/** [format 1][flags 1][at f64][topic length u16][topic][payload]: no JSON round trip of the payload. */
export function encodeRecord(r: CustodyRecord): Buffer {
  const topic = Buffer.from(r.topic, 'utf8')
  const head = Buffer.allocUnsafe(HEAD)
  writeHead(head, 0, r, topic.length)
  return Buffer.concat([head, topic, r.payload])
}

function writeHead(b: Buffer, at: number, r: CustodyRecord, topicLength: number): void {
  b.writeUInt8(FORMAT, at)
  b.writeUInt8((r.qos & 3) | (r.retain ? 4 : 0), at + 1)
  b.writeDoubleBE(r.at, at + 2)
  b.writeUInt16BE(topicLength, at + 10)
}

export function decodeRecord(seq: number, b: Buffer): CustodyRecord {
  if (b.length < HEAD || b.readUInt8(0) !== FORMAT) throw new Error(`custody record ${seq} has an unknown format`)
  const flags = b.readUInt8(1)
  const topicLen = b.readUInt16BE(10)
  return {
    seq,
    qos: (flags & 3) as 0 | 1 | 2,
    retain: (flags & 4) !== 0,
    at: b.readDoubleBE(2),
    topic: b.subarray(HEAD, HEAD + topicLen).toString('utf8'),
    payload: Buffer.from(b.subarray(HEAD + topicLen)),
  }
}

/**
 * A group of records with consecutive seqs as one value: [format 2][count u32], then per record
 * [length u32][the record as encodeRecord lays it out]. Written in one allocation, no per-record
 * Buffer.concat.
 */
export function encodeGroup(records: readonly CustodyRecord[]): Buffer {
  const topics = records.map((r) => Buffer.byteLength(r.topic, 'utf8'))
  let size = 5
  for (let i = 0; i < records.length; i++) size += 4 + HEAD + topics[i]! + records[i]!.payload.length
  const b = Buffer.allocUnsafe(size)
  b.writeUInt8(GROUP_FORMAT, 0)
  b.writeUInt32BE(records.length, 1)
  let at = 5
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const length = HEAD + topics[i]! + r.payload.length
    b.writeUInt32BE(length, at)
    writeHead(b, at + 4, r, topics[i]!)
    b.write(r.topic, at + 4 + HEAD, 'utf8')
    r.payload.copy(b, at + 4 + HEAD + topics[i]!)
    at += 4 + length
  }
  return b
}

export function decodeGroup(first: number, b: Buffer): CustodyRecord[] {
  if (b.length < 5 || b.readUInt8(0) !== GROUP_FORMAT) throw new Error(`custody group from ${first} has an unknown format`)
  const count = b.readUInt32BE(1)
  const out: CustodyRecord[] = []
  let at = 5
  for (let i = 0; i < count; i++) {
    const length = b.readUInt32BE(at)
    out.push(decodeRecord(first + i, b.subarray(at + 4, at + 4 + length)))
    at += 4 + length
  }
  return out
}

/** A stored group: deleted when every record in it is acknowledged. */
interface Group {
  key: string
  first: number
  last: number
  /** Seqs acknowledged so far (kept beside the group under ackedKey, written like deletes, without an fsync). */
  acked: Set<number>
  /** Deleted: left in the list until the groups before it go too (they mostly go in order). */
  gone?: boolean
}

/** Splits appends into runs of consecutive seqs: one group key each. */
function runs(puts: readonly CustodyRecord[]): CustodyRecord[][] {
  const out: CustodyRecord[][] = []
  for (const r of puts) {
    const run = out[out.length - 1]
    if (run && r.seq === run[run.length - 1]!.seq + 1) run.push(r)
    else out.push([r])
  }
  return out
}

/**
 * LevelDB in the hub's data directory; sync batches are fsynced before they resolve.
 *
 * A group commit is stored as one key holding all its records, not a key per
 * record: LevelDB's per-operation cost (abstract-level's checks and encodings
 * on the event loop, a write and later a delete each) was a tenth of the hub's
 * CPU per message. The group goes when its last record is acknowledged; until
 * then a bitmap beside it says which are, written with the deletes and like
 * them without an fsync (one lost in a crash only means central gets those
 * records again, and drops them by id). Records under the one-key-per-record layout of earlier
 * versions are read, sent and deleted as before (docs/operations.md, upgrades).
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
  /** Groups on disk, in seq order, and which group holds each of their seqs. */
  private groups: Group[] = []
  private readonly groupOf = new Map<number, Group>()
  /** Records still under the one-key-per-record layout, and the highest of their seqs. */
  private legacy = 0
  private legacyLast = 0

  constructor(private readonly dir: string) {
    this.db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' })
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await this.db.open()
    this.groups = []
    this.groupOf.clear()
    this.legacy = 0
    this.legacyLast = 0
    for await (const key of this.db.keys({ gte: RECORD_PREFIX, lt: RECORD_END })) {
      this.legacy++
      this.legacyLast = seqOf(key)
    }
    for await (const key of this.db.keys({ gte: GROUP_PREFIX, lt: GROUP_END })) this.remember({ key, ...groupRange(key), acked: new Set() })
    const stray: string[] = []
    for await (const [key, value] of this.db.iterator({ gte: ACKED_PREFIX, lt: ACKED_END })) {
      const { first, last } = groupRange(key)
      const g = this.groupOf.get(first)
      if (g && g.last === last) g.acked = ackedFromBitmap(g, value)
      else stray.push(key)
    }
    // Never left by this store (a group and its bitmap go in one batch), but one must not outlive its group:
    // seqs start again after the log drains, and a new group under the same key would inherit it.
    if (stray.length > 0) await this.db.batch(stray.map((key) => ({ type: 'del' as const, key })), { sync: true })
  }

  private remember(g: Group): void {
    this.groups.push(g)
    for (let s = g.first; s <= g.last; s++) this.groupOf.set(s, g)
  }

  private forget(g: Group): void {
    g.gone = true
    for (let s = g.first; s <= g.last; s++) this.groupOf.delete(s)
    let n = 0
    while (n < this.groups.length && this.groups[n]!.gone) n++
    if (n > 0) this.groups.splice(0, n)
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
    // What the deletes do to the groups, applied only once the batch is written (a failed one is retried whole).
    const acks = new Map<Group, number[]>()
    const done: Group[] = []
    let legacyDeleted = 0
    for (const seq of dels) {
      const g = this.groupOf.get(seq)
      if (!g) {
        // Not in a group: a record of the earlier layout (or one already gone; deleting it again is harmless).
        ops.push({ type: 'del', key: keyOf(seq) })
        if (seq <= this.legacyLast) legacyDeleted++
        continue
      }
      let a = acks.get(g)
      if (!a) acks.set(g, (a = []))
      a.push(seq)
    }
    for (const [g, seqs] of acks) {
      const acked = new Set(g.acked)
      for (const s of seqs) acked.add(s)
      if (acked.size >= g.last - g.first + 1) {
        ops.push({ type: 'del', key: g.key }, { type: 'del', key: ackedKey(g) })
        done.push(g)
      } else {
        ops.push({ type: 'put', key: ackedKey(g), value: ackedBitmap(g, acked) })
      }
    }
    const added: Group[] = []
    for (const run of runs(puts)) {
      const first = run[0]!.seq
      const last = run[run.length - 1]!.seq
      const key = groupKey(first, last)
      ops.push({ type: 'put', key, value: encodeGroup(run) })
      added.push({ key, first, last, acked: new Set() })
    }
    try {
      if (ops.length > 0) await this.db.batch(ops, { sync })
    } catch (err) {
      this.suspect = true
      throw err
    }
    this.legacy = Math.max(0, this.legacy - legacyDeleted)
    for (const [g, seqs] of acks) for (const s of seqs) g.acked.add(s)
    for (const g of done) this.forget(g)
    for (const g of added) this.remember(g)
  }

  async read(after: number, limit: number): Promise<CustodyRecord[]> {
    await this.recover()
    const out: CustodyRecord[] = []
    if (this.legacy > 0 && after < this.legacyLast) {
      for await (const [key, value] of this.db.iterator({ gt: keyOf(Math.max(0, after)), lt: RECORD_END, limit })) {
        out.push(decodeRecord(seqOf(key), value))
      }
    }
    // The first group that holds a seq past `after`; groups are in seq order and all come after the earlier layout's records.
    let lo = 0
    let hi = this.groups.length
    // Binary search: a drain after a restart reads a large backlog of small groups a window at a time.
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.groups[mid]!.last > after) hi = mid
      else lo = mid + 1
    }
    while (lo < this.groups.length && this.groups[lo]!.gone) lo++
    const from = this.groups[lo]
    if (!from || out.length >= limit) return out
    for await (const [key, value] of this.db.iterator({ gte: from.key, lt: GROUP_END })) {
      const g = this.groupOf.get(groupRange(key).first)
      for (const r of decodeGroup(groupRange(key).first, value)) {
        if (r.seq <= after || g?.acked.has(r.seq)) continue
        out.push(r)
        if (out.length >= limit) return out
      }
    }
    return out
  }

  async scan(): Promise<{ count: number; lastSeq: number }> {
    let count = this.legacy
    let lastSeq = this.legacyLast
    for (const g of this.groups) {
      if (g.gone) continue
      count += g.last - g.first + 1 - g.acked.size
      lastSeq = Math.max(lastSeq, g.last)
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

import { crc32 } from 'node:zlib'

/**
 * The journal's on-disk record format. Every record is framed as
 *
 *   u32 body length | u32 CRC-32 of the body | body
 *
 * (little-endian), so a reader can tell a whole record from a torn one: power
 * can fail in the middle of a write, and the tail of the last segment is then
 * a partial header, a partial body or a body whose CRC does not match. Reading
 * stops at the first such record; everything before it is whole.
 */

export const FRAME_BYTES = 8
/** Far above any record we write (the hub refuses payloads over 64 KiB); a larger length is damage, not data. */
export const MAX_BODY_BYTES = 1 << 20

export const RECORD_CLASSES = ['telemetry', 'event', 'reply'] as const
/** What a record is, which decides what the size bound may shed: telemetry, never events or replies. */
export type RecordClass = (typeof RECORD_CLASSES)[number]

export interface StoredEntry {
  /** Journal sequence number: increasing, never reused in one journal directory. */
  n: number
  cls: RecordClass
  topic: string
  payload: Buffer
  qos: 0 | 1
  retain: boolean
  /** Wall-clock ms when it was appended, for the age of the oldest waiting entry. */
  at: number
}

/** [first n, count] runs of released (acknowledged or dropped) entries: acks mostly come in order, so runs stay few. */
export type Runs = Array<[number, number]>

export type JournalRecord =
  | { kind: 'entry'; entry: StoredEntry }
  | { kind: 'acks'; runs: Runs }
  /** Starts every segment: the next n, and which entries of older live segments were already released. */
  | { kind: 'header'; nextN: number; runs: Runs }

const KIND_ENTRY = 1
const KIND_ACKS = 2
const KIND_HEADER = 3

function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_BYTES + body.length)
  out.writeUInt32LE(body.length, 0)
  out.writeUInt32LE(crc32(body), 4)
  body.copy(out, FRAME_BYTES)
  return out
}

export function entryBytes(topic: string, payload: Buffer): number {
  return FRAME_BYTES + 1 + 6 + 1 + 1 + 8 + 2 + Buffer.byteLength(topic) + payload.length
}

export function encodeEntry(e: StoredEntry): Buffer {
  const topic = Buffer.from(e.topic)
  const body = Buffer.allocUnsafe(1 + 6 + 1 + 1 + 8 + 2 + topic.length + e.payload.length)
  let o = body.writeUInt8(KIND_ENTRY, 0)
  o = body.writeUIntLE(e.n, o, 6)
  o = body.writeUInt8(RECORD_CLASSES.indexOf(e.cls), o)
  o = body.writeUInt8((e.retain ? 1 : 0) | (e.qos === 1 ? 2 : 0), o)
  o = body.writeDoubleLE(e.at, o)
  o = body.writeUInt16LE(topic.length, o)
  o += topic.copy(body, o)
  e.payload.copy(body, o)
  return frame(body)
}

function encodeRunsBody(kind: number, head: Buffer, runs: Runs): Buffer {
  const body = Buffer.allocUnsafe(1 + head.length + 4 + runs.length * 10)
  let o = body.writeUInt8(kind, 0)
  o += head.copy(body, o)
  o = body.writeUInt32LE(runs.length, o)
  for (const [first, count] of runs) {
    o = body.writeUIntLE(first, o, 6)
    o = body.writeUInt32LE(count, o)
  }
  return frame(body)
}

export function encodeAcks(runs: Runs): Buffer {
  return encodeRunsBody(KIND_ACKS, Buffer.alloc(0), runs)
}

export function encodeHeader(nextN: number, runs: Runs): Buffer {
  const head = Buffer.allocUnsafe(6)
  head.writeUIntLE(nextN, 0, 6)
  return encodeRunsBody(KIND_HEADER, head, runs)
}

/** Sorted, merged runs of a list of numbers. */
export function toRuns(ns: readonly number[]): Runs {
  const sorted = [...ns].sort((a, b) => a - b)
  const runs: Runs = []
  for (const n of sorted) {
    const last = runs[runs.length - 1]
    if (last && n <= last[0] + last[1]) {
      if (n === last[0] + last[1]) last[1]++
    } else {
      runs.push([n, 1])
    }
  }
  return runs
}

function decodeRuns(body: Buffer, o: number): Runs | null {
  if (body.length < o + 4) return null
  const count = body.readUInt32LE(o)
  o += 4
  if (body.length !== o + count * 10) return null
  const runs: Runs = []
  for (let i = 0; i < count; i++, o += 10) runs.push([body.readUIntLE(o, 6), body.readUInt32LE(o + 6)])
  return runs
}

function decodeBody(body: Buffer): JournalRecord | null {
  const kind = body[0]
  if (kind === KIND_ENTRY) {
    if (body.length < 19) return null
    const cls = RECORD_CLASSES[body.readUInt8(7)]
    const flags = body.readUInt8(8)
    const topicLen = body.readUInt16LE(17)
    if (!cls || body.length < 19 + topicLen) return null
    return {
      kind: 'entry',
      entry: {
        n: body.readUIntLE(1, 6),
        cls,
        retain: (flags & 1) !== 0,
        qos: flags & 2 ? 1 : 0,
        at: body.readDoubleLE(9),
        topic: body.toString('utf8', 19, 19 + topicLen),
        payload: Buffer.from(body.subarray(19 + topicLen)),
      },
    }
  }
  if (kind === KIND_ACKS) {
    const runs = decodeRuns(body, 1)
    return runs ? { kind: 'acks', runs } : null
  }
  if (kind === KIND_HEADER) {
    if (body.length < 7) return null
    const runs = decodeRuns(body, 7)
    return runs ? { kind: 'header', nextN: body.readUIntLE(1, 6), runs } : null
  }
  return null
}

export interface Scan {
  records: JournalRecord[]
  /** Bytes of whole records from the start; the file is sound up to here. */
  goodBytes: number
  /** Why reading stopped before the end, when it did. */
  damage: string | null
}

/** Reads whole records from the start of a segment until the end or the first torn or damaged one. */
export function scanSegment(buf: Buffer): Scan {
  const records: JournalRecord[] = []
  let o = 0
  while (o < buf.length) {
    if (buf.length - o < FRAME_BYTES) return { records, goodBytes: o, damage: `partial record header at byte ${o}` }
    const len = buf.readUInt32LE(o)
    if (len === 0 || len > MAX_BODY_BYTES) return { records, goodBytes: o, damage: `impossible record length ${len} at byte ${o}` }
    if (buf.length - o - FRAME_BYTES < len) return { records, goodBytes: o, damage: `record at byte ${o} cut short` }
    const body = buf.subarray(o + FRAME_BYTES, o + FRAME_BYTES + len)
    if (crc32(body) !== buf.readUInt32LE(o + 4)) return { records, goodBytes: o, damage: `checksum mismatch in the record at byte ${o}` }
    const rec = decodeBody(body)
    if (!rec) return { records, goodBytes: o, damage: `unreadable record at byte ${o}` }
    records.push(rec)
    o += FRAME_BYTES + len
  }
  return { records, goodBytes: o, damage: null }
}

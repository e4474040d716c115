import { mkdir, open, readdir, readFile, truncate, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../shared/logger.ts'
import { encodeAcks, encodeEntry, encodeHeader, scanSegment, toRuns, type Runs, type StoredEntry } from './journal-records.ts'
import type { JournalStorage, RecoveredJournal, StorageStats } from './journal.ts'

export interface SegmentStorageOptions {
  dir: string
  log: Logger
  /** A segment is closed and a new one begun past this size; a whole segment is deleted once all of it is released. */
  segmentBytes?: number
}

interface Segment {
  id: number
  path: string
  size: number
  /** Entries in it not yet released. */
  live: number
  firstN: number | null
  lastN: number | null
}

const NAME = /^seg-(\d{10})\.log$/

/**
 * The journal on disk as numbered segment files of framed records
 * (journal-records.ts). Writes only ever append; an SD card sees sequential
 * writes, one fsync per commit (not per record), and whole-file deletes
 * instead of rewrites: a segment goes once every entry in it is released.
 *
 * Releases (acks) are recorded as runs in the active segment without an fsync
 * of their own: losing one to a power cut means the entry is sent again,
 * which consumers drop by id. So that deleting a segment never loses acks that
 * older live segments still need, every new segment starts with a header that
 * repeats them.
 */
export class SegmentStorage implements JournalStorage {
  private readonly dir: string
  private readonly segmentBytes: number
  private segments: Segment[] = []
  private active: { seg: Segment; fh: FileHandle; dirty: boolean } | null = null
  /** Live entry → the segment holding it. */
  private readonly where = new Map<number, Segment>()
  private nextN = 1
  readonly stats: StorageStats = { syncs: 0, writes: 0, bytes: 0, segments: 0, deleted: 0 }

  constructor(private readonly opts: SegmentStorageOptions) {
    this.dir = opts.dir
    this.segmentBytes = opts.segmentBytes ?? 1 << 20
  }

  async open(): Promise<RecoveredJournal> {
    await mkdir(this.dir, { recursive: true })
    const ids = (await readdir(this.dir))
      .map((f) => NAME.exec(f)?.[1])
      .filter((m): m is string => m !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
    const entries = new Map<number, { entry: StoredEntry; seg: Segment }>()
    const released: Runs = []
    let nextN = 1
    let torn: RecoveredJournal['torn'] = null
    for (const [i, id] of ids.entries()) {
      const seg: Segment = { id, path: this.pathOf(id), size: 0, live: 0, firstN: null, lastN: null }
      const buf = await readFile(seg.path)
      const scan = scanSegment(buf)
      if (scan.damage) {
        const last = i === ids.length - 1
        // Only the segment being written when power failed can have a torn tail; cut it back so appends follow whole records.
        if (last) {
          await truncate(seg.path, scan.goodBytes)
          torn = { segment: seg.path, at: scan.goodBytes, bytes: buf.length - scan.goodBytes, why: scan.damage }
        } else {
          this.opts.log.error({ segment: seg.path, damage: scan.damage }, 'journal segment damaged in the middle; records after the damage are skipped')
        }
      }
      seg.size = scan.goodBytes
      for (const r of scan.records) {
        if (r.kind === 'entry') {
          entries.set(r.entry.n, { entry: r.entry, seg })
          seg.firstN ??= r.entry.n
          seg.lastN = r.entry.n
          nextN = Math.max(nextN, r.entry.n + 1)
        } else {
          if (r.kind === 'header') nextN = Math.max(nextN, r.nextN)
          for (const run of r.runs) {
            released.push(run)
            nextN = Math.max(nextN, run[0] + run[1])
          }
        }
      }
      this.segments.push(seg)
    }
    for (const [first, count] of released) {
      if (count > entries.size) {
        for (const n of entries.keys()) if (n >= first && n < first + count) entries.delete(n)
      } else {
        for (let n = first; n < first + count; n++) entries.delete(n)
      }
    }
    for (const { entry, seg } of entries.values()) {
      seg.live++
      this.where.set(entry.n, seg)
    }
    this.nextN = nextN
    const last = this.segments[this.segments.length - 1]
    if (last && last.size < this.segmentBytes) {
      this.active = { seg: last, fh: await open(last.path, 'a'), dirty: false }
    } else {
      await this.startSegment(last ? last.id + 1 : 1)
    }
    await this.deleteReleased()
    this.stats.segments = this.segments.length
    const kept = [...entries.values()].map((e) => e.entry).sort((a, b) => a.n - b.n)
    return { entries: kept, nextN, torn, segments: this.segments.length }
  }

  async write(entries: readonly StoredEntry[], released: readonly number[], sync: boolean): Promise<void> {
    if (!this.active) throw new Error('journal storage is not open')
    const bufs = entries.map(encodeEntry)
    let bytes = bufs.reduce((s, b) => s + b.length, 0)
    if (this.active.seg.firstN !== null && this.active.seg.size + bytes > this.segmentBytes) {
      await this.startSegment(this.active.seg.id + 1)
    }
    const seg = this.active.seg
    for (const e of entries) {
      seg.firstN ??= e.n
      seg.lastN = e.n
      seg.live++
      this.where.set(e.n, seg)
      this.nextN = Math.max(this.nextN, e.n + 1)
    }
    const releasedHere: number[] = []
    for (const n of released) {
      const s = this.where.get(n)
      if (!s) continue
      this.where.delete(n)
      s.live--
      releasedHere.push(n)
    }
    if (releasedHere.length) {
      const acks = encodeAcks(toRuns(releasedHere))
      bufs.push(acks)
      bytes += acks.length
    }
    if (bufs.length) {
      await this.active.fh.writev(bufs)
      seg.size += bytes
      this.stats.writes++
      this.stats.bytes += bytes
      this.active.dirty = true
    }
    if (sync && this.active.dirty) await this.sync()
    await this.deleteReleased()
  }

  async close(): Promise<void> {
    const a = this.active
    if (!a) return
    if (a.dirty) await this.sync()
    this.active = null
    await a.fh.close()
  }

  private pathOf(id: number): string {
    return join(this.dir, `seg-${String(id).padStart(10, '0')}.log`)
  }

  private async sync(): Promise<void> {
    await this.active!.fh.datasync()
    this.active!.dirty = false
    this.stats.syncs++
  }

  /** Closes the active segment and begins the next with a header carrying the releases older segments still need. */
  private async startSegment(id: number): Promise<void> {
    if (this.active) {
      if (this.active.dirty) await this.sync()
      await this.active.fh.close()
    }
    const seg: Segment = { id, path: this.pathOf(id), size: 0, live: 0, firstN: null, lastN: null }
    const header = encodeHeader(this.nextN, this.releasedInLiveSegments())
    const fh = await open(seg.path, 'a', 0o600)
    await fh.writev([header])
    await fh.datasync()
    seg.size = header.length
    // The new file's name must be durable before any entry in it is reported durable.
    const d = await open(this.dir, 'r')
    try {
      await d.sync()
    } finally {
      await d.close()
    }
    this.segments.push(seg)
    this.active = { seg, fh, dirty: false }
    this.stats.syncs += 2
    this.stats.segments = this.segments.length
  }

  private releasedInLiveSegments(): Runs {
    const runs: Runs = []
    for (const s of this.segments) {
      if (s.live === 0 || s.firstN === null || s.lastN === null) continue
      let start: number | null = null
      for (let n = s.firstN; n <= s.lastN + 1; n++) {
        const released = n <= s.lastN && this.where.get(n) !== s
        if (released && start === null) start = n
        if (!released && start !== null) {
          runs.push([start, n - start])
          start = null
        }
      }
    }
    return runs
  }

  private async deleteReleased(): Promise<void> {
    const gone = this.segments.filter((s) => s.live === 0 && s !== this.active?.seg)
    if (!gone.length) return
    for (const s of gone) {
      await unlink(s.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
      })
      this.stats.deleted++
    }
    this.segments = this.segments.filter((s) => !gone.includes(s))
    this.stats.segments = this.segments.length
  }
}

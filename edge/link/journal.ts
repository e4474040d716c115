import type { Logger } from '../shared/logger.ts'
import { GroupCommit } from '../shared/group-commit.ts'
import { entryBytes, type RecordClass, type StoredEntry } from './journal-records.ts'

export type { RecordClass } from './journal-records.ts'

export interface RecoveredJournal {
  /** Entries not yet released, in n order. */
  entries: StoredEntry[]
  nextN: number
  /** Where a torn tail was cut off, if the last write before a power cut did not finish. */
  torn: { segment: string; at: number; bytes: number; why: string } | null
  segments: number
}

export interface StorageStats {
  syncs: number
  writes: number
  bytes: number
  segments: number
  deleted: number
}

/** Where the journal's records live: segment files on disk, or nowhere (memory only, for tests and the simulator). */
export interface JournalStorage {
  open(): Promise<RecoveredJournal>
  /** Appends entries, then records `released`; returns once on disk, and synced when `sync`. */
  write(entries: readonly StoredEntry[], released: readonly number[], sync: boolean): Promise<void>
  close(): Promise<void>
  readonly stats: StorageStats
}

/** Keeps nothing across restarts; the journal's policy (order, bound, drop) is the same as on disk. */
export class MemoryStorage implements JournalStorage {
  readonly stats: StorageStats = { syncs: 0, writes: 0, bytes: 0, segments: 0, deleted: 0 }
  async open(): Promise<RecoveredJournal> {
    return { entries: [], nextN: 1, torn: null, segments: 0 }
  }
  async write(): Promise<void> {}
  async close(): Promise<void> {}
}

export interface JournalEntry extends StoredEntry {
  readonly bytes: number
}

export interface NewEntry {
  cls: RecordClass
  topic: string
  payload: Buffer
  qos: 0 | 1
  retain: boolean
}

export interface JournalOptions {
  storage: JournalStorage
  log: Logger
  /** Bound on the bytes of entries waiting for the hub; past it telemetry is shed (see append). */
  maxBytes?: number
  /** How long releases may wait before they are written (without fsync). */
  ackFlushMs?: number
  now?: () => number
}

export interface JournalStats {
  appended: number
  released: number
  /** Telemetry shed to make room. */
  dropped: number
  /** Telemetry refused because the journal was full of entries that must be kept. */
  refused: number
  /** Events and replies kept although the journal was over its bound. */
  overCapacity: number
  writeErrors: number
}

/**
 * The board's store-and-forward journal (docs/architecture.md §4 step 1): every event and
 * reply is appended before it is sent and stays until the hub acknowledges it.
 *
 * Appends return at once; a commit on the next turn of the event loop writes
 * everything appended since the last one with a single fsync, so a burst costs
 * one sync, not one per entry. An entry may be sent once `committedN` has
 * reached it.
 *
 * The size bound never costs an event or a reply: when full, the oldest
 * telemetry is shed first; if only events and replies remain, new telemetry is
 * refused and new events and replies are still kept, logged as an error and
 * counted in `overCapacity` (a full disk is a smaller harm than a lost rating).
 * Waiting entries are also kept in memory, so the bound caps RAM as well.
 */
export class Journal {
  private readonly entries = new Map<number, JournalEntry>()
  /** Telemetry entries, oldest first: what the bound sheds. */
  private readonly droppable = new Map<number, JournalEntry>()
  private readonly maxBytes: number
  private readonly ackFlushMs: number
  private readonly now: () => number
  private nextN = 1
  private committed = 0
  private pendingBytes = 0
  private released: number[] = []
  /**
   * Every storage write goes through it, one at a time: appends as a group
   * (synced), the releases an ack flush asks for as an empty group (not synced).
   * A microtask, not the next loop turn: a synchronous burst is still one
   * group, and appends that arrive while a commit is on disk wait for the next.
   */
  private readonly commits = new GroupCommit<JournalEntry>({ write: (batch) => this.commit(batch) })
  private ackTimer: NodeJS.Timeout | null = null
  private waiters: Array<{ n: number; resolve: () => void }> = []
  private readonly listeners: Array<() => void> = []
  private opened = false
  private closed = false
  readonly stats: JournalStats = { appended: 0, released: 0, dropped: 0, refused: 0, overCapacity: 0, writeErrors: 0 }

  constructor(private readonly opts: JournalOptions) {
    this.maxBytes = opts.maxBytes ?? 32 * 1024 * 1024
    this.ackFlushMs = opts.ackFlushMs ?? 1000
    this.now = opts.now ?? Date.now
  }

  /** Recovers what an earlier run left unacknowledged; those entries come first, in their order. */
  async open(): Promise<RecoveredJournal> {
    const r = await this.opts.storage.open()
    for (const e of r.entries) this.index({ ...e, bytes: entryBytes(e.topic, e.payload) })
    this.nextN = r.nextN
    this.committed = r.nextN - 1
    this.opened = true
    if (r.torn) this.opts.log.warn(r.torn, 'journal had a torn tail (power cut mid-write); recovered to the last whole record')
    if (r.entries.length) this.opts.log.info({ waiting: r.entries.length, segments: r.segments }, 'journal recovered entries still waiting for the hub')
    return r
  }

  get depth(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.pendingBytes
  }

  /** The highest n that is on disk; entries up to it may be sent. */
  get committedN(): number {
    return this.committed
  }

  get lastN(): number {
    return this.nextN - 1
  }

  get storageStats(): StorageStats {
    return this.opts.storage.stats
  }

  oldest(): JournalEntry | undefined {
    return this.entries.values().next().value
  }

  get(n: number): JournalEntry | undefined {
    return this.entries.get(n)
  }

  /** Called after every commit, so the sender can pick up what just became sendable. */
  onCommit(cb: () => void): void {
    this.listeners.push(cb)
  }

  /** The new entry, or null when it is telemetry that did not fit. */
  append(input: NewEntry): JournalEntry | null {
    if (!this.opened || this.closed) throw new Error(`journal is ${this.closed ? 'closed' : 'not open yet'}`)
    const bytes = entryBytes(input.topic, input.payload)
    if (this.pendingBytes + bytes > this.maxBytes) {
      for (const old of this.droppable.values()) {
        if (this.pendingBytes + bytes <= this.maxBytes) break
        this.release(old.n)
        this.stats.dropped++
      }
      if (this.pendingBytes + bytes > this.maxBytes) {
        if (input.cls === 'telemetry') {
          this.stats.refused++
          return null
        }
        this.stats.overCapacity++
        if (this.stats.overCapacity === 1 || this.stats.overCapacity % 100 === 0) {
          this.opts.log.error({ bytes: this.pendingBytes, maxBytes: this.maxBytes, overCapacity: this.stats.overCapacity }, 'journal is over its size bound with events and replies only; keeping them anyway')
        }
      }
    }
    const entry: JournalEntry = { ...input, n: this.nextN++, at: this.now(), bytes }
    this.index(entry)
    this.stats.appended++
    // Never rejects: a failed write is counted and logged by guard(), and the entry still goes out.
    void this.commits.append(entry)
    return entry
  }

  /** The hub has the entry (or it was telemetry sent at QoS 0): it leaves the journal. */
  ack(n: number): void {
    this.release(n)
  }

  /** Resolves once everything appended so far is on disk. */
  flush(): Promise<void> {
    const n = this.nextN - 1
    if (this.committed >= n) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ n, resolve }))
  }

  /** Writes what is pending, releases included and synced, so a clean stop re-sends nothing. */
  async close(): Promise<void> {
    if (this.closed || !this.opened) return
    await this.flush()
    this.closed = true
    if (this.ackTimer) clearTimeout(this.ackTimer)
    this.ackTimer = null
    await this.commits.idle()
    await this.guard(() => this.opts.storage.write([], this.takeReleased(), true))
    await this.opts.storage.close()
  }

  private index(e: JournalEntry): void {
    this.entries.set(e.n, e)
    if (e.cls === 'telemetry') this.droppable.set(e.n, e)
    this.pendingBytes += e.bytes
  }

  private release(n: number): void {
    const e = this.entries.get(n)
    if (!e) return
    this.entries.delete(n)
    this.droppable.delete(n)
    this.pendingBytes -= e.bytes
    this.released.push(n)
    this.stats.released++
    if (!this.ackTimer && !this.closed) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = null
        this.commits.request()
      }, this.ackFlushMs)
      this.ackTimer.unref?.()
    }
  }

  private takeReleased(): number[] {
    const r = this.released
    this.released = []
    return r
  }

  private async commit(batch: JournalEntry[]): Promise<void> {
    // An empty group is an ack flush: releases only, no fsync of their own (a lost one only re-sends).
    if (!batch.length) return this.guard(() => this.opts.storage.write([], this.takeReleased(), false))
    await this.guard(() => this.opts.storage.write(batch, this.takeReleased(), true))
    this.committed = Math.max(this.committed, batch[batch.length - 1]!.n)
    this.waiters = this.waiters.filter((w) => (w.n <= this.committed ? (w.resolve(), false) : true))
    for (const cb of this.listeners) cb()
  }

  /**
   * A failed write (card full, card gone) must not stop the window from
   * sending: the entries stay in memory and go out as usual; only their
   * survival across a power cut is lost, and the error says so.
   */
  private async guard(write: () => Promise<void>): Promise<void> {
    try {
      await write()
    } catch (err) {
      this.stats.writeErrors++
      this.opts.log.error({ err: (err as Error).message, writeErrors: this.stats.writeErrors }, 'journal write failed; entries are kept in memory only until it works again')
    }
  }
}

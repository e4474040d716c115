import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'
import type { Logger } from '../../edge/shared/logger.ts'
import type { FeedItem } from './service-stats.ts'

/** A feed line as kept: the item and its place in the hall's feed (seq grows by one per item, across restarts). */
export interface FeedEntry extends FeedItem {
  seq: number
}

export interface FeedHistoryOptions {
  /** The jsonl file in the hub's data dir; null: memory only (a restart starts empty). */
  file: string | null
  /** Entries kept (default 1,000); the file holds at most twice this before it is rewritten. */
  max?: number
  log: Logger
}

const entrySchema = z.object({
  seq: z.number().int().min(1),
  counter: z.string().min(1).max(64),
  type: z.string().min(1).max(64),
  ts: z.string().min(1).max(64),
  ticket: z.string().max(64).nullable(),
  detail: z.string().max(200).nullable(),
  // Absent from the lines an older hub wrote (service-stats.ts FeedItem).
  id: z.string().min(1).max(100).optional(),
  boot: z.string().min(1).max(40).optional(),
  bootSeq: z.number().int().min(0).optional(),
})

export const FEED_KEPT = 1_000

/**
 * The dashboard's live feed, kept on the hub so a page reloaded (or opened
 * later) shows what happened before it. With a file, each entry is appended
 * as one JSON line; once the file holds twice `max` lines it is rewritten
 * with the last `max` (a temporary file renamed over it, so a crash mid-way
 * leaves either the old or the new file, never half of one). The file then
 * never passes 2 × max lines, and a restart reloads the last `max` entries.
 * A line that cannot be read (a torn last write, a hand edit) is skipped and
 * logged, never fatal: the feed is a convenience, not a record.
 */
export class FeedHistory {
  private entries: FeedEntry[] = []
  private seq = 0
  private linesInFile = 0
  /** Lines added and not yet appended; one append takes them all. */
  private unwritten: string[] = []
  private appendQueued = false
  /** The file open for appending, between appends; closed before a rewrite and at stop. */
  private handle: FileHandle | null = null
  /** Grows at each rewrite: an append queued before it has nothing left to write. */
  private epoch = 0
  /** Writes go one after the other, so a rewrite never races an append. */
  private writing: Promise<void> = Promise.resolve()
  private readonly max: number
  private readonly log: Logger

  constructor(private readonly opts: FeedHistoryOptions) {
    this.max = opts.max ?? FEED_KEPT
    this.log = opts.log
  }

  async start(): Promise<void> {
    const file = this.opts.file
    if (!file) return
    await mkdir(dirname(file), { recursive: true })
    let text = ''
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const lines = text.split('\n')
    let bad = 0
    const read: FeedEntry[] = []
    lines.forEach((line, i) => {
      if (line.trim() === '') return
      let parsed: unknown
      try {
        parsed = JSON.parse(line)
      } catch {
        parsed = undefined
      }
      const r = entrySchema.safeParse(parsed)
      if (!r.success) {
        bad++
        this.log.warn({ file, line: i + 1, why: parsed === undefined ? 'not JSON' : r.error.issues[0]?.message }, 'skipped an unreadable line of the feed history')
        return
      }
      read.push(r.data)
    })
    read.sort((a, b) => a.seq - b.seq)
    this.entries = read.filter((e, i) => i === 0 || read[i - 1]!.seq !== e.seq).slice(-this.max)
    this.seq = read.at(-1)?.seq ?? 0
    this.linesInFile = read.length + bad
    // Rewritten at once when it held more than is kept or lines that cannot be read, so neither lingers.
    if (bad > 0 || read.length > this.max) {
      this.linesInFile = this.entries.length
      await this.rewrite(this.entries.slice())
    }
    this.log.info({ file, entries: this.entries.length, skipped: bad }, 'feed history loaded')
  }

  /** Keeps an item; returns it with its seq, and encoded (what the live stream sends, so a page can tell what it has). */
  add(item: FeedItem): { entry: FeedEntry; json: string } {
    const entry: FeedEntry = { seq: ++this.seq, counter: item.counter, type: item.type, ts: item.ts, ticket: item.ticket, detail: item.detail, id: item.id, boot: item.boot, bootSeq: item.bootSeq }
    // Encoded once, for the file and for the live streams alike.
    const json = JSON.stringify(entry)
    this.entries.push(entry)
    // Trimmed by half its length at a time: dropping the oldest one by one moved the other 999 on every event.
    if (this.entries.length >= 2 * this.max) this.entries = this.entries.slice(-this.max)
    if (this.opts.file) {
      this.linesInFile++
      if (this.linesInFile >= 2 * this.max) {
        // What the file is to hold is taken now: it has every line not appended yet, and an append
        // already queued for them must not put them in the file the rewrite is about to replace.
        const kept = this.entries.slice(-this.max)
        this.linesInFile = kept.length
        this.unwritten = []
        this.appendQueued = false
        this.epoch++
        this.queue(() => this.rewrite(kept))
      } else {
        this.unwritten.push(`${json}\n`)
        if (!this.appendQueued) {
          this.appendQueued = true
          const epoch = this.epoch
          this.queue(() => this.appendUnwritten(epoch))
        }
      }
    }
    return { entry, json }
  }

  /**
   * Every line added since the last append, in one append: a busy hall adds entries faster than a
   * file can be opened, written and closed for each (docs/benchmarks.md, issue 22, sixth pass).
   */
  private async appendUnwritten(epoch: number): Promise<void> {
    if (epoch !== this.epoch || !this.opts.file) return
    this.appendQueued = false
    const text = this.unwritten.join('')
    this.unwritten = []
    if (!text) return
    try {
      // Kept open between appends: opening and closing the file for each was most of what an append cost.
      this.handle ??= await open(this.opts.file, 'a')
      await this.handle.write(text)
    } catch (err) {
      await this.closeHandle()
      throw err
    }
  }

  private async closeHandle(): Promise<void> {
    const h = this.handle
    this.handle = null
    await h?.close().catch(() => {})
  }

  /** Newest first, at most `limit`, of one window or of all. */
  recent(limit: number, counter?: string): FeedEntry[] {
    const out: FeedEntry[] = []
    // Only the last `max` count: the list holds up to twice that between trims.
    for (let i = this.entries.length - 1, oldest = Math.max(0, this.entries.length - this.max); i >= oldest && out.length < limit; i--) {
      const e = this.entries[i]!
      if (counter === undefined || e.counter === counter) out.push(e)
    }
    return out
  }

  /** Written out: every write queued so far has reached the file. */
  async flushed(): Promise<void> {
    await this.writing
  }

  async stop(): Promise<void> {
    this.queue(() => this.closeHandle())
    await this.writing
  }

  private queue(write: () => Promise<void>): void {
    this.writing = this.writing.then(write).catch((err: Error) => {
      this.log.error({ file: this.opts.file, err: err.message }, 'could not write the feed history; the page keeps it in memory')
    })
  }

  private async rewrite(kept: FeedEntry[]): Promise<void> {
    const file = this.opts.file
    if (!file) return
    // The file is about to be replaced: an append handle would go on writing to the one renamed over.
    await this.closeHandle()
    const tmp = `${file}.tmp`
    await writeFile(tmp, kept.map((e) => `${JSON.stringify(e)}\n`).join(''))
    await rename(tmp, file)
  }
}

/** The event ids of the calls among kept entries: each was said when the hub took it (hub/announcer/). */
export function calledIds(entries: readonly FeedEntry[]): string[] {
  return entries.flatMap((e) => ((e.type === 'called' || e.type === 'recalled') && e.id !== undefined ? [e.id] : []))
}

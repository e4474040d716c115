import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { followUpScoreSchema } from '../edge/protocol/vocabulary.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { writeWholeFile } from '../edge/shared/whole-file.ts'

/**
 * A bad rating (不满意 / 非常不满意) to follow up, as the hall sees it: shown
 * at once and kept on the dashboard for the rest of the hub's day; the
 * follow-up itself is central's (docs/integration.md).
 */
export const ratingAlertViewSchema = z.object({
  id: z.string(),
  counter: z.string(),
  record: z.string(),
  ticket: z.string(),
  officer: z.string().nullable(),
  /**
   * The officer's name as the window's state had it when the alert came (the event carries the id only):
   * the duty supervisor looks for a person, not a staff number. Absent in lists saved before it was kept.
   */
  officerName: z.string().nullable().optional(),
  score: followUpScoreSchema,
  /** The national level in Chinese (不满意, 非常不满意) and its English. */
  level: z.string(),
  levelEn: z.string(),
  caseNo: z.string().nullable(),
  item: z.string().nullable(),
  early: z.boolean(),
  /** The board's time of the rating, and when the hub had it. */
  ts: z.string(),
  receivedAt: z.string(),
  /** Whether the board's clock was set when it stamped `ts` (the event's `synced`); absent in lists saved before it was kept. */
  synced: z.boolean().optional(),
  /**
   * Whose clock `receivedAt` is. `hub`: the hub's own. `board`: the hub's clock was not yet set (1970 on a
   * hub without a real-time clock, before NTP), so the board's set `ts` stands in. `held`: neither clock
   * was set; the hub's unset reading, kept whatever the day says until the hub's clock is set. `restamped`:
   * held, then stamped when the hub's clock was set, so the rating came at or before that time. Absent in
   * lists saved before it was kept: `hub`.
   */
  receivedClock: z.enum(['hub', 'board', 'held', 'restamped']).optional(),
})

export type RatingAlertView = z.infer<typeof ratingAlertViewSchema>

const FILE_VERSION = 1
const fileSchema = z.object({ v: z.literal(FILE_VERSION), alerts: z.array(z.unknown()) })

/**
 * The day's bad ratings on the hub's disk, so a hub restart (an update, a power cut) does not
 * empty the follow-up list the hall works from. The whole list is written at each new alert:
 * alerts are a few a day, and a whole-file write leaves the old list or the new one after a
 * crash, never half of one. One write at a time, and saves asked for meanwhile fold into one
 * of the latest list: a board that sends a flood of alerts costs one write after another, not
 * a queue of them competing with the custody log's fsyncs. A save that fails is logged and the
 * list stays in memory; the dashboard is never held up by the disk.
 */
export class RatingAlertsFile {
  /** The latest list asked for and not yet being written; null when there is none. */
  private next: readonly RatingAlertView[] | null = null
  private writing: Promise<void> | null = null

  constructor(
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  /**
   * The alerts received at or after `since` (an ISO time; all when absent), and those held for a clock not yet
   * set, whatever their time; a missing file is an empty list, a damaged one is logged and skipped.
   */
  async load(since = ''): Promise<RatingAlertView[]> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      this.log.error({ file: this.path, err: (err as Error).message }, '差评提醒文件无法读取 / could not read the saved bad-rating alerts; starting the day without them')
      return []
    }
    let doc: z.infer<typeof fileSchema>
    try {
      doc = fileSchema.parse(JSON.parse(text))
    } catch (err) {
      this.log.error({ file: this.path, err: (err as Error).message.slice(0, 200) }, '差评提醒文件已损坏 / the saved bad-rating alerts are damaged; starting the day without them')
      return []
    }
    const kept: RatingAlertView[] = []
    let skipped = 0
    for (const item of doc.alerts) {
      const a = ratingAlertViewSchema.safeParse(item)
      if (!a.success) skipped++
      else if (a.data.receivedAt >= since || a.data.receivedClock === 'held') kept.push(a.data)
    }
    if (skipped) this.log.warn({ file: this.path, skipped }, '跳过格式不对的差评提醒 / skipped saved bad-rating alerts that are not well formed')
    return kept
  }

  /** Saves this list in place of the last; resolves once a write holding it (or a later list) has landed or failed and been logged. */
  save(alerts: readonly RatingAlertView[]): Promise<void> {
    this.next = alerts
    this.writing ??= this.writeAll()
    return this.writing
  }

  /** Resolves once every save asked for so far has landed (or failed and been logged). */
  drain(): Promise<void> {
    return this.writing ?? Promise.resolve()
  }

  private async writeAll(): Promise<void> {
    for (let alerts = this.next; alerts !== null; alerts = this.next) {
      this.next = null
      try {
        await writeWholeFile(this.path, JSON.stringify({ v: FILE_VERSION, alerts }))
      } catch (err) {
        this.log.error({ file: this.path, err: (err as Error).message }, '差评提醒无法保存 / could not save the bad-rating alerts; they stay on the dashboard until the hub restarts')
      }
    }
    this.writing = null
  }
}

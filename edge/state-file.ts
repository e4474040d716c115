import { readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { captureKindSchema, continuesSchema, modeSchema, overtimeLevelSchema, scaleSchema, ticketSchema } from './protocol/index.ts'
import type { CounterState, DisplayLimits } from './counter/state.ts'
import { initialState } from './counter/state.ts'
import type { Logger } from './shared/logger.ts'
import type { OutboxRecord } from './link/board-link.ts'
import type { ClockReading } from './counter/time-rules.ts'
import { SerialQueue } from './shared/serial-queue.ts'
import { writeWholeFile } from './shared/whole-file.ts'

const FILE = 'window-state.json'
/**
 * The layout this runtime writes and reads. A change another version could misread gets a new number: an older
 * runtime (a rollback, edge/update/launcher.ts) then sets the newer file aside instead of reading it as its own.
 */
export const STATE_FORMAT = 1

// What survives a restart: what the window was doing and for whom. Faults are
// not saved: a device that is still broken reports itself again at start.
const savedSchema = z.object({
  version: z.literal(STATE_FORMAT),
  mode: modeSchema,
  since: z.number(),
  ticket: z
    .object({
      number: ticketSchema,
      service: z.string().nullable(),
      green: z.boolean(),
      appointment: z.boolean(),
      calledAt: z.number(),
      attentionAt: z.number(),
      recalls: z.number().int(),
      startedAt: z.number().nullable(),
      // Absent in files written before the monotonic clock: filled from the wall fields on load.
      calledMono: z.number().optional(),
      attentionMono: z.number().optional(),
      startedMono: z.number().nullable().optional(),
      servedBy: z.string().nullable().optional(),
      record: z.string().optional(),
      caseNo: z.string().nullable().optional(),
      item: z.string().nullable().optional(),
      overtimeWarnS: z.number().nullable().default(null),
      overtimeLimitS: z.number().nullable().default(null),
      // Absent in files written before transfers and the no-show prompt.
      continues: continuesSchema.nullable().default(null),
      unanswered: z.boolean().default(false),
    })
    .nullable(),
  // since/sinceMono/pausedMs absent in files written before sign-in events: the shift is counted from the restart.
  officer: z.object({ id: z.string(), name: z.string().nullable(), since: z.number().optional(), sinceMono: z.number().optional(), pausedMs: z.number().default(0) }).nullable(),
  evaluation: z
    .object({ ticket: ticketSchema, officer: z.string().nullable(), openedAt: z.number(), closesAt: z.number(), openedMono: z.number().optional(), closesMono: z.number().optional(), record: z.string().optional(), caseNo: z.string().nullable().optional(), item: z.string().nullable().optional() })
    .nullable(),
  pause: z
    .object({
      reason: z.string(),
      since: z.number(),
      sinceMono: z.number().optional(),
      limitS: z.number().nullable().default(null),
      over: z.boolean().default(false),
      afterService: z.boolean().default(false),
      cmd: z.string().nullable().default(null),
    })
    .nullable(),
  pauseAfter: z.object({ reason: z.string(), since: z.number(), limitS: z.number().nullable(), cmd: z.string() }).nullable().default(null),
  closedRecords: z.array(z.string()).default([]),
  // Both clocks when the state was saved: a restart moves the monotonic fields onto its own clock's origin.
  clock: z.object({ wall: z.number(), mono: z.number(), machine: z.object({ boot: z.string(), ms: z.number() }).optional() }).optional(),
  overtime: overtimeLevelSchema,
  settings: z.object({
    evaluationTimeoutS: z.number(),
    overtimeWarnS: z.number(),
    overtimeLimitS: z.number(),
    telemetryPeriodS: z.number(),
    brightness: z.number(),
    scale: scaleSchema,
    attentionS: z.number(),
    evaluationDwellMs: z.number().optional(),
    noShowPromptS: z.number().optional(),
    pauseLimitS: z.number().optional(),
    recallLimit: z.number().optional(),
  }),
  ignoredPresses: z.number().int(),
  // Saved so a capture cut short by a restart is reported as failed, not left hanging at central.
  captures: z.partialRecord(captureKindSchema, z.object({ cmd: z.string(), ticket: z.string().nullable(), record: z.string().nullable().default(null) })).default({}),
  // The events and replies of the transition that produced this state, until the journal has them.
  outbox: z.array(z.object({ id: z.string(), cls: z.enum(['event', 'reply']), topic: z.string(), body: z.string() })).default([]),
  // The newest command replies, so a command central sends again after the board restarted is answered, not acted on twice.
  ledger: z.array(z.tuple([z.string(), z.looseObject({ kind: z.literal('reply'), cmd: z.string(), name: z.string(), ok: z.boolean() })])).default([]),
})

/** What an older runtime still takes from a newer file: the records it must not lose, when their shape is unchanged. */
const carriedSchema = savedSchema.pick({ outbox: true, ledger: true })

/** A remembered reply as the state file holds it (the window's reply effect). */
export type SavedReply = z.infer<typeof savedSchema>['ledger'][number][1]

/**
 * The window's state on disk, so a restart mid-service shows the same ticket
 * and never a stale or invented one. Written atomically (temp file, fsync,
 * rename): power can fail at any byte and the file is either old or new.
 */
export class StateFile {
  private readonly path: string
  private readonly writes = new SerialQueue()
  private lastJson = ''
  private recovered: OutboxRecord[] = []
  private ledger: Array<[string, SavedReply]> = []
  private outboxSaved = false
  private clockAtSave: ClockReading | undefined

  constructor(private readonly opts: { dir: string; log: Logger }) {
    this.path = join(opts.dir, FILE)
  }

  /** The saved state, or a fresh closed window when there is none or it cannot be trusted. */
  async load(now: number, display: DisplayLimits, settings: Partial<CounterState['settings']>, captureDevices: CounterState['captureDevices'] = [], evaluatorKeys: CounterState['evaluatorKeys'] = 5): Promise<CounterState> {
    const fresh = initialState(now, display, settings, captureDevices, evaluatorKeys)
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.log.warn({ err: (err as Error).message }, 'cannot read saved window state; starting closed')
      return fresh
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    const format = (json as { version?: unknown } | undefined)?.version
    if (typeof format === 'number' && format > STATE_FORMAT) return this.setNewerAside(json, format, fresh)
    const parsed = json === undefined ? null : savedSchema.safeParse(json)
    if (!parsed?.success) {
      this.opts.log.warn({ path: this.path }, 'saved window state is damaged; starting closed rather than guessing')
      return fresh
    }
    const { version: _v, outbox, ledger, clock, ...raw } = parsed.data
    // Old files have wall times only: their monotonic fields are those, on a clock that read wall time when it was saved.
    this.clockAtSave = clock ?? { wall: now, mono: now }
    const t = raw.ticket
    const ev = raw.evaluation
    const saved = {
      ...raw,
      ticket: t
        ? {
            ...t,
            calledMono: t.calledMono ?? t.calledAt,
            attentionMono: t.attentionMono ?? t.attentionAt,
            startedMono: t.startedMono ?? t.startedAt,
            servedBy: t.servedBy ?? raw.officer?.id ?? null,
            // A service saved before records had none: it gets one from its call time, stable across further restarts.
            record: t.record ?? `${t.number}-${t.calledAt}`,
            caseNo: t.caseNo ?? null,
            item: t.item ?? null,
          }
        : null,
      evaluation: ev
        ? { ...ev, openedMono: ev.openedMono ?? ev.openedAt, closesMono: ev.closesMono ?? ev.closesAt, record: ev.record ?? `${ev.ticket}-${ev.openedAt}`, caseNo: ev.caseNo ?? null, item: ev.item ?? null }
        : null,
      pause: raw.pause ? { ...raw.pause, sinceMono: raw.pause.sinceMono ?? raw.pause.since } : null,
      officer: raw.officer ? { ...raw.officer, since: raw.officer.since ?? raw.since, sinceMono: raw.officer.sinceMono ?? this.clockAtSave.mono } : null,
    }
    this.recovered = outbox
    this.ledger = ledger
    this.outboxSaved = outbox.length > 0
    // A ticket the display cannot show (its profile changed since): the service, its officer and an open
    // rating go on, the display shows dashes (edge/counter/view.ts). Starting closed lost them: a rating
    // neither given nor missed, and the closed records that keep a rated service from being called back.
    if (saved.ticket && (saved.ticket.number.length > display.digits || [...saved.ticket.number].some((c) => !display.charset.includes(c)))) {
      this.opts.log.warn({ ticket: saved.ticket.number, mode: saved.mode }, 'saved ticket cannot be shown on this display (its board profile changed); the service goes on, the display shows dashes until it ends')
    }
    this.lastJson = text
    this.opts.log.info({ mode: saved.mode, ticket: saved.ticket?.number ?? null }, 'restored window state')
    // A scale saved above the evaluator's keys (set before config refused it, or the board's evaluator changed) is its key count.
    const scale = Math.min(saved.settings?.scale ?? fresh.settings.scale, evaluatorKeys) as CounterState['evaluatorKeys']
    return { ...fresh, ...saved, settings: { ...fresh.settings, ...saved.settings, scale }, faults: [], display, captureDevices, evaluatorKeys }
  }

  /**
   * Replaces a loaded state that is stale (edge/data-dir-owner.ts) with `fresh` on disk, before the window
   * starts: a restart before the window's first save must not bring the stale state back. What the last
   * run saved with it and may not have journalled stays in the file and is still handed to the window.
   */
  async replaceStale(fresh: CounterState): Promise<void> {
    this.clockAtSave = undefined
    await this.save(fresh, this.recovered, this.ledger)
    await this.flush()
    this.opts.log.info({ mode: fresh.mode }, 'stale window state replaced; starting closed')
  }

  /**
   * A file a newer version wrote (this one runs after a rollback): its fields may mean what this version does not
   * know, so the window is not restored from it and starts closed, never showing a number it cannot vouch for. The
   * file is renamed aside, whole, for the technician and a later update, and not overwritten by this run's saves.
   * Its outbox and ledger, when still in the shape this version knows, are taken: events (a rating) the newer
   * version saved before its journal had them are sent, and commands it answered are not acted on again.
   */
  private async setNewerAside(json: unknown, format: number, fresh: CounterState): Promise<CounterState> {
    const aside = `${this.path}.format-${format}`
    try {
      await rename(this.path, aside)
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'cannot set the newer state file aside')
    }
    const carried = carriedSchema.safeParse(json)
    if (carried.success) {
      this.recovered = carried.data.outbox
      this.ledger = carried.data.ledger
      this.outboxSaved = carried.data.outbox.length > 0
    }
    this.opts.log.error(
      { path: aside, format, understood: STATE_FORMAT, outbox: carried.success ? carried.data.outbox.length : null },
      `窗口状态文件格式 ${format} 比本版本新（${STATE_FORMAT}），已另存为 ${aside}，窗口以关闭状态启动 / the window state file is format ${format}, newer than this version's ${STATE_FORMAT} (written by a later release before a rollback): set aside as ${aside}, the window starts closed`,
    )
    return fresh
  }

  /**
   * The events and replies the last run saved with its state and may not have
   * journalled before it stopped. The window sends them again, with their own
   * ids, so at worst central sees one of them twice (it dedupes by id).
   */
  takeRecovered(): OutboxRecord[] {
    const r = this.recovered
    this.recovered = []
    return r
  }

  /** Both clocks as the last run saved its state (undefined when nothing was restored). */
  get savedClock(): ClockReading | undefined {
    return this.clockAtSave
  }

  /** The command replies the last run remembered. */
  takeLedger(): Array<[string, SavedReply]> {
    const l = this.ledger
    this.ledger = []
    return l
  }

  /** Whether the file on disk still holds an outbox (cleared by the next save, or clearOutbox at stop). */
  get outboxPending(): boolean {
    return this.outboxSaved
  }

  /**
   * Saves if anything worth saving changed; writes are serialised so an older
   * state never lands last. `outbox` is what this state's transition sends:
   * on disk with the state before any of it reaches the journal. `ledger`
   * is the newest command replies.
   */
  save(state: CounterState, outbox: readonly OutboxRecord[] = [], ledger: ReadonlyArray<readonly [string, unknown]> = [], clock?: ClockReading): Promise<void> {
    const { faults: _f, display: _d, captureDevices: _c, evaluatorKeys: _e, ...rest } = state
    const same = JSON.stringify({ version: STATE_FORMAT, ...rest, outbox, ledger })
    this.outboxSaved = outbox.length > 0
    // The clock reading alone is no reason to write.
    if (same === this.lastJson) return this.writes.drain()
    this.lastJson = same
    const json = clock ? JSON.stringify({ version: STATE_FORMAT, ...rest, outbox, ledger, clock }) : same
    return this.writes.run(() => writeWholeFile(this.path, json)).catch((err: Error) => this.opts.log.error({ err: err.message }, 'could not save window state'))
  }

  flush(): Promise<void> {
    return this.writes.drain()
  }
}

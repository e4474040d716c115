import type { Aedes, AedesPublishPacket } from 'aedes'
import { SCORE_LABELS, topics, type BoardEvent, type CentralStatus, type EventOf, type HubBridge, type OfflineReason, type Screen, type State, type Status, type Telemetry, type UpdateReport } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { plausibleTime } from '../edge/shared/plausible-time.ts'
import { HallClock } from './announcer/hall-clock.ts'
import { madeAfter } from './event-order.ts'
import type { HubCounters } from './hub-counters.ts'
import type { LogLimiter } from './log-limiter.ts'
import { MessageParses } from './message-parses.ts'
import type { RatingAlertView, RatingAlertsFile } from './rating-alerts.ts'

export type { RatingAlertView } from './rating-alerts.ts'

export interface EventSummary {
  type: BoardEvent['type']
  id: string
  ts: string
  ticket: string | null
  /** The board's boot and seq: where the event stands among the window's (hub/event-order.ts). */
  boot: string
  seq: number
  /**
   * When it happened, for the tile's "… ago": the board's `ts` when its clock was set (`synced`), else when
   * the hub had it. An unsynced board's `ts` (1970 before NTP, hours off) made "help asked" read decades ago.
   */
  at: string
}

/** One window as a technician needs to see it: is it there, what is it doing, what went wrong. */
export interface WindowView {
  counter: string
  /** From the board's status: its birth, its will or its clean stop. */
  online: boolean
  /** Whether the board holds an MQTT session at this hub right now. */
  connected: boolean
  /** The boot the online flag belongs to; null until the board was heard from. */
  boot: string | null
  /**
   * When the board came online or went offline: its status's `ts` when its clock was set (`synced`), else
   * when the hub had the status; null for an unsynced status taken from the broker's retained copy at the
   * hub's start, when it came is unknown. An unsynced board's `ts` made "offline since" read decades ago.
   */
  since: string | null
  offlineReason: OfflineReason | null
  version: string | null
  board: string | null
  capabilities: string[]
  /** The window's retained state, only ever from the current boot. */
  state: State | null
  /**
   * When the service at the window started, on the hub's clock (null when none is under way): the
   * board's `startedAt` moved by how far the board's own clock ran from it to the state's `ts`.
   * The board's wall clock may be set wrong (1970 before NTP, hours off): the tile's service time
   * counted from `startedAt` itself showed an hour of service for one just begun, or none at all.
   */
  serviceStartedAt: string | null
  /** What the window's display shows (its `screen` message), only ever from the current boot: the tile draws this, not the state. */
  screen: Screen | null
  /** Where the board stands in taking a release, and its running version (retained `update`). */
  update: UpdateReport | null
  telemetry: Telemetry | null
  lastEvent: EventSummary | null
  recentEvents: EventSummary[]
  /** When the hub last heard anything from this window (hub clock). */
  lastSeen: string | null
  /** In the credentials file of this hall (a window provisioned but never seen is listed too). */
  provisioned: boolean
  /**
   * Provisioned once and now taken out of the credentials file (revoked): its
   * board cannot come back, whatever its last will said.
   */
  revoked: boolean
  /** Bad ratings at this window today (the hall-local day, in the hall's time zone), newest first. */
  alerts: RatingAlertView[]
}

export interface HallSnapshot {
  hall: string
  at: string
  bridge: HubBridge | null
  central: CentralStatus | null
  windows: WindowView[]
}

/** The boards the credentials file provisions for this hall (hub/credentials.ts CredentialStore). */
export interface ProvisionedBoards {
  /** The counters provisioned now. */
  current(): string[]
  /** Called after every reload of the credentials; returns the unsubscribe. */
  onReload(listener: () => void): () => void
}

export interface HallViewOptions {
  hall: string
  aedes: Aedes
  counters: HubCounters
  log: Logger
  /** Retained messages already in the broker, to start from after a restart. */
  retained?: (pattern: string) => AsyncIterable<{ topic: string; payload: Buffer }>
  /** Counters provisioned for this hall, and word when the credentials file reloads. */
  provisioned?: ProvisionedBoards
  recentEvents?: number
  /** The hub's clock, for the day its alerts belong to; default Date.now. */
  now?: () => number
  /** The hall's time zone: its alerts are the hall-local day's, whatever zone the hub host runs in; default Asia/Shanghai. */
  timeZone?: string
  /** Shared with the uplink: a board message it validated is not validated again here (hub/message-parses.ts). */
  parses?: MessageParses
  /** Rate-limited warn lines: a central status that breaks the contract is said, not dropped silently (as the hall screen's waiting counts). */
  lines?: LogLimiter
  /** Where the day's bad ratings are kept across a restart of the hub; absent: in memory only. */
  alertsFile?: RatingAlertsFile
  /** How often the hall's day is looked at (ms, default 5,000): at its midnight the windows that held yesterday's alerts are announced changed. */
  dayCheckMs?: number
}

/** Enough for the worst day a window could have: a window keeps no more, whatever the clock says. */
const ALERTS_KEPT = 200
/**
 * Alerts of other days are kept (hidden from the day's list), not deleted at the day-check: a hub clock
 * stepped forward a day (a wrong NTP step, a technician setting the date) then back would otherwise lose
 * the day's list for good, from memory and at the next save from the file. One is let go only when it is
 * older than KEPT_DAYS by the hub's clock AND not among the hall's newest ALERTS_FLOOR, a count that no
 * step of the clock can fake; with ALERTS_KEPT per window, that keeps the file bounded.
 */
export const KEPT_DAYS = 7
export const ALERTS_FLOOR = 500

/**
 * The live state of every window of the hall, built from what the boards
 * publish. Offline comes from wills and clean stops, and boot ids decide
 * which message is current: an offline status, or a state, from a boot other
 * than the one the board was last born with is stale (a will delivered late,
 * a journal replay) and never overrides the fresher birth.
 */
export class HallView {
  private readonly windows = new Map<string, WindowView>()
  /** A state that arrived before its own boot's birth, adopted when that birth comes. */
  private readonly earlyStates = new Map<string, { state: State; at: number }>()
  /** Taking the retained messages at start: when a state reached the hub is unknown, so its own `ts` stands for it. */
  private replaying = false
  private bridge: HubBridge | null = null
  private central: CentralStatus | null = null
  private readonly listeners = new Set<(counter: string | null) => void>()
  private readonly filter: string
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    this.take(packet.topic, packet.payload)
    done()
  }

  private readonly parses: MessageParses
  private readonly recentKept: number
  private lastIso = { ms: Number.NaN, iso: '' }
  private day = { from: Number.NaN, until: Number.NaN, iso: '' }
  private readonly hallClock: HallClock
  private unlistenReload: (() => void) | null = null
  private dayTimer: NodeJS.Timeout | null = null
  /**
   * Windows whose service start came from a retained state taken at start: when that state reached the hub is
   * unknown and its own `ts` stood in, so the first live state of the service (the board sends one on every
   * connect) puts the start right rather than being kept to it.
   */
  private readonly guessedStarts = new Set<string>()
  /** Every alert kept per window, newest first; the window's `alerts` is the day's part of it. */
  private readonly kept = new Map<string, RatingAlertView[]>()
  /** The hall-local midnight the windows' day lists were drawn for. */
  private shownFor = ''
  /** Windows whose day list was drawn again by a look (window, snapshot) and not yet announced: the day-check announces them. */
  private readonly redrawn = new Set<string>()
  /** Some alert came while neither the hub's clock nor its board's was set, and waits for the hub's (stampHeld). */
  private holding = false

  constructor(private readonly opts: HallViewOptions) {
    this.filter = topics.hallTree(opts.hall)
    this.parses = opts.parses ?? new MessageParses()
    this.recentKept = opts.recentEvents ?? 20
    this.hallClock = new HallClock(opts.timeZone ?? 'Asia/Shanghai')
    this.refreshProvisioned()
  }

  async start(): Promise<void> {
    // The credentials change only when their file reloads: learn of it then, not at every look.
    if (this.opts.provisioned) this.unlistenReload = this.opts.provisioned.onReload(() => this.refreshProvisioned())
    if (this.opts.alertsFile) {
      // Oldest first, so each window's list ends newest first as alert() builds it.
      const saved = (await this.opts.alertsFile.load()).sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0))
      for (const a of saved) this.addAlert(this.get(a.counter), a)
      this.holding = saved.some((a) => a.receivedClock === 'held')
      this.prune()
    }
    await new Promise<void>((r) => this.opts.aedes.subscribe(this.filter, this.deliver, () => r()))
    // A dashboard stays open overnight on its live stream and only redraws a window that changed: without
    // this, a window that sent nothing after midnight (switched off for the night, an extra window not
    // opened today) kept yesterday's bad ratings on the page as 今日差评 all the next day.
    this.dayTimer = setInterval(() => this.turnDay(), this.opts.dayCheckMs ?? 5_000)
    this.dayTimer.unref()
    if (this.opts.retained) {
      this.replaying = true
      try {
        for await (const m of this.opts.retained(this.filter)) this.take(m.topic, m.payload)
      } finally {
        this.replaying = false
      }
    }
  }

  onChange(listener: (counter: string | null) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * A copy of the window as it is now: later messages do not change it, and changing it does not
   * change the hall view. Its lists are its own; the messages and list entries in them are the hall
   * view's, shared, because apply() only ever replaces them whole (never changes one in place).
   * A structuredClone was 25 µs per window, and the dashboard asked for one per board message.
   */
  window(counter: string): WindowView | undefined {
    const w = this.windows.get(counter)
    if (!w) return undefined
    this.stampHeld()
    this.showDay()
    return copyOf(w)
  }

  /**
   * What a rollout follows of a window (hub/fleet/rollout.ts), read on every change of the hall:
   * not a structuredClone of the whole window, which at a hall's message rate was a few per cent of
   * the hub's CPU (docs/benchmarks.md, issue 22). The report is replaced, never changed, by apply().
   */
  updateOf(counter: string): { readonly update: Readonly<UpdateReport> | null; readonly version: string | null } | undefined {
    const w = this.windows.get(counter)
    return w ? { update: w.update, version: w.version } : undefined
  }

  /** The window's mode from its retained state, or null: read by a rollout on every change of the window, so no copy. */
  modeOf(counter: string): State['mode'] | null {
    return this.windows.get(counter)?.state?.mode ?? null
  }

  snapshot(): HallSnapshot {
    this.stampHeld()
    this.showDay()
    const windows = [...this.windows.values()].sort((a, b) => a.counter.localeCompare(b.counter)).map(copyOf)
    return { hall: this.opts.hall, at: new Date(this.now()).toISOString(), bridge: this.bridge, central: this.central, windows }
  }

  /**
   * From the credentials as they are now, at start and after each reload: a
   * revocation shows as the hub enforces it (the broker drops the board's
   * session on the same reload), and a newly provisioned window gets its tile.
   * Each window whose standing changed is announced, so live pages redraw it.
   */
  private refreshProvisioned(): void {
    if (!this.opts.provisioned) return
    const now = new Set(this.opts.provisioned.current())
    const changed: string[] = []
    for (const c of now) if (!this.windows.has(c)) this.get(c)
    for (const w of this.windows.values()) {
      const is = now.has(w.counter)
      const revoked = is ? false : w.revoked || w.provisioned
      if (is === w.provisioned && revoked === w.revoked) continue
      w.provisioned = is
      w.revoked = revoked
      changed.push(w.counter)
    }
    for (const c of changed) this.changed(c)
  }

  /** The broker reports board sessions coming and going. */
  boardSession(counter: string, connected: boolean): void {
    this.get(counter).connected = connected
    this.changed(counter)
  }

  /**
   * Whatever a message holds, the hub outlives it: this runs inside the broker's delivery and at
   * start over what the hub kept retained, so a throw here would take the hub down and, retained,
   * keep it down at every start. A message it cannot take is logged and left.
   */
  private take(topic: string, payload: Uint8Array | string): void {
    try {
      this.apply(topic, payload)
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message, topic: topic.slice(0, 200), bytes: payload.length }, 'the hall view could not take a message; left out')
    }
  }

  /** Takes one message of the hall; anything that is not a valid contract message is ignored. */
  apply(topic: string, payload: Uint8Array | string): void {
    // Central deleting its retained status (an empty payload, docs/contract.md § Delivery rules) says nothing about
    // central any more: the dashboard shows no central status, as before central first published one, not the last.
    if (payload.length === 0 && topic === topics.centralStatus(this.opts.hall)) {
      this.central = null
      return this.changed(null)
    }
    const m = this.parses.parse(topic, payload)
    if (!m.ok) {
      // Central's to fix; the dashboard keeps the last good central status. A board's bad message is the uplink's to tell.
      if (topic === topics.centralStatus(this.opts.hall)) this.opts.lines?.warn('central-status', 'central', { refusal: m.code, why: m.message }, '忽略了不符合约定的中央状态 / ignored a central status that breaks the contract')
      return
    }
    if (m.topic.hall !== this.opts.hall) return
    switch (m.kind) {
      case 'hub-bridge':
        this.bridge = m.message
        return this.changed(null)
      case 'central-status':
        this.central = m.message
        return this.changed(null)
      case 'hub-status':
      case 'central-waiting':
      case 'cmd':
      case 'reply':
        return
    }
    const w = this.get(m.topic.counter)
    w.lastSeen = this.isoNow()
    switch (m.kind) {
      case 'status':
        this.status(w, m.message)
        break
      case 'state':
        this.state(w, m.message)
        break
      case 'screen':
        if ((w.boot === null || m.message.boot === w.boot) && !(w.screen && w.screen.boot === m.message.boot && m.message.seq < w.screen.seq)) w.screen = m.message
        break
      case 'update':
        w.update = m.message
        break
      case 'telemetry':
        if (w.boot === null || m.message.boot === w.boot) w.telemetry = m.message
        break
      case 'event': {
        const e = m.message
        const summary: EventSummary = { type: e.type, id: e.id, ts: e.ts, ticket: 'ticket' in e ? (e.ticket ?? null) : null, boot: e.boot, seq: e.seq, at: e.synced ? e.ts : this.isoNow() }
        if (w.recentEvents.some((r) => r.id === e.id)) return // a duplicate from the at-least-once chain
        // Newest first by when the board made them, not by arrival: a journal backlog drained after a link
        // outage came in after the live events since, and its help-requested stood first on the tile as a
        // call for the supervisor that a later service had already overtaken (page.ts helpAsked).
        let at = 0
        while (at < w.recentEvents.length && !madeAfter(summary, w.recentEvents[at]!)) at++
        // In place: every copy handed out has its own list (copyOf).
        w.recentEvents.splice(at, 0, summary)
        if (w.recentEvents.length > this.recentKept) w.recentEvents.length = this.recentKept
        w.lastEvent = w.recentEvents[0] ?? summary
        if (e.type === 'rating-alert') this.alert(w, e)
        break
      }
    }
    this.changed(w.counter)
  }

  private alert(w: WindowView, e: EventOf<'rating-alert'>): void {
    const labels = SCORE_LABELS[e.score]
    const onDuty = w.state?.officer
    const view: RatingAlertView = {
      id: e.id, counter: w.counter, record: e.record, ticket: e.ticket, officer: e.officer, officerName: onDuty && onDuty.id === e.officer ? onDuty.name : null, score: e.score, level: labels.national, levelEn: labels.en,
      caseNo: e.caseNo, item: e.item, early: e.early, ts: e.ts, synced: e.synced, ...this.received(e),
    }
    if (!this.addAlert(w, view)) return
    if (view.receivedClock === 'held') this.holding = true
    this.saveAlerts()
    this.opts.log.info({ counter: w.counter, record: e.record, ticket: e.ticket, score: e.score, synced: e.synced, receivedClock: view.receivedClock }, 'bad rating at a window')
  }

  /**
   * When the hub had an alert, on a clock that can say so: the day's list is kept by it. A hub without a
   * real-time clock reads 1970 from power-on until NTP sets it; stamped with that, the morning's alerts
   * left the day's list the moment the clock was set. Then a board's set clock stands in, and with
   * neither set the alert is held, kept whatever the day, until the hub's clock is set (stampHeld).
   */
  private received(e: EventOf<'rating-alert'>): Pick<RatingAlertView, 'receivedAt' | 'receivedClock'> {
    const now = this.now()
    if (plausibleTime(now)) return { receivedAt: new Date(now).toISOString(), receivedClock: 'hub' }
    const boardTs = Date.parse(e.ts)
    if (e.synced && plausibleTime(boardTs)) return { receivedAt: new Date(boardTs).toISOString(), receivedClock: 'board' }
    return { receivedAt: new Date(now).toISOString(), receivedClock: 'held' }
  }

  /** Once the hub's clock is set, the alerts held for it take its time (the rating came at or before it), are saved so, and their windows announced. */
  private stampHeld(): void {
    if (!this.holding) return
    const now = this.now()
    if (!plausibleTime(now)) return
    this.holding = false
    const at = new Date(now).toISOString()
    const changed: string[] = []
    for (const [counter, list] of this.kept) {
      if (!list.some((a) => a.receivedClock === 'held')) continue
      this.kept.set(counter, list.map((a) => (a.receivedClock === 'held' ? { ...a, receivedAt: at, receivedClock: 'restamped' } : a)))
      this.get(counter).alerts = this.dayOf(counter, this.midnight())
      changed.push(counter)
    }
    this.opts.log.info({ windows: changed, at }, "中心时钟已校准，未定时的差评提醒按此时记 / the hub's clock is set: bad-rating alerts held for it are stamped now")
    this.saveAlerts()
    for (const c of changed) this.changed(c)
  }

  /** Every alert kept (the day's, other days' not yet let go, those held for the hub's clock) to the file, if the hub keeps one. */
  private saveAlerts(): void {
    if (!this.opts.alertsFile) return
    this.prune()
    void this.opts.alertsFile.save([...this.kept.values()].flat())
  }

  /** Lets go of the alerts older than KEPT_DAYS by the hub's clock that are not among the hall's newest ALERTS_FLOOR. */
  private prune(): void {
    const all = [...this.kept.values()].flat()
    if (all.length <= ALERTS_FLOOR) return
    const cutoff = new Date(Date.parse(this.midnight()) - KEPT_DAYS * 86_400_000).toISOString()
    // Held ones have no time yet and count as the newest.
    const rank = (a: RatingAlertView) => (a.receivedClock === 'held' ? '~' : a.receivedAt)
    const newest = all.sort((a, b) => rank(b).localeCompare(rank(a)))
    const goes = new Set(newest.slice(ALERTS_FLOOR).filter((a) => isOld(a, cutoff)))
    if (!goes.size) return
    for (const [counter, list] of this.kept) this.kept.set(counter, list.filter((a) => !goes.has(a)))
  }

  /**
   * Puts an alert first in its window's list, unless the list has it already: the recent-events
   * check in apply() is short, and an alert is one per service record, however late a copy comes
   * (from the board's journal, or after a restart, from the saved list). True if it was added.
   */
  private addAlert(w: WindowView, a: RatingAlertView): boolean {
    const list = this.kept.get(w.counter) ?? []
    if (list.some((x) => x.id === a.id || x.record === a.record)) return false
    this.kept.set(w.counter, [a, ...list].slice(0, ALERTS_KEPT))
    w.alerts = this.dayOf(w.counter, this.midnight())
    return true
  }

  /**
   * At the hall's midnight, or when the hub's clock is stepped to another day and back: each window whose
   * day list changed is announced, so live pages redraw it.
   */
  private turnDay(): void {
    this.stampHeld()
    this.showDay()
    const redrawn = [...this.redrawn]
    this.redrawn.clear()
    for (const counter of redrawn) this.changed(counter)
  }

  /**
   * Draws each window's day list again if the hall's day is not the one they were drawn for, and notes the
   * windows whose list changed for the day-check to announce (announcing here, in a look, would call the
   * listeners back from inside their own look).
   */
  private showDay(): void {
    const since = this.midnight()
    if (since === this.shownFor) return
    this.shownFor = since
    for (const counter of this.kept.keys()) {
      const w = this.get(counter)
      const day = this.dayOf(counter, since)
      if (day.length === w.alerts.length && day.every((a, i) => a === w.alerts[i])) continue
      w.alerts = day
      this.redrawn.add(counter)
    }
  }

  /** An alert is on its window's list for the hall's day it came in (or later, if the clock was set back); held ones until stamped. */
  private dayOf(counter: string, since: string): RatingAlertView[] {
    return (this.kept.get(counter) ?? []).filter((a) => !isOld(a, since))
  }

  /**
   * The start of the hall-local day, as an ISO time comparable with `receivedAt`. In the hall's zone,
   * not the host's: a hub host on UTC would otherwise start the day at 08:00 in Beijing and drop the
   * morning's alerts mid-morning. Worked out once a day (and again if the clock is set back before
   * it): the calendar is a microsecond per look, and every copy of a window looks.
   */
  private midnight(): string {
    const now = this.now()
    if (!(now >= this.day.from && now < this.day.until)) {
      const { from, until } = this.hallClock.day(now)
      this.day = { from, until, iso: new Date(from).toISOString() }
    }
    return this.day.iso
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now()
  }

  /** The hub's time as ISO text; formatting it is most of a microsecond, so one millisecond formats once. */
  private isoNow(): string {
    const ms = this.now()
    if (ms !== this.lastIso.ms) this.lastIso = { ms, iso: new Date(ms).toISOString() }
    return this.lastIso.iso
  }

  private status(w: WindowView, s: Status): void {
    if (s.online) {
      w.online = true
      w.boot = s.boot
      w.since = this.heardAt(s)
      w.offlineReason = null
      w.version = s.version
      w.board = s.board
      w.capabilities = s.capabilities
      if (w.state && w.state.boot !== s.boot) this.setState(w, null, 0)
      if (w.screen && w.screen.boot !== s.boot) w.screen = null
      const early = this.earlyStates.get(w.counter)
      if (early?.state.boot === s.boot) this.setState(w, early.state, early.at)
      this.earlyStates.delete(w.counter)
      return
    }
    if (w.boot !== null && s.boot !== w.boot) {
      // The board has been born again since this boot ended: its will is history, not news.
      this.opts.counters.staleWills++
      this.opts.log.info({ counter: w.counter, willBoot: s.boot, currentBoot: w.boot }, 'ignored an offline status from an earlier boot')
      return
    }
    w.online = false
    w.boot = s.boot
    w.since = this.heardAt(s)
    w.offlineReason = s.reason
  }

  private state(w: WindowView, s: State): void {
    if (w.boot !== null && s.boot !== w.boot) {
      // Either stale (an earlier boot) or early (a new boot whose birth is still on its way).
      this.earlyStates.set(w.counter, { state: s, at: this.stateAt(s) })
      return
    }
    if (w.state && w.state.boot === s.boot && s.seq < w.state.seq) return // replayed out of order
    this.setState(w, s, this.stateAt(s))
  }

  /**
   * When a status happened: the board's time when its clock was set, else the hub's. A will is stamped when
   * the board connected (edge/link/board-link.ts) and published by the broker when the session dropped, so
   * only the hub's time says when; "offline since" read the connect time, hours before. Unknown (null) for a
   * retained copy taken at start that the board's clock cannot date.
   */
  private heardAt(s: Status): string | null {
    const will = !s.online && s.reason === 'will'
    if (s.synced && !will) return s.ts
    return this.replaying ? null : this.isoNow()
  }

  private stateAt(s: State): number {
    return this.replaying ? Date.parse(s.ts) : this.now()
  }

  /** The state, and its service's start on the hub's clock: `at` is when the hub had the state. */
  private setState(w: WindowView, s: State | null, at: number): void {
    const before = w.state
    w.state = s
    const started = s?.ticket?.startedAt
    // The same service as the last state (a capture, a pause asked for after it): its start stays where the hub
    // first put it. Worked out again from the board's wall clock, a step of that clock mid-service (NTP's first
    // sync, a correction of hours) moved the tile's service time by the whole step.
    const same = before?.ticket && s?.ticket && before.boot === s.boot && before.ticket.record === s.ticket.record && before.ticket.startedAt === started
    if (same && started && w.serviceStartedAt !== null && !this.guessedStarts.has(w.counter)) return
    if (this.replaying) this.guessedStarts.add(w.counter)
    else this.guessedStarts.delete(w.counter)
    // Both readings are the board's wall clock, so a constant error (a clock never set, hours off) cancels out.
    const ran = started ? Date.parse(s.ts) - Date.parse(started) : Number.NaN
    w.serviceStartedAt = Number.isFinite(ran) ? new Date(at - Math.max(0, ran)).toISOString() : null
  }

  private get(counter: string): WindowView {
    let w = this.windows.get(counter)
    if (!w) {
      w = {
        counter, online: false, connected: false, boot: null, since: null, offlineReason: null, version: null, board: null, capabilities: [],
        state: null, serviceStartedAt: null, screen: null, update: null, telemetry: null, lastEvent: null, recentEvents: [], lastSeen: null, provisioned: false, revoked: false, alerts: [],
      }
      this.windows.set(counter, w)
    }
    return w
  }

  private changed(counter: string | null): void {
    for (const l of this.listeners) {
      try {
        l(counter)
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message }, 'hall view listener failed')
      }
    }
  }

  async stop(): Promise<void> {
    if (this.dayTimer) clearInterval(this.dayTimer)
    this.dayTimer = null
    this.unlistenReload?.()
    this.unlistenReload = null
    this.listeners.clear()
    await this.opts.alertsFile?.drain()
    if (this.opts.aedes.closed) return
    await new Promise<void>((r) => this.opts.aedes.unsubscribe(this.filter, this.deliver, () => r()))
  }
}

/** Received before the hall-local day that starts at `since`; one held for the hub's clock has no day yet. */
function isOld(a: RatingAlertView, since: string): boolean {
  return a.receivedClock !== 'held' && a.receivedAt < since
}

function copyOf(w: WindowView): WindowView {
  return { ...w, capabilities: [...w.capabilities], recentEvents: [...w.recentEvents], alerts: [...w.alerts] }
}

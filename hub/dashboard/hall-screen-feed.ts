import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Aedes, AedesPublishPacket } from 'aedes'
import { defaultPublicWindow, parseMessage, lastLevel, topics, type CentralWaiting, type PublicWindow } from '../../edge/protocol/index.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import type { HallView, WindowView } from '../hall-view.ts'
import { HallClock } from '../announcer/hall-clock.ts'
import type { HallScreenConfig } from '../config.ts'
import type { LogLimiter } from '../log-limiter.ts'
import { LiveStreams, type LiveStreamLimits } from './live-streams.ts'
import { hallScreenPage } from './hall-screen-page.ts'
import { RecentIds } from '../recent-ids.ts'
import { MessageParses } from '../message-parses.ts'

/** One call as the waiting room sees it: a ticket and the window it goes to, nothing about who serves there. */
export interface ScreenCall {
  /** The event's id: the page flashes a call it has not shown yet. */
  id: string
  type: 'called' | 'recalled'
  ticket: string
  window: PublicWindow
  /** How many times it has been called again (0 for the first call). */
  recalls: number
  /** When the hub had it (hub clock): the order of the list. */
  at: string
}

export type ScreenWindowState = 'serving' | 'paused' | 'closed'

export interface ScreenWindow {
  /** The counter id, as a stable key for the page; the public sees number and name. */
  key: string
  number: string
  name: string
  state: ScreenWindowState
  /** The ticket at the window while it is called or served. */
  ticket: string | null
  /** The officer's name, only when the hub config turns it on (screen.officerNames). */
  officer?: string | null
}

export interface ScreenSnapshot {
  hall: string
  title: string
  /** The hub's clock: the page keeps its clock to it, whatever the TV's own says. */
  at: string
  timeZone: string
  /** "HH:MM:SS" hall-local at `at`. */
  time: string
  english: boolean
  recentCalls: number
  notices: string[]
  /** Newest first: the latest call, then up to recentCalls before it. */
  calls: ScreenCall[]
  windows: ScreenWindow[]
  /** Central's waiting counts, or null while central publishes none. */
  waiting: CentralWaiting['services'] | null
}

export interface HallScreenOptions {
  hall: string
  aedes: Aedes
  hallView: HallView
  config: HallScreenConfig
  /** The announcer's zone, when the screen config names none. */
  fallbackTimeZone?: string
  /** Retained messages already in the broker (central's waiting counts survive a hub restart). */
  retained?: (pattern: string) => AsyncIterable<{ topic: string; payload: Buffer }>
  liveStreams: LiveStreamLimits
  lines: LogLimiter
  log: Logger
  /** The hub's clock; default Date.now. */
  now?: () => number
  /** Shared with the uplink and the hall view: a call is validated once on the hub (hub/message-parses.ts). */
  parses?: MessageParses
}

const SEEN_KEPT = 2_000
/**
 * A frame at least this often, so the page can tell a stream that went quiet
 * (a cable pulled: no close ever comes) from a hall where nothing happens; the
 * SSE pings are comments, which a page never sees.
 */
const TICK_MS = 5_000

/**
 * The data behind the hall screen (综合屏, /screen): the latest calls, each
 * window's public state, central's waiting counts, pushed live over the same
 * capped, batched Server-Sent Events streams the dashboard uses
 * (hub/dashboard/live-streams.ts), in its own set of streams so the screen's
 * frames carry only what the public may see.
 */
export class HallScreenFeed {
  private readonly streams: LiveStreams
  private readonly clock: HallClock
  private calls: ScreenCall[] = []
  private readonly tiles = new Map<string, string>()
  private readonly tilesDue = new Set<string>()
  private tilesFlush: NodeJS.Timeout | null = null
  private readonly seen = new RecentIds(SEEN_KEPT)
  private readonly parses: MessageParses
  private waiting: CentralWaiting['services'] | null = null
  private unsubscribe: (() => void) | null = null
  private tick: NodeJS.Timeout | null = null
  private readonly log: Logger
  private readonly eventsFilter: string
  private readonly waitingTopic: string
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    done()
    try {
      this.take(packet.topic, packet.payload)
    } catch (err) {
      this.log.error({ err: (err as Error).message, topic: packet.topic }, 'hall screen could not take a message')
    }
  }

  constructor(private readonly opts: HallScreenOptions) {
    this.streams = new LiveStreams({ ...opts.liveStreams, lines: opts.lines })
    this.clock = new HallClock(opts.config.timeZone ?? opts.fallbackTimeZone ?? 'Asia/Shanghai')
    this.log = opts.log
    this.parses = opts.parses ?? new MessageParses()
    this.eventsFilter = topics.hallEvents(opts.hall)
    this.waitingTopic = topics.centralWaiting(opts.hall)
  }

  async start(): Promise<void> {
    const { aedes } = this.opts
    await new Promise<void>((r) => aedes.subscribe(this.eventsFilter, this.deliver, () => r()))
    await new Promise<void>((r) => aedes.subscribe(this.waitingTopic, this.deliver, () => r()))
    if (this.opts.retained) for await (const m of this.opts.retained(this.waitingTopic)) this.take(m.topic, m.payload)
    this.seedFromStates()
    for (const w of this.opts.hallView.snapshot().windows) this.tiles.set(w.counter, JSON.stringify(this.tile(w)))
    this.unsubscribe = this.opts.hallView.onChange((counter) => {
      if (counter === null) return
      // Unwatched, nothing is worked out; a screen that opens gets the tiles of now (snapshot), and the
      // tile's next change is sent whatever it was last time.
      if (this.streams.readers === 0) return void this.tiles.delete(counter)
      this.tilesDue.add(counter)
      this.tilesFlush ??= setTimeout(() => this.flushTiles(), this.opts.liveStreams.batchMs ?? 0)
    })
    this.tick = setInterval(() => this.streams.broadcast('tick', this.clockNow()), TICK_MS)
  }

  /**
   * A window's tile at most once per live-stream batch, the time its frame waits to be written anyway:
   * the hall view changes with every message of the window (a rating, a telemetry sample), and
   * working out the tile each time cost the hub more than the screen gained (issue 22).
   */
  private flushTiles(): void {
    this.tilesFlush = null
    const due = [...this.tilesDue]
    this.tilesDue.clear()
    for (const counter of due) {
      const w = this.opts.hallView.window(counter)
      if (!w) continue
      const text = JSON.stringify(this.tile(w))
      // Only what the screen shows goes out.
      if (this.tiles.get(counter) === text) continue
      this.tiles.set(counter, text)
      this.streams.broadcastJson('window', text)
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = null
    if (this.tilesFlush) clearTimeout(this.tilesFlush)
    this.tilesFlush = null
    this.tilesDue.clear()
    if (this.tick) clearInterval(this.tick)
    this.tick = null
    this.streams.stop()
    const { aedes } = this.opts
    if (aedes.closed) return
    await new Promise<void>((r) => aedes.unsubscribe(this.eventsFilter, this.deliver, () => r()))
    await new Promise<void>((r) => aedes.unsubscribe(this.waitingTopic, this.deliver, () => r()))
  }

  /** The paths the screen answers: the page, its snapshot, its live stream. */
  serves(path: string): boolean {
    return path === '/screen' || path === '/screen/' || path === '/screen/state' || path === '/screen/live'
  }

  respond(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (path === '/screen/live') return this.streams.open(req, res)
    if (path === '/screen/state') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
      return void res.end(JSON.stringify(this.snapshot()))
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'" })
    res.end(hallScreenPage({ title: this.opts.config.title, english: this.opts.config.english }))
  }

  snapshot(): ScreenSnapshot {
    const c = this.opts.config
    const windows = this.opts.hallView
      .snapshot()
      .windows.map((w) => this.tile(w))
      .sort(byNumber)
    return {
      hall: this.opts.hall, title: c.title, ...this.clockNow(), timeZone: this.clock.timeZone, english: c.english, recentCalls: c.recentCalls,
      notices: c.notices, calls: this.calls.map((x) => ({ ...x, window: { ...x.window } })), windows, waiting: this.waiting,
    }
  }

  /** Open screen streams and what they hold, as /metrics counts the dashboard's. */
  streamStats() {
    return this.streams.stats()
  }

  private clockNow(): { at: string; time: string } {
    const ms = this.now()
    return { at: new Date(ms).toISOString(), time: this.clock.time(ms) }
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now()
  }

  private take(topic: string, payload: Uint8Array | string): void {
    // Every event of the hall passes here: only a call's payload, and the waiting counts, are worth parsing.
    if (topic !== this.waitingTopic) {
      const leaf = lastLevel(topic)
      if (leaf === 'called' || leaf === 'recalled') this.call(topic, payload)
      return
    }
    // An empty payload deletes central's retained counts (docs/contract.md § Delivery rules): it publishes none now, so the screen shows none, as after a hub restart.
    if (payload.length === 0) {
      this.waiting = null
      this.streams.broadcast('waiting', { services: null })
      return
    }
    const m = parseMessage(topic, payload)
    if (!m.ok || m.kind !== 'central-waiting') {
      // Central's to fix; the screen keeps the last good counts rather than go blank.
      if (!m.ok) this.opts.lines.warn('screen-waiting', 'central', { refusal: m.code, why: m.message }, 'ignored waiting counts that break the contract')
      return
    }
    this.waiting = m.message.services
    this.streams.broadcast('waiting', { services: this.waiting })
  }

  private call(topic: string, payload: Uint8Array | string): void {
    const m = this.parses.parse(topic, payload)
    if (!m.ok || m.kind !== 'event' || m.topic.hall !== this.opts.hall) return
    const e = m.message
    if (e.type !== 'called' && e.type !== 'recalled') return
    if (!this.seen.add(e.id)) return // a copy from the at-least-once chain
    const window = e.window ?? defaultPublicWindow(m.topic.counter)
    const recalls = e.type === 'recalled' ? e.count : 0
    // A copy the hub took before a restart comes again under the same id, which the seen set no longer
    // holds; what the list already shows for this window and ticket is not news.
    const same = this.calls.find((c) => c.window.number === window.number && c.ticket === e.ticket)
    if (same && same.recalls >= recalls) return
    const item: ScreenCall = { id: e.id, type: e.type, ticket: e.ticket, window, recalls, at: new Date(this.now()).toISOString() }
    this.calls = [item, ...this.calls.filter((c) => c !== same)].slice(0, this.opts.config.recentCalls + 1)
    this.streams.broadcast('call', item)
  }

  /** After a hub restart the list starts from the tickets the windows' retained states still show. */
  private seedFromStates(): void {
    const held: ScreenCall[] = []
    for (const w of this.opts.hallView.snapshot().windows) {
      const s = w.state
      if (!w.online || !s?.ticket || (s.mode !== 'calling' && s.mode !== 'serving')) continue
      const window = s.window ?? defaultPublicWindow(w.counter)
      held.push({ id: `state-${w.counter}-${s.id}`, type: s.ticket.recalls > 0 ? 'recalled' : 'called', ticket: s.ticket.number, window, recalls: s.ticket.recalls, at: s.ticket.calledAt })
    }
    this.calls = held.sort((a, b) => b.at.localeCompare(a.at)).slice(0, this.opts.config.recentCalls + 1)
  }

  private tile(w: WindowView): ScreenWindow {
    const s = w.state
    const pub = s?.window ?? defaultPublicWindow(w.counter)
    const state: ScreenWindowState = !w.online || !s || s.mode === 'closed' ? 'closed' : s.mode === 'paused' ? 'paused' : 'serving'
    const showsTicket = w.online && s?.ticket && (s.mode === 'calling' || s.mode === 'serving' || s.mode === 'evaluating')
    const tile: ScreenWindow = { key: w.counter, number: pub.number, name: pub.name, state, ticket: showsTicket ? s!.ticket!.number : null }
    if (this.opts.config.officerNames) tile.officer = state === 'closed' ? null : (s?.officer?.name ?? null)
    return tile
  }
}

function byNumber(a: ScreenWindow, b: ScreenWindow): number {
  return a.number.localeCompare(b.number, 'en', { numeric: true }) || a.key.localeCompare(b.key)
}

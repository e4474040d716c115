import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { Aedes, AedesPublishPacket } from 'aedes'
import { hasApplicantMode, isId, parseMessage, topics, type CommandName } from '../../edge/protocol/index.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import type { HallView, WindowView } from '../hall-view.ts'
import type { HubCounters } from '../hub-counters.ts'
import { dashboardPage } from './page.ts'
import { HubMetrics, type NodeMetrics } from './metrics.ts'
import { ServiceStats } from './service-stats.ts'
import { HttpError, readJsonBody } from '../http/json-body.ts'
import { normalizeAddress } from '../address-guards.ts'
import type { LoginLimiter } from '../login-limiter.ts'
import type { Announcer } from '../announcer/announcer.ts'
import { listenOn } from '../http/listen.ts'
import { LiveStreams, type LiveStreamLimits } from './live-streams.ts'
import { clusterView, type ClusterView } from './cluster-view.ts'
import type { LogLimiter } from '../log-limiter.ts'
import type { HallScreenFeed } from './hall-screen-feed.ts'
import { FeedHistory, FEED_KEPT } from './feed-history.ts'
import { windowForViewer } from './viewer-redaction.ts'
import { windowPage, unknownWindowPage } from './window-page.ts'
import type { FleetRoutes } from '../fleet/release-routes.ts'
import type { MessageParses } from '../message-parses.ts'

export interface HubHttpOptions {
  hall: string
  host: string
  port: number
  aedes: Aedes
  hallView: HallView
  /** The voice caller, when the hub runs one: the dashboard lists its last announcements. */
  announcer?: Announcer
  /** The hall's time zone, as the hall screen's clock and the day of the bad-rating alerts have it; default the announcer's, else Asia/Shanghai. */
  timeZone?: string
  /** The hub's one login limiter, shared with MQTT. */
  logins: LoginLimiter
  counters: HubCounters
  backlog: () => number
  /** The node's live view for /metrics (its bridge connection, its cluster probe). */
  live?: NodeMetrics
  liveStreams: LiveStreamLimits
  /** Lines for live streams refused or dropped, limited like the broker's refusals. */
  lines: LogLimiter
  /** The hall screen (/screen), open like the page: hub/dashboard/hall-screen-feed.ts. */
  screen?: HallScreenFeed
  /**
   * Officer names (and ids) to viewers who have not logged in: off unless the hall says so
   * (hub config `http.officerNames`, docs/operations.md). A logged-in technician always has them.
   */
  officerNames?: boolean
  /** The dashboard's feed history, started and stopped by the hub (hub/main.ts: the announcer reads it first). */
  feed: FeedHistory
  /** Releases and rollouts (hub/fleet/release-routes.ts), when the hub keeps releases. */
  fleet?: FleetRoutes
  /** Shared with the uplink and the hall view: a board message is validated once on the hub (hub/message-parses.ts). */
  parses?: MessageParses
  log: Logger
}

const ACTIONS: Record<string, { command: CommandName; args: Record<string, unknown>; waitMs: number }> = {
  identify: { command: 'identify', args: { seconds: 10 }, waitMs: 10_000 },
  'self-test': { command: 'self-test', args: {}, waitMs: 60_000 },
  sync: { command: 'sync', args: {}, waitMs: 10_000 },
}
const SESSION_MS = 8 * 3600_000
/** Sessions kept at most; past it the oldest go (each login trims the expired ones first). */
const MAX_SESSIONS = 1_000
/**
 * The one answer to a refused password: a wrong password, an unknown name, and a right password
 * on an account that may not act (not a technician of this hall) cannot be told apart.
 */
const REFUSED_LOGIN = '用户名或密码错误，或该账号无权操作窗口 / wrong username or password, or this account may not act on windows'
/** Refused before any password was checked: visible, but the same whatever password was sent. */
const LIMITED_LOGIN = '登录尝试过多，请稍后再试 / too many login attempts; try again later'

/**
 * The hub's HTTP side: the hall dashboard (a page, a snapshot, a live
 * Server-Sent Events stream), technician actions behind a login, and
 * Prometheus metrics. Viewing is open on the hall network; acting is not.
 */
/** The time zone the dashboard shows times in when the hub has no announcer section to name the hall's (its default there too). */
const DEFAULT_HALL_TIME_ZONE = 'Asia/Shanghai'

export class HubHttp {
  private server: Server | null = null
  private readonly stats: ServiceStats
  private readonly metrics: HubMetrics
  private readonly sessions = new Map<string, { username: string; expires: number }>()
  private readonly streams: LiveStreams
  private readonly feed: FeedHistory
  private messagesIn = 0
  private readonly countIn = (_p: AedesPublishPacket, client: unknown) => {
    if (client) this.messagesIn++
  }
  private unsubscribe: Array<() => void> = []
  private readonly windowsDue = new Set<string>()
  private windowsFlush: NodeJS.Timeout | null = null
  port = 0

  constructor(private readonly opts: HubHttpOptions) {
    this.stats = new ServiceStats({ hall: opts.hall, aedes: opts.aedes, ...(opts.parses ? { parses: opts.parses } : {}) })
    this.streams = new LiveStreams({ ...opts.liveStreams, lines: opts.lines })
    const screen = opts.screen
    this.metrics = new HubMetrics({
      hall: opts.hall,
      aedes: opts.aedes,
      snapshot: () => opts.hallView.snapshot(),
      counters: opts.counters,
      stats: () => this.stats.all(),
      connectedClients: () => opts.aedes.connectedClients,
      messagesIn: () => this.messagesIn,
      backlog: opts.backlog,
      liveStreams: () => this.streams.stats(),
      ...(screen ? { screenStreams: () => screen.streamStats() } : {}),
      ...(opts.live ? { live: opts.live } : {}),
      ...(opts.fleet?.rolloutControl ? { fleet: opts.fleet.rolloutControl } : {}),
      ...(opts.parses ? { parses: opts.parses } : {}),
    })
    this.feed = opts.feed
  }

  async start(): Promise<void> {
    // Oldest first, as they came: what the hub counted before its restart is not counted again.
    for (const e of this.feed.recent(FEED_KEPT).reverse()) this.stats.recall(e)
    await this.stats.start()
    await this.metrics.start()
    this.opts.aedes.on('publish', this.countIn)
    this.unsubscribe.push(
      this.opts.hallView.onChange((counter) => {
        if (counter === null) return this.broadcast('hall', { bridge: this.opts.hallView.snapshot().bridge })
        this.windowChanged(counter)
      }),
      ...(this.opts.announcer ? [this.opts.announcer.onAnnouncement((a) => this.broadcast('announcement', { announcement: a, health: this.opts.announcer!.health() }))] : []),
      this.opts.counters.onQuarantine(() => this.broadcast('quarantine', { total: this.opts.counters.quarantinedTotal })),
      this.stats.onEvent((item) => {
        const added = this.feed.add(item)
        this.streams.broadcastJson('event', added.json)
        // The board's state and its events travel on different lanes (events may be held in its
        // journal), so a rating can land after the state that followed it: push the tile again.
        if (item.type === 'evaluated') this.windowChanged(item.counter)
      }),
    )
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: Error) => {
        const status = err instanceof HttpError ? err.status : 500
        if (status === 500) this.opts.log.error({ err: err.message }, 'dashboard request failed')
        if (!res.headersSent) json(res, status, { error: err.message })
        else res.end()
      })
    })
    server.on('connection', (s) => s.setNoDelay(true))
    this.server = server
    this.port = await listenOn(server, this.opts.port, this.opts.host)
    this.opts.log.info({ url: `http://${this.opts.host}:${this.port}/` }, 'dashboard and /metrics listening')
  }

  private enrich(w: WindowView) {
    return { ...w, lastRating: this.stats.of(w.counter).lastRating }
  }

  /**
   * A window's frame is built once per live-stream batch (limits.liveStreamBatchMs, 50 ms by
   * default: frames wait that long to be written anyway), however many of its messages came in
   * it, and not at all while no one watches. Built per message, a frame was a copy, two
   * redactions and two JSON encodings of the whole window, and at a busy hall's pace the dashboard
   * cost the hub more than the messages did (docs/benchmarks.md, issue 22, sixth pass).
   */
  private windowChanged(counter: string): void {
    if (this.streams.readers === 0) return
    this.windowsDue.add(counter)
    this.windowsFlush ??= setTimeout(() => this.flushWindows(), this.opts.liveStreams.batchMs ?? 0)
  }

  private flushWindows(): void {
    this.windowsFlush = null
    const due = [...this.windowsDue]
    this.windowsDue.clear()
    if (this.streams.readers === 0) return
    for (const counter of due) {
      const w = this.opts.hallView.window(counter)
      if (w) this.broadcastWindow(w)
    }
  }

  /** A window to every stream: with officer names to those entitled to them, without to the others. */
  private broadcastWindow(w: WindowView): void {
    const e = this.enrich(w)
    this.streams.broadcast('window', windowForViewer(e, true), this.opts.officerNames ? undefined : windowForViewer(e, false))
  }

  /** Whether this request may see officer names: a technician's session, or a hall that shows them openly. */
  private names(req: IncomingMessage): boolean {
    return this.opts.officerNames === true || this.session(req) !== null
  }

  private sessionToken(req: IncomingMessage): string | undefined {
    return /(?:^|;\s*)ce_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1]
  }

  private timeZone(): string {
    return this.opts.timeZone ?? this.opts.announcer?.timeZone ?? DEFAULT_HALL_TIME_ZONE
  }

  /** null: the hub is no node of a cluster. */
  private cluster(): ClusterView | null {
    const sample = this.opts.live?.cluster?.()
    return sample ? clusterView(sample) : null
  }

  /** null: the hub runs no announcer; else whether it can speak and what it said last. */
  private announcerView() {
    const a = this.opts.announcer
    return a ? { ...a.health(), recent: a.recent() } : null
  }

  private session(req: IncomingMessage): string | null {
    return this.sessionOf(this.sessionToken(req))
  }

  private sessionOf(token: string | undefined): string | null {
    const s = token ? this.sessions.get(token) : undefined
    if (!s || s.expires < Date.now()) return null
    return s.username
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    const path = url.pathname
    if (method === 'GET' && (path === '/' || path === '/index.html')) {
      const page = dashboardPage(this.opts.hall)
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'" })
      return void res.end(page)
    }
    if (method === 'GET' && this.opts.screen?.serves(path)) return this.opts.screen.respond(req, res, path)
    if (method === 'GET' && path === '/metrics') {
      const text = await this.metrics.render()
      res.writeHead(200, { 'content-type': this.metrics.contentType })
      return void res.end(text)
    }
    if (method === 'GET' && path === '/api/hall') {
      const snap = this.opts.hallView.snapshot()
      const names = this.names(req)
      return json(res, 200, { ...snap, cluster: this.cluster(), windows: snap.windows.map((w) => windowForViewer(this.enrich(w), names)), quarantined: this.opts.counters.quarantinedTotal, session: this.session(req), announcer: this.announcerView(), timeZone: this.timeZone() })
    }
    // The cluster alone, for the dashboard's pill to poll without the whole hall.
    if (method === 'GET' && path === '/api/cluster') return json(res, 200, { cluster: this.cluster() })
    // Open like the page itself (the public view reads it), but capped: hub/dashboard/live-streams.ts.
    // Officer names only on a technician's stream, for as long as the session it opened with lasts.
    if (method === 'GET' && path === '/api/live') {
      const token = this.sessionToken(req)
      return this.streams.open(req, res, () => this.opts.officerNames === true || this.sessionOf(token) !== null)
    }
    if (method === 'GET' && path === '/api/feed') return this.feedAnswer(url, res)
    const windowPath = /^\/window\/([^/]+)$/.exec(path)
    if (method === 'GET' && windowPath) return this.windowPageAnswer(res, windowPath[1]!)
    const windowApi = /^\/api\/windows\/([^/]+)$/.exec(path)
    if (method === 'GET' && windowApi) return this.windowAnswer(req, res, windowApi[1]!)
    if (method === 'POST' && path === '/api/login') return this.login(req, res)
    if (method === 'POST' && path === '/api/logout') {
      const token = this.sessionToken(req)
      if (token) this.sessions.delete(token)
      res.setHeader('set-cookie', 'ce_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0')
      return json(res, 200, { ok: true })
    }
    if (this.opts.fleet?.serves(path)) return this.opts.fleet.respond(req, res, path, this.session(req))
    const action = /^\/api\/windows\/([^/]+)\/([a-z-]+)$/.exec(path)
    if (method === 'POST' && action) return this.act(req, res, decodeURIComponent(action[1]!), action[2]!)
    throw new HttpError(404, `no ${method} ${path}`)
  }

  /** `GET /api/feed?counter=w03&limit=100`: the kept feed, newest first; a bad query is a 400 naming what is wrong. */
  private feedAnswer(url: URL, res: ServerResponse): void {
    for (const key of url.searchParams.keys()) {
      if (key !== 'counter' && key !== 'limit') throw new HttpError(400, `unknown query parameter "${key}"; /api/feed takes counter and limit`)
    }
    const limitText = url.searchParams.get('limit')
    let limit = 100
    if (limitText !== null) {
      if (!/^\d{1,7}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > FEED_KEPT) throw new HttpError(400, `limit "${limitText.slice(0, 40)}" is not a whole number from 1 to ${FEED_KEPT}`)
      limit = Number(limitText)
    }
    const counter: string | null = url.searchParams.get('counter')
    if (counter !== null && !isId(counter)) throw new HttpError(400, `counter "${String(counter).slice(0, 40)}" is not a counter id (lower-case letters, digits and -, e.g. w03)`)
    json(res, 200, { entries: this.feed.recent(limit, counter ?? undefined), timeZone: this.timeZone() })
  }

  /** A window the hall knows: seen since the hub started, or provisioned for it. */
  private known(counter: string): WindowView | undefined {
    if (!isId(counter)) return undefined
    return this.opts.hallView.window(counter) ?? this.opts.hallView.snapshot().windows.find((w) => w.counter === counter)
  }

  private windowPageAnswer(res: ServerResponse, raw: string): void {
    const counter = decodeSegment(raw)
    const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'" }
    if (!this.known(counter)) {
      res.writeHead(404, headers)
      return void res.end(unknownWindowPage(this.opts.hall, counter))
    }
    res.writeHead(200, headers)
    res.end(windowPage(this.opts.hall, counter))
  }

  /** `GET /api/windows/{counter}`: one window as the detail page needs it. */
  private windowAnswer(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const counter = decodeSegment(raw)
    const w = this.known(counter)
    if (!w) throw new HttpError(404, `窗口 ${counter.slice(0, 40)} 不存在 / no window "${counter.slice(0, 40)}" in hall ${this.opts.hall}`)
    json(res, 200, { hall: this.opts.hall, window: windowForViewer(this.enrich(w), this.names(req)), session: this.session(req), timeZone: this.timeZone(), at: new Date().toISOString() })
  }

  private broadcast(event: string, data: unknown): void {
    this.streams.broadcast(event, data)
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const addr = normalizeAddress(req.socket.remoteAddress)
    const body = await readJsonBody(req, 8192, { requireJsonType: true })
    const username = typeof body.username === 'string' ? body.username : undefined
    const password = typeof body.password === 'string' ? body.password : undefined
    const r = await this.opts.logins.login({
      address: addr,
      username,
      password,
      // Asked before the password, so a board's right password here costs and answers as a wrong one.
      screen: (p) => (p.role !== 'technician' || p.hall !== this.opts.hall ? 'no-dashboard-rights' : null),
    })
    if (!r.ok) {
      this.opts.counters.authFailures++
      const why = r.kind === 'bad-credentials' ? (r.screened ?? r.why) : r.kind === 'login-backoff' ? `${r.bucket} bucket empty` : r.why
      this.opts.log.warn({ username: username ?? null, addr, refusal: r.kind, why }, 'dashboard login refused')
      if (r.kind === 'bad-credentials') throw new HttpError(401, REFUSED_LOGIN)
      const retryS = r.kind === 'login-backoff' ? Math.max(1, Math.ceil(Math.min(r.retryInMs, 3600_000) / 1000)) : 1
      res.setHeader('retry-after', String(retryS))
      throw new HttpError(429, LIMITED_LOGIN)
    }
    r.settle('succeeded')
    this.trimSessions()
    const token = randomBytes(24).toString('base64url')
    this.sessions.set(token, { username: r.principal.username, expires: Date.now() + SESSION_MS })
    res.setHeader('set-cookie', `ce_session=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}`)
    this.opts.log.info({ username: r.principal.username, addr }, 'technician logged in to the dashboard')
    json(res, 200, { username: r.principal.username })
  }

  /** Expired sessions go; past the cap the oldest too, so logging in again and again cannot grow the table. */
  private trimSessions(): void {
    const t = Date.now()
    for (const [token, s] of this.sessions) if (s.expires < t) this.sessions.delete(token)
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value
      if (oldest === undefined) break
      this.sessions.delete(oldest)
    }
  }

  private async act(req: IncomingMessage, res: ServerResponse, counter: string, name: string): Promise<void> {
    const user = this.session(req)
    if (!user) throw new HttpError(401, '请先以技术员身份登录 / log in as a technician first')
    const action = ACTIONS[name]
    const shown = counter.slice(0, 40)
    if (!action) throw new HttpError(404, `没有操作 "${name.slice(0, 40)}"，可用：${Object.keys(ACTIONS).join('、')} / unknown action "${name.slice(0, 40)}"; actions: ${Object.keys(ACTIONS).join(', ')}`)
    if (!isId(counter)) throw new HttpError(400, `"${shown}" 不是窗口编号 / "${shown}" is not a counter id`)
    // Answered now, not after the wait for a reply that cannot come. A window seen offline still gets its command: in a
    // cluster this node's view can lag (its bus to the other nodes may come back later than the board), and the board
    // answers within the wait if it is there; only the timeout's words then say it was offline.
    const w = this.known(counter)
    if (!w) throw new HttpError(404, `窗口 ${shown} 不存在 / no window "${shown}" in hall ${this.opts.hall}`)
    // With an applicant at the window its board refuses the trigger test (it fires the camera and scanner); the page's confirmation says display and keys are tested.
    const args = name === 'self-test' && w.state && hasApplicantMode(w.state.mode) ? { tests: ['display', 'keys'] } : action.args
    this.opts.log.info({ username: user, counter, action: name }, 'technician action')
    const reply = await this.command(counter, action.command, args, action.waitMs)
    json(res, 200, reply)
  }

  /** Sends a command into the hall as the hub and waits for the window's reply. */
  private command(counter: string, name: CommandName, args: Record<string, unknown>, waitMs: number): Promise<Record<string, unknown>> {
    const { aedes, hall } = this.opts
    const id = `dashboard-${randomBytes(6).toString('hex')}`
    const replyTopic = topics.reply(hall, counter)
    const expires = Date.now() + waitMs
    return new Promise((resolve, reject) => {
      const deliver = (packet: AedesPublishPacket, done: () => void) => {
        done()
        const m = parseMessage(packet.topic, packet.payload)
        if (!m.ok || (m.message as { cmd?: unknown }).cmd !== id) return
        finish()
        const reply = m.message as Record<string, unknown>
        // Answered before its expiry by the hub's clock, yet refused as expired: the board's clock runs ahead. Said so, as
        // "the command expired" alone sent technicians looking at the network.
        if (reply.code === 'expired' && Date.now() <= expires) {
          return resolve({
            ...reply,
            message: `窗口 ${counter} 的时钟比集线器快，命令一到就被判为过期：请检查该板的时间同步（NTP） / window ${counter}'s clock runs ahead of the hub's, so it took the command as already expired: check the board's time sync (NTP) (${String(reply.message ?? '').slice(0, 200)})`,
          })
        }
        resolve(reply)
      }
      const finish = () => {
        clearTimeout(timer)
        aedes.unsubscribe(replyTopic, deliver, () => undefined)
      }
      const timer = setTimeout(() => {
        finish()
        const offline = this.known(counter)?.online === false
        reject(
          new HttpError(
            504,
            offline
              ? `窗口 ${counter} 离线，${waitMs / 1000} 秒内没有回复；命令已过期，上线后也不会执行 / window ${counter} is offline and did not reply within ${waitMs / 1000} s; the command has expired, so it will not act on it when it is back`
              : `窗口 ${counter} 在 ${waitMs / 1000} 秒内没有回复 / window ${counter} did not reply within ${waitMs / 1000} s`,
          ),
        )
      }, waitMs)
      aedes.subscribe(replyTopic, deliver, () => {
        // In a cluster the command is queued in Redis: with Redis away it cannot be, and the technician is told so at once.
        if (this.opts.live?.cluster && !this.opts.live.cluster().redisUp) {
          finish()
          return reject(new HttpError(503, `命令未发送：Redis 不可达 / not sent: the hall's Redis is unreachable, so window ${counter}'s command cannot be queued; try again once it is back`))
        }
        const payload = { id, expires: new Date(expires).toISOString(), ...args }
        aedes.publish({ cmd: 'publish', topic: topics.cmd(hall, counter, name), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false }, (err) => {
          if (!err) return
          // Redis failed while the command was being queued: it may or may not reach the window; said, never left to the timeout.
          finish()
          reject(new HttpError(503, `命令可能未送达：Redis 在排队时出错 / the command may not have been delivered: the hall's store failed while queueing it (${err.message}); check the window and try again`))
        })
      })
    })
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe) u()
    if (this.windowsFlush) clearTimeout(this.windowsFlush)
    this.windowsFlush = null
    this.windowsDue.clear()
    this.opts.aedes.off('publish', this.countIn)
    await this.stats.stop()
    await this.metrics.stop()
    this.streams.stop()
    const server = this.server
    this.server = null
    if (server) {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  }
}

/** A path segment as sent; one that is not valid percent-encoding stays as it came (and then names no window). */
function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(text)
}


import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { Aedes, AedesPublishPacket } from 'aedes'
import { isId, parseMessage, topics, type CommandName } from '../../edge/protocol/index.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import type { CredentialStore } from '../credentials.ts'
import type { HallView, WindowView } from '../hall-view.ts'
import type { HubCounters } from '../hub-counters.ts'
import { dashboardPage } from './page.ts'
import { renderMetrics } from './metrics.ts'
import { ServiceStats } from './service-stats.ts'
import { HttpError, readJsonBody } from '../http/json-body.ts'
import { listenOn } from '../http/listen.ts'
import { LiveStreams, type LiveStreamLimits } from './live-streams.ts'
import type { LogLimiter } from '../log-limiter.ts'

export interface HubHttpOptions {
  hall: string
  host: string
  port: number
  aedes: Aedes
  hallView: HallView
  credentials: CredentialStore
  counters: HubCounters
  backlog: () => number
  liveStreams: LiveStreamLimits
  /** Lines for live streams refused or dropped, limited like the broker's refusals. */
  lines: LogLimiter
  log: Logger
}

const ACTIONS: Record<string, { command: CommandName; args: Record<string, unknown>; waitMs: number }> = {
  identify: { command: 'identify', args: { seconds: 10 }, waitMs: 10_000 },
  'self-test': { command: 'self-test', args: {}, waitMs: 60_000 },
  sync: { command: 'sync', args: {}, waitMs: 10_000 },
}
const SESSION_MS = 8 * 3600_000

/**
 * The hub's HTTP side: the hall dashboard (a page, a snapshot, a live
 * Server-Sent Events stream), technician actions behind a login, and
 * Prometheus metrics. Viewing is open on the hall network; acting is not.
 */
export class HubHttp {
  private server: Server | null = null
  private readonly stats: ServiceStats
  private readonly sessions = new Map<string, { username: string; expires: number }>()
  private readonly failures = new Map<string, { count: number; until: number }>()
  private readonly streams: LiveStreams
  private messagesIn = 0
  private readonly countIn = (_p: AedesPublishPacket, client: unknown) => {
    if (client) this.messagesIn++
  }
  private unsubscribe: Array<() => void> = []
  port = 0

  constructor(private readonly opts: HubHttpOptions) {
    this.stats = new ServiceStats({ hall: opts.hall, aedes: opts.aedes })
    this.streams = new LiveStreams({ ...opts.liveStreams, lines: opts.lines })
  }

  async start(): Promise<void> {
    await this.stats.start()
    this.opts.aedes.on('publish', this.countIn)
    this.unsubscribe.push(
      this.opts.hallView.onChange((counter) => {
        if (counter === null) return this.broadcast('hall', { bridge: this.opts.hallView.snapshot().bridge })
        const w = this.opts.hallView.window(counter)
        if (w) this.broadcast('window', this.enrich(w))
      }),
      this.opts.counters.onQuarantine(() => this.broadcast('quarantine', { total: this.opts.counters.quarantinedTotal })),
      this.stats.onEvent((item) => {
        this.broadcast('event', item)
        // The board's state and its events travel on different lanes (events may be held in its
        // journal), so a rating can land after the state that followed it: push the tile again.
        if (item.type === 'evaluated') {
          const w = this.opts.hallView.window(item.counter)
          if (w) this.broadcast('window', this.enrich(w))
        }
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

  private session(req: IncomingMessage): string | null {
    const token = /(?:^|;\s*)ce_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1]
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
    if (method === 'GET' && path === '/metrics') {
      const text = renderMetrics({
        hall: this.opts.hall,
        snapshot: () => this.opts.hallView.snapshot(),
        counters: this.opts.counters,
        stats: this.stats.all(),
        connectedClients: () => this.opts.aedes.connectedClients,
        messagesIn: () => this.messagesIn,
        backlog: this.opts.backlog,
        liveStreams: this.streams.stats(),
      })
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
      return void res.end(text)
    }
    if (method === 'GET' && path === '/api/hall') {
      const snap = this.opts.hallView.snapshot()
      return json(res, 200, { ...snap, windows: snap.windows.map((w) => this.enrich(w)), quarantined: this.opts.counters.quarantinedTotal, session: this.session(req) })
    }
    // Open like the page itself (the public view reads it), but capped: hub/dashboard/live-streams.ts.
    if (method === 'GET' && path === '/api/live') return this.streams.open(req, res)
    if (method === 'POST' && path === '/api/login') return this.login(req, res)
    if (method === 'POST' && path === '/api/logout') {
      const token = /(?:^|;\s*)ce_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1]
      if (token) this.sessions.delete(token)
      res.setHeader('set-cookie', 'ce_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0')
      return json(res, 200, { ok: true })
    }
    const action = /^\/api\/windows\/([^/]+)\/([a-z-]+)$/.exec(path)
    if (method === 'POST' && action) return this.act(req, res, decodeURIComponent(action[1]!), action[2]!)
    throw new HttpError(404, `no ${method} ${path}`)
  }

  private broadcast(event: string, data: unknown): void {
    this.streams.broadcast(event, data)
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const addr = req.socket.remoteAddress ?? 'unknown'
    const f = this.failures.get(addr)
    if (f && f.until > Date.now()) throw new HttpError(429, `too many failed logins from ${addr}; try again in ${Math.ceil((f.until - Date.now()) / 1000)} s`)
    const body = await readJsonBody(req, 8192)
    const principal = await this.opts.credentials.verify(String(body.username ?? ''), String(body.password ?? ''))
    if (!principal || principal.role !== 'technician' || principal.hall !== this.opts.hall) {
      const count = (f?.count ?? 0) + 1
      // Backoff doubles from 1 s to 5 min per address, so guessing is slow and other addresses are unaffected.
      this.failures.set(addr, { count, until: Date.now() + Math.min(2 ** (count - 1) * 1000, 300_000) })
      this.opts.counters.authFailures++
      this.opts.log.warn({ username: body.username ?? null, addr }, 'dashboard login refused')
      throw new HttpError(401, principal ? 'this account may not act on windows (technician accounts only)' : 'wrong username or password')
    }
    this.failures.delete(addr)
    const token = randomBytes(24).toString('base64url')
    this.sessions.set(token, { username: principal.username, expires: Date.now() + SESSION_MS })
    res.setHeader('set-cookie', `ce_session=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}`)
    this.opts.log.info({ username: principal.username, addr }, 'technician logged in to the dashboard')
    json(res, 200, { username: principal.username })
  }

  private async act(req: IncomingMessage, res: ServerResponse, counter: string, name: string): Promise<void> {
    const user = this.session(req)
    if (!user) throw new HttpError(401, 'log in as a technician first')
    const action = ACTIONS[name]
    if (!action) throw new HttpError(404, `unknown action "${name}"; actions: ${Object.keys(ACTIONS).join(', ')}`)
    if (!isId(counter)) throw new HttpError(400, `"${counter}" is not a counter id`)
    this.opts.log.info({ username: user, counter, action: name }, 'technician action')
    const reply = await this.command(counter, action.command, action.args, action.waitMs)
    json(res, 200, reply)
  }

  /** Sends a command into the hall as the hub and waits for the window's reply. */
  private command(counter: string, name: CommandName, args: Record<string, unknown>, waitMs: number): Promise<Record<string, unknown>> {
    const { aedes, hall } = this.opts
    const id = `dashboard-${randomBytes(6).toString('hex')}`
    const replyTopic = topics.reply(hall, counter)
    return new Promise((resolve, reject) => {
      const deliver = (packet: AedesPublishPacket, done: () => void) => {
        done()
        const m = parseMessage(packet.topic, packet.payload)
        if (!m.ok || (m.message as { cmd?: unknown }).cmd !== id) return
        finish()
        resolve(m.message as Record<string, unknown>)
      }
      const finish = () => {
        clearTimeout(timer)
        aedes.unsubscribe(replyTopic, deliver, () => undefined)
      }
      const timer = setTimeout(() => {
        finish()
        reject(new HttpError(504, `window ${counter} did not reply within ${waitMs / 1000} s`))
      }, waitMs)
      aedes.subscribe(replyTopic, deliver, () => {
        const payload = { id, expires: new Date(Date.now() + waitMs).toISOString(), ...args }
        aedes.publish({ cmd: 'publish', topic: topics.cmd(hall, counter, name), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false }, () => undefined)
      })
    })
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe) u()
    this.opts.aedes.off('publish', this.countIn)
    await this.stats.stop()
    this.streams.stop()
    const server = this.server
    this.server = null
    if (server) {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(text)
}


import { performance } from 'node:perf_hooks'
import {
  boardDelivery,
  boardTopic,
  parseTopic,
  topics,
  type BoardFields,
  type BoardTopicKind,
  type OfflineReason,
  type StatusFields,
} from '../protocol/index.ts'
import type { Logger } from '../shared/logger.ts'
import type { BrokerAddress } from '../shared/mqtt-connect.ts'
import type { EnvelopeStamper } from './envelope-stamper.ts'
import { connectHubSession, type HubSession, type HubSessionFactory, type SessionWill } from './hub-session.ts'
import type { Journal, JournalEntry } from './journal.ts'
import { Backoff } from '../shared/backoff.ts'

export interface BoardLinkOptions {
  hall: string
  counter: string
  /** Tried in turn on each reconnect: a board fails over between hubs. */
  addresses: BrokerAddress[]
  /** For mqtts:// addresses: the hall's CA, and the board's certificate where the hub asks for one. */
  tls?: BoardTls
  username: string
  password: string
  stamper: EnvelopeStamper
  birth: Omit<Extract<StatusFields, { online: true }>, 'online'>
  log: Logger
  /** Opens the MQTT session to the hub; default mqtt.js over TCP (hub-session.ts). */
  session?: HubSessionFactory
  /** Opened by the caller; events and replies go through it. */
  journal: Journal
  /** Journal entries in flight to the hub at once, both lanes together. */
  window?: number
  /** Slots of the window the backlog may not take, so a live reply never queues behind it. */
  liveReserve?: number
  /**
   * Most backlog entries sent per second (default 1000; Infinity for no limit). Unpaced, one
   * board's drain saturates the hub and a live reply waits ~10 ms longer (docs/benchmarks.md).
   */
  backlogRate?: number
  reconnect?: { minMs?: number; maxMs?: number; stableMs?: number }
  random?: () => number
  /**
   * The link's clock for durations only (progress, reconnect backoff): monotonic by default. Never the
   * wall clock: a board without a real-time clock starts with an old time and is set days forward
   * once it syncs, and a step like that must not read as days without progress.
   */
  now?: () => number
}

/**
 * An event or reply stamped by the link but not yet appended to the journal.
 * The window writes these into its state file in the same atomic write as the
 * state they belong to, so a power cut between that write and the journal's
 * commit cannot lose them (see Window.apply).
 */
export interface OutboxRecord {
  id: string
  cls: JournalledKind
  topic: string
  body: string
}

/** PEM contents, not paths: the composition root reads the files. */
export interface BoardTls {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
}

export type CommandHandler = (name: string, payload: Buffer) => void

export interface LinkHealth {
  connected: boolean
  /** Last round trip to the hub: a live entry's PUBACK or a keepalive ping. */
  rttMs: number | null
  /** How long since the link last made progress (connected with nothing waiting, or an entry acknowledged), on the link's own monotonic clock. */
  stalledMs: number
  reconnects: number
}

type Lane = 'live' | 'backlog'

/** Kinds the journal carries until the hub acknowledges them; the window saves them with its state first. */
export type JournalledKind = 'event' | 'reply'

/** What the window publishes; `status` (birth, will, goodbye) belongs to the link itself. */
export type PublishKind = Exclude<BoardTopicKind, 'status'>

/** Retained reports of what the board has (its screen, its update), sent when they change and again after each connect. */
type ReportKind = 'screen' | 'update'
const REPORT_KINDS: readonly ReportKind[] = ['screen', 'update']

/** One message as it goes on the wire: topic, QoS and retain from the contract, the envelope stamped. */
interface Stamped {
  id: string
  topic: string
  body: string
  qos: 0 | 1
  retain: boolean
}

/**
 * The board's MQTT session to its hub (docs/architecture.md §3, §4 step 1).
 *
 * Events and replies are appended to the journal and sent once committed; an
 * entry leaves the journal only on the hub's PUBACK. Sending runs in two lanes
 * over one bounded window: what was already waiting when the connection came
 * up (the backlog) drains in journal order, and what is produced while
 * connected (live) goes first, with `liveReserve` slots the backlog may never
 * take, and the backlog is paced (`backlogRate`) so that draining it does not
 * saturate the hub. A reply therefore waits for one fsync, not for the backlog.
 *
 * Entries in flight when the connection drops stay with mqtt.js, which sends
 * them again first thing on the next connect (same packet ids, so its
 * callbacks still resolve); the journal keeps them in case the process dies.
 *
 * mqtt.js only reconnects at a fixed period; here reconnects back off
 * exponentially with jitter, so a hall's boards do not all hit a restarted hub
 * in the same millisecond.
 */
export class BoardLink {
  private client: HubSession | null = null
  private readonly inFlight = new Map<number, Lane>()
  private backlogInFlight = 0
  private tokens = 0
  private tokensAt = 0
  private paceTimer: NodeJS.Timeout | null = null
  private backlogCursor = 1
  private backlogEnd = 0
  private liveCursor = 1
  private onCommand: CommandHandler = () => {}
  private onConnected: () => void = () => {}
  private stopping = false
  private reconnectTimer: NodeJS.Timeout | null = null
  private readonly backoff: Backoff
  /** Counts connects, so a SUBACK that arrives after its connection died is ignored. */
  private generation = 0
  /** Cursors are set for this connection; until then nothing is sent. */
  private sending = false
  private connectedAt: number | null = null
  private latestState: Stamped | null = null
  private stateSent = false
  /**
   * What the display shows and where an update stands, last stamped: retained
   * at the hub, so sent again after each connect (after the state).
   */
  private readonly latestReport = new Map<ReportKind, Stamped>()
  /** Told while no hub was there: stamped when one is, so nothing is stamped that is not sent. */
  private readonly pendingReport = new Map<ReportKind, BoardFields[ReportKind]>()
  private pingSentAt: number | null = null
  private readonly health: Omit<LinkHealth, 'stalledMs'> & { lastProgressAt: number }
  private readonly refusalListeners = new Set<(inARow: number) => void>()
  private readonly onlineListeners = new Set<() => void>()
  private readonly now: () => number

  constructor(private readonly opts: BoardLinkOptions) {
    this.now = opts.now ?? (() => performance.now())
    this.health = { connected: false, rttMs: null, lastProgressAt: this.now(), reconnects: 0 }
    const r = opts.reconnect ?? {}
    this.backoff = new Backoff({ minMs: r.minMs ?? 500, maxMs: r.maxMs ?? 30_000, stableMs: r.stableMs ?? 10_000, ...(opts.random ? { random: opts.random } : {}), now: this.now })
    opts.journal.onCommit(() => this.pump())
  }

  get connected(): boolean {
    return Boolean(this.client?.connected)
  }

  /** Entries waiting for the hub's acknowledgement. */
  get backlog(): number {
    return this.opts.journal.depth
  }

  get journal(): Journal {
    return this.opts.journal
  }

  linkHealth(): LinkHealth {
    const now = this.now()
    if (this.connected && this.backlog === 0) this.health.lastProgressAt = now
    const { lastProgressAt, ...health } = this.health
    return { ...health, connected: this.connected, stalledMs: Math.max(0, now - lastProgressAt) }
  }

  handleCommands(handler: CommandHandler): void {
    this.onCommand = handler
  }

  /**
   * Told each time the hub refuses this board's credentials (CONNACK 4/5), with the refusals since the
   * last accepted login: the composition root decides whether retrying still makes sense (a person at a
   * terminal is better told to re-provision than left to watch retries).
   */
  onCredentialsRefused(listener: (inARow: number) => void): () => void {
    this.refusalListeners.add(listener)
    return () => this.refusalListeners.delete(listener)
  }

  /**
   * Told after every (re)connect once the birth and the window's state went out and the journal's sending resumed: the composition root's
   * own business at that moment (cli/board-main.ts saves the code cache of the board's bundle then).
   */
  onOnline(listener: () => void): () => void {
    this.onlineListeners.add(listener)
    return () => this.onlineListeners.delete(listener)
  }

  /** Called after every (re)connect and birth, so the window can republish its state. */
  whenConnected(cb: () => void): void {
    this.onConnected = cb
  }

  start(): void {
    const { hall, counter, log } = this.opts
    const client = (this.opts.session ?? connectHubSession)({
      addresses: this.opts.addresses,
      ...(this.opts.tls ? { tls: this.opts.tls } : {}),
      clientId: this.opts.username,
      username: this.opts.username,
      password: this.opts.password,
      clean: false,
      reconnectPeriod: 0,
      will: this.will(),
    })
    this.client = client
    client.on('connect', () => {
      this.connectedAt = this.now()
      this.backoff.connected()
      this.health.lastProgressAt = this.now()
      const generation = ++this.generation
      log.info({ waiting: this.backlog }, 'connected to hub')
      // Subscribed before the birth: a consumer that answers a birth with a command must find us listening.
      client.subscribe(topics.counterCommands(hall, counter), { qos: 1 }, (err) => {
        if (err) log.error({ err: err.message }, 'could not subscribe to own commands')
        if (generation !== this.generation || !client.connected) return
        this.sendLive(client, this.stamp('status', this.birth()))
        this.stateSent = false
        this.onConnected()
        if (!this.stateSent && this.latestState) this.sendLive(client, this.latestState)
        for (const kind of REPORT_KINDS) {
          const pending = this.pendingReport.get(kind)
          if (pending) this.latestReport.set(kind, this.stamp(kind, pending))
          this.pendingReport.delete(kind)
          const latest = this.latestReport.get(kind)
          if (latest) this.sendLive(client, latest)
        }
        // What waited before this point is the backlog; anything appended from now on is live.
        const journal = this.opts.journal
        this.backlogEnd = journal.lastN
        this.backlogCursor = journal.oldest()?.n ?? this.backlogEnd + 1
        this.liveCursor = this.backlogEnd + 1
        this.sending = true
        this.pump()
        for (const l of this.onlineListeners) l()
      })
    })
    client.on('close', () => {
      const wasUp = this.connectedAt !== null
      if (wasUp) this.backoff.disconnected()
      this.connectedAt = null
      this.sending = false
      if (this.stopping) return
      if (wasUp) log.warn({ waiting: this.backlog }, 'lost the hub; keeping events in the journal until it is back')
      // The next connect carries a will stamped now, so it is newer than anything sent before it.
      client.options.will = this.will()
      this.scheduleReconnect()
    })
    let refusedLogins = 0
    client.on('connect', () => (refusedLogins = 0))
    client.on('error', (err) => {
      // CONNACK 4/5: the hub no longer takes this board's password (revoked, or replaced by a new provision).
      // Retrying cannot fix that; a person must, so it is said plainly, at once and then every tenth try.
      if (/Not authorized|Bad username or password/i.test(err.message)) {
        if (refusedLogins++ % 10 === 0) {
          log.error(
            { err: err.message, refused: refusedLogins },
            '集线器拒绝了本板的凭据（已吊销或已重新发放）：请用 counter-edge provision --replace 重新发放并换上新配置 / the hub refuses this board\'s credentials (revoked or replaced): re-provision it (counter-edge provision --replace) and install the new config; retrying meanwhile',
          )
        }
        for (const l of this.refusalListeners) l(refusedLogins)
        return
      }
      log.warn({ err: err.message }, 'hub link error')
    })
    client.on('packetsend', (p) => {
      if (p.cmd === 'pingreq') this.pingSentAt = performance.now()
    })
    client.on('packetreceive', (p) => {
      if (p.cmd === 'pingresp' && this.pingSentAt !== null) {
        this.health.rttMs = performance.now() - this.pingSentAt
        this.pingSentAt = null
      }
    })
    client.on('message', (topic, payload) => {
      const t = parseTopic(topic)
      if (!t || t.kind !== 'cmd' || t.hall !== hall || t.counter !== counter) {
        log.warn({ topic }, 'ignored a message on a topic that is not one of this window\'s commands')
        return
      }
      this.onCommand(t.name, payload)
    })
  }

  private scheduleReconnect(): void {
    const client = this.client
    if (this.reconnectTimer || this.stopping || !client) return
    const delay = this.backoff.next()
    this.opts.log.debug({ attempt: this.backoff.attempts, delayMs: delay }, 'reconnecting to hub')
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.stopping) return
      this.health.reconnects++
      // Passing the stores keeps the unacknowledged packets mqtt.js re-sends; reconnect() without them would drop them.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore })
    }, delay)
  }

  /** The one place a board message is made: envelope first, then the producer's fields, as central has always seen them. */
  private stamp<K extends BoardTopicKind>(kind: K, fields: BoardFields[K]): Stamped {
    const env = this.opts.stamper.next()
    return { id: env.id, topic: boardTopic(this.opts.hall, this.opts.counter, kind, fields), body: JSON.stringify({ ...env, ...fields }), ...boardDelivery(kind) }
  }

  private birth(): StatusFields {
    return { online: true, ...this.opts.birth }
  }

  private will(): SessionWill {
    const will = this.stamp('status', { online: false, reason: 'will' })
    return { topic: will.topic, payload: Buffer.from(will.body), qos: will.qos, retain: will.retain }
  }

  private sendLive(client: HubSession, m: Stamped): void {
    client.publish(m.topic, m.body, { qos: m.qos, retain: m.retain })
  }

  /**
   * Publishes one message; returns its id. Events and replies are journalled
   * and sent once committed (see prepare). State is retained and only the
   * newest matters: it is not journalled, and every connect sends the current
   * one. The screen (what the display shows) likewise, but stamped only when
   * it goes out: told while no hub is there, it waits unstamped and its id is
   * '' until the next connect sends it. Telemetry goes out at QoS 0 when connected; while offline it is
   * journalled as the lowest class, so the hub later sees what the board went
   * through, and it is what the journal sheds first when full.
   */
  publish<K extends PublishKind>(kind: K, fields: BoardFields[K]): string {
    return this.publishers[kind](fields)
  }

  private report<K extends ReportKind>(kind: K, fields: BoardFields[K]): string {
    if (!this.client?.connected || !this.sending) {
      this.pendingReport.set(kind, fields)
      return ''
    }
    const m = this.stamp(kind, fields)
    this.latestReport.set(kind, m)
    this.sendLive(this.client, m)
    return m.id
  }

  private readonly publishers: { readonly [P in PublishKind]: (fields: BoardFields[P]) => string } = {
    event: (fields) => this.append(this.prepare('event', fields)),
    reply: (fields) => this.append(this.prepare('reply', fields)),
    state: (fields) => {
      const m = this.stamp('state', fields)
      this.latestState = m
      this.stateSent = true
      if (this.client?.connected) this.sendLive(this.client, m)
      return m.id
    },
    screen: (fields) => this.report('screen', fields),
    update: (fields) => this.report('update', fields),
    telemetry: (fields) => {
      const m = this.stamp('telemetry', fields)
      if (this.client?.connected) this.sendLive(this.client, m)
      // Sent once the commit lands: the journal calls pump() through onCommit.
      else this.opts.journal.append({ cls: 'telemetry', topic: m.topic, payload: Buffer.from(m.body), qos: m.qos, retain: m.retain })
      return m.id
    },
  }

  /** An event or reply stamped (id, seq, time) but not yet in the journal: the window saves it with its state first. */
  prepare<K extends JournalledKind>(kind: K, fields: BoardFields[K]): OutboxRecord {
    const m = this.stamp(kind, fields)
    return { id: m.id, cls: kind, topic: m.topic, body: m.body }
  }

  /** Hands a prepared record to the journal, unchanged: one sent again after a restart keeps its id. */
  append(r: OutboxRecord): string {
    this.opts.journal.append({ cls: r.cls, topic: r.topic, payload: Buffer.from(r.body), ...boardDelivery(r.cls) })
    return r.id
  }

  republishBirth(): void {
    if (this.client?.connected) this.sendLive(this.client, this.stamp('status', this.birth()))
  }

  /** Resolves once everything handed to the link so far is on disk. */
  flush(): Promise<void> {
    return this.opts.journal.flush()
  }

  private pump(): void {
    const client = this.client
    if (!client?.connected || !this.sending) return
    const journal = this.opts.journal
    const window = this.opts.window ?? 32
    const backlogWindow = window - Math.min(window - 1, this.opts.liveReserve ?? 8)
    const committed = journal.committedN
    while (this.inFlight.size < window && this.liveCursor <= committed) {
      const e = journal.get(this.liveCursor++)
      if (e && !this.inFlight.has(e.n)) this.send(client, e, 'live')
    }
    const backlogLast = Math.min(this.backlogEnd, committed)
    // A token bucket (50 ms of burst) paces the backlog; live entries above never wait for tokens.
    const rate = this.opts.backlogRate ?? 1000
    if (Number.isFinite(rate)) {
      const t = performance.now()
      this.tokens = Math.min(Math.max(1, rate / 20), this.tokens + ((t - this.tokensAt) * rate) / 1000)
      this.tokensAt = t
    } else {
      this.tokens = Infinity
    }
    while (this.inFlight.size < window && this.backlogInFlight < backlogWindow && this.backlogCursor <= backlogLast && this.tokens >= 1) {
      const e = journal.get(this.backlogCursor++)
      if (e && !this.inFlight.has(e.n)) {
        this.send(client, e, 'backlog')
        this.tokens--
      }
    }
    if (this.backlogCursor <= backlogLast && this.tokens < 1 && !this.paceTimer) {
      this.paceTimer = setTimeout(() => {
        this.paceTimer = null
        this.pump()
      }, Math.ceil(((1 - this.tokens) * 1000) / rate))
    }
  }

  private send(client: HubSession, e: JournalEntry, lane: Lane): void {
    this.inFlight.set(e.n, lane)
    if (lane === 'backlog') this.backlogInFlight++
    const t0 = performance.now()
    client
      .publishAsync(e.topic, e.payload, { qos: e.qos, retain: e.retain })
      .then(() => {
        if (lane === 'live' && e.qos === 1) this.health.rttMs = performance.now() - t0
        this.health.lastProgressAt = this.now()
        this.opts.journal.ack(e.n)
      })
      .catch((err: Error) => {
        // Only when the client is ending; the entry stays in the journal for the next run.
        this.opts.log.debug({ err: err.message, n: e.n }, 'publish not acknowledged')
      })
      .finally(() => {
        this.inFlight.delete(e.n)
        if (lane === 'backlog') this.backlogInFlight--
        this.pump()
      })
  }

  /** Clean stop: an offline status with the reason, so the hall view can tell a restart from a crash. */
  async stop(reason: OfflineReason = 'stop'): Promise<void> {
    this.stopping = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    if (this.paceTimer) clearTimeout(this.paceTimer)
    this.reconnectTimer = null
    this.paceTimer = null
    const client = this.client
    this.client = null
    if (!client) return
    if (client.connected) {
      const bye = this.stamp('status', { online: false, reason })
      await Promise.race([
        client.publishAsync(bye.topic, bye.body, { qos: bye.qos, retain: bye.retain }).catch(() => {}),
        new Promise((r) => setTimeout(r, 2000)),
      ])
    }
    // Not forced: a forced end skips DISCONNECT, and the hub would then publish the will over our clean stop.
    await Promise.race([client.endAsync(false), new Promise((r) => setTimeout(r, 2000))])
    if (!client.disconnected) await client.endAsync(true)
  }
}

import type { ConnectionOptions } from 'node:tls'
import type { Aedes, AedesPublishPacket } from 'aedes'
import type { MqttClient, IPublishPacket } from 'mqtt'
import { parseMessage, parseTopic, topics, type BridgeState } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { connectMqtt, parseBrokerUrl } from '../edge/shared/mqtt-connect.ts'
import { TurnWrites } from '../edge/shared/turn-writes.ts'
import { Backoff } from '../edge/shared/backoff.ts'
import type { Custody, CustodyRecord } from './custody-log.ts'
import type { HubCounters } from './hub-counters.ts'
import { commandId, type CommandGate, type CommandRefusal } from './command-gate.ts'
import { RecentIds } from './recent-ids.ts'
import type { DeliveryWatch } from './memory-first-outgoing.ts'
import { CentralReturnWatch, UNANSWERED_CONNECT_ERRORS } from './central-return-watch.ts'
import { InOrderAcks } from './central-acks.ts'

export type { BridgeState } from '../edge/protocol/index.ts'

/** A board's retained topics (docs/contract.md § Topics). */
const RETAINED_KINDS: ReadonlySet<string> = new Set(['status', 'state', 'screen', 'update'])

export interface UpstreamOptions {
  url: string
  username?: string
  password?: string
  clientId?: string
  /** CA, client certificate and key for an mqtts:// central. */
  tls?: ConnectionOptions
}

export interface BridgeOptions {
  hall: string
  hubId: string
  boot: string
  version: string
  aedes: Aedes
  custody: Custody
  upstream: UpstreamOptions
  counters: HubCounters
  /** Answers central's commands that no board will act on (unknown counter, QoS 0, retained). */
  commands: CommandGate
  log: Logger
  /** Batches the writes to central of a turn; the process shares one with its broker (default: the bridge's own). */
  turnWrites?: TurnWrites
  /** QoS 1 publishes in flight to central at once (default 256: with 64 the bridge fell behind a busy hall, docs/benchmarks.md). */
  window?: number
  /** Reconnect delays: jittered, doubling from min up to max (see backoffDelay). */
  reconnectMinMs?: number
  reconnectMaxMs?: number
  /**
   * While waiting out the backoff after central's port refused a connect, knock on it this often
   * (jittered) and reconnect the moment it answers (hub/central-return-watch.ts); 0: never knock.
   */
  returnProbeMs?: number
  /** Most often the backlog count on hall/{hall}/hub/bridge is refreshed while it changes. */
  stateIntervalMs?: number
  random?: () => number
  /**
   * Whether the hall's store (a cluster's Redis) can take a message now. While it cannot, a command
   * from central is held, unacknowledged, and handed into the hall once it can: never acknowledged and
   * lost. Absent: always (a single hub's broker is in process).
   */
  storeReady?: () => boolean
  /**
   * In a cluster: whether another node runs and will take the bridge at once. Then a clean stop says
   * nothing offline at central (the hall's hub is still there; the next node's birth replaces this
   * one's) and disconnects cleanly, so central does not publish the will either.
   */
  handover?: () => boolean
  /**
   * The session store keeping connected boards' queues in memory (hub/memory-first-outgoing.ts): a
   * message from central is acknowledged only once every memory copy of it is PUBACKed by its board
   * or written to disk. Absent: Aedes's publish has already written them (a cluster's Redis).
   */
  deliveries?: { watch(payload: Buffer): DeliveryWatch }
  /**
   * The hall's retained messages as the hub's broker holds them. When central's broker has no
   * session for the bridge (it restarted without its store, or another node of its cluster took
   * the connection), it has lost its retained copies too: the boards' status, state, screen and
   * update are sent to it again from here. Absent: never.
   */
  retained?: (pattern: string) => AsyncIterable<{ topic: string; payload: Buffer }>
}

/**
 * Carries the custody log to central in order (docs/architecture.md §4 step 3) and
 * central's commands down. Topics are the same on both sides, so nothing is
 * rewritten. What goes up is only what the custody log holds (board messages)
 * and live telemetry; what the bridge injects into the hall (commands, central
 * status) goes through aedes.publish, which bypasses publish authorisation
 * and so never enters the log: no loops.
 *
 * One MQTT client per connection attempt, with mqtt.js's own reconnect off:
 * the bridge picks the jittered delay, and everything in flight on a lost
 * connection is sent again, first, on the next one.
 */
export class Bridge {
  private client: MqttClient | null = null
  /** Bumped on every connect and loss, so callbacks of an old connection are ignored. */
  private gen = 0
  private state: BridgeState = 'disconnected'
  private stateSince = new Date().toISOString()
  private readonly backoff: Backoff
  private reconnectTimer: NodeJS.Timeout | null = null
  private stateTimer: NodeJS.Timeout | null = null
  private stopped = false
  private failuresLogged = 0
  /** The error code of the last failed attempt: whether central's port answered at all. */
  private lastErrorCode: string | null = null
  private returnWatch: CentralReturnWatch | null = null
  /** Highest seq read from the custody log; everything up to it is in flight, ready, or acknowledged. */
  private cursor = 0
  private ready: CustodyRecord[] = []
  private readonly inflight = new Map<number, CustodyRecord>()
  /**
   * Ids of the commands handed into the hall lately. A command central's broker kept retained by
   * mistake reaches the bridge twice: live first (not flagged retained, so handed in, and the
   * window answers it), then flagged retained at the bridge's next subscription. That second copy is
   * only cleared: a refusal for it would give the command a second reply.
   */
  private readonly handedIn = new RecentIds(10_000)
  private reading = false
  private drained = false
  private appends = 0
  private unlistenAppends: (() => void) | null = null
  private readonly window: number
  private readonly liveTopic: string
  private readonly turnWrites: TurnWrites
  private readonly deliverLive = (packet: AedesPublishPacket, done: () => void) => {
    this.forwardLive(packet)
    done()
  }

  constructor(private readonly opts: BridgeOptions) {
    this.window = Math.max(1, opts.window ?? 256)
    this.turnWrites = opts.turnWrites ?? new TurnWrites()
    // Any connection resets it (stableMs 0), as the bridge always did: central is one well-run broker, not a hall of flapping boards.
    this.backoff = new Backoff({ minMs: opts.reconnectMinMs ?? 1_000, maxMs: opts.reconnectMaxMs ?? 30_000, stableMs: 0, ...(opts.random ? { random: opts.random } : {}) })
    this.liveTopic = topics.hallTelemetry(opts.hall)
  }

  /** Messages in custody not yet acknowledged by central. */
  get backlog(): number {
    return this.opts.custody.size
  }

  get linkState(): BridgeState {
    return this.state
  }

  get inFlight(): number {
    return this.inflight.size
  }


  async start(): Promise<void> {
    await new Promise<void>((r) => this.opts.aedes.subscribe(this.liveTopic, this.deliverLive, () => r()))
    this.unlistenAppends = this.opts.custody.onAppended(() => {
      this.appends++
      this.drained = false
      this.pump()
      this.backlogChanged()
    })
    this.publishState()
    this.connect()
  }

  private connect(): void {
    if (this.stopped) return
    const { hall, upstream, log } = this.opts
    const gen = ++this.gen
    this.stopReturnWatch()
    this.lastErrorCode = null
    this.setState('connecting')
    // No ts: central sends the will whenever the link drops, minutes or days after it was written here.
    const will = { online: false, hub: this.opts.hubId, boot: this.opts.boot, reason: 'will' }
    const client = connectMqtt({
      addresses: [parseBrokerUrl(upstream.url)],
      ...(upstream.tls ? { tls: upstream.tls } : {}),
      clientId: upstream.clientId ?? `hub-${hall}`,
      clean: false,
      reconnectPeriod: 0,
      // The drain to central writes a publish per custody record: one write per turn instead.
      batchWrites: this.turnWrites,
      username: upstream.username,
      password: upstream.password,
      will: { topic: topics.hubStatus(hall), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
    })
    this.client = client
    // PUBACK to central only once the message is safe in the hall, in the order central sent them (hub/central-acks.ts).
    const acks = new InOrderAcks((messageId) => {
      if (gen === this.gen && client.connected) (client as unknown as PubackWriter)._sendPacket({ cmd: 'puback', messageId })
    })
    client.handleMessage = (packet, cb) => this.fromCentral(packet as IPublishPacket, handlingOf(packet as IPublishPacket, cb, acks))
    client.on('connect', (connack) => {
      if (gen !== this.gen) return
      this.backoff.connected()
      this.failuresLogged = 0
      log.info({ upstream: this.redactedUrl(), sessionPresent: connack.sessionPresent }, 'bridge connected to central')
      this.announce(client)
      if (!connack.sessionPresent) void this.retainAgain()
      // The hall's hub status at central too: an offline status of another node (its will, sent late after a
      // network cut, or its clean stop before it knew of this node) must not stand while this node bridges.
      client.subscribe({ [topics.hallCommands(hall)]: { qos: 1 }, [topics.centralStatus(hall)]: { qos: 1 }, [topics.centralWaiting(hall)]: { qos: 1 }, [topics.hubStatus(hall)]: { qos: 1 } }, (err) => {
        if (err && gen === this.gen) log.error({ err: err.message }, 'bridge could not subscribe upstream')
      })
      this.setState('connected')
      this.pump()
    })
    let attemptError: string | null = null
    client.on('close', () => {
      if (gen !== this.gen) return
      this.lastErrorCode = attemptError
      this.lost()
    })
    client.on('error', (err) => {
      // Once stop() began, the client's last writes (an acknowledgement, the forced end after the clean
      // DISCONNECT) may meet a closed socket: that is the stop, not a fault of central's.
      if (this.stopped) return void log.debug({ err: err.message }, 'bridge upstream error while stopping')
      attemptError = (err as NodeJS.ErrnoException).code ?? null
      // An error reported after the close: this attempt is still the last one lost (lost() bumped gen once).
      if (gen === this.gen - 1 && this.client === null) {
        this.lastErrorCode = attemptError
        this.watchForReturn()
      }
      // A central that stays away would fill the log with the same line every few seconds.
      if (this.failuresLogged++ < 3) log.warn({ err: err.message }, 'bridge upstream error')
      else log.debug({ err: err.message }, 'bridge upstream error')
    })
  }

  private lost(): void {
    const client = this.client
    this.client = null
    this.gen++
    client?.end(true)
    if (this.state === 'connected') this.opts.log.warn({ inFlight: this.inflight.size, backlog: this.backlog }, 'bridge lost central')
    // What was in flight goes first on the next connection: order is kept, duplicates are central's to drop.
    const resend = [...this.inflight.values()].sort((a, b) => a.seq - b.seq)
    this.inflight.clear()
    this.ready = [...resend, ...this.ready]
    this.setState('disconnected')
    if (this.stopped) return
    this.backoff.disconnected()
    const delay = this.backoff.next()
    this.opts.log.debug({ delayMs: delay, attempt: this.backoff.attempts }, 'bridge reconnecting')
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.connect()
    }, delay)
    this.watchForReturn()
  }

  /**
   * Armed while the bridge waits to reconnect after central's port refused it: the backoff is for a
   * broker that is there and failing, not for one that is gone; the first answer ends the wait.
   */
  private watchForReturn(): void {
    const every = this.opts.returnProbeMs ?? 1_000
    if (this.stopped || every <= 0 || !this.reconnectTimer || this.returnWatch) return
    if (!this.lastErrorCode || !UNANSWERED_CONNECT_ERRORS.has(this.lastErrorCode)) return
    const watch = new CentralReturnWatch({
      address: parseBrokerUrl(this.opts.upstream.url),
      everyMs: every,
      random: this.opts.random ?? Math.random,
      onAnswer: () => {
        if (this.returnWatch !== watch || this.stopped) return
        this.returnWatch = null
        if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
        this.reconnectTimer = null
        this.backoff.reset()
        this.opts.log.info({ upstream: this.redactedUrl() }, 'central answers again: reconnecting now')
        this.connect()
      },
    })
    this.returnWatch = watch
    watch.start()
  }

  private stopReturnWatch(): void {
    this.returnWatch?.stop()
    this.returnWatch = null
  }

  /** Keeps the window full: an acknowledgement frees one slot, and the next record takes it at once. */
  private pump(): void {
    const client = this.client
    if (!client || this.state !== 'connected' || this.stopped) return
    while (this.inflight.size < this.window && this.ready.length > 0) this.send(client, this.ready.shift()!)
    if (!this.reading && !this.drained && this.ready.length < this.window) this.readMore()
  }

  private readMore(): void {
    this.reading = true
    const seen = this.appends
    const want = this.window * 2
    this.opts.custody.next(this.cursor, want).then(
      (records) => {
        this.reading = false
        const last = records[records.length - 1]
        if (last) this.cursor = last.seq
        this.ready.push(...records)
        // Nothing more unless an append landed while we read (then read again).
        if (records.length < want && seen === this.appends) this.drained = true
        this.pump()
      },
      (err: Error) => {
        this.opts.log.error({ err: err.message }, 'could not read the custody log; retrying')
        setTimeout(() => {
          this.reading = false
          this.pump()
        }, 1_000).unref()
      },
    )
  }

  private send(client: MqttClient, r: CustodyRecord): void {
    const gen = this.gen
    this.inflight.set(r.seq, r)
    client.publish(r.topic, r.payload, { qos: 1, retain: r.retain }, (err) => {
      if (gen !== this.gen || this.stopped) return
      // mqtt.js fails a publish only as its connection goes; the record is resent on the next one.
      if (err) return void this.opts.log.debug({ seq: r.seq, err: err.message }, 'bridge publish not acknowledged')
      if (!this.inflight.delete(r.seq)) return
      this.opts.custody.ack(r.seq)
      this.opts.counters.bridgedUp++
      this.backlogChanged()
      this.pump()
    })
  }

  /** Telemetry is QoS 0: forwarded while central is there, never kept. */
  private forwardLive(packet: AedesPublishPacket): void {
    if (packet.qos !== 0 || !this.client || this.state !== 'connected') return
    if (!parseMessage(packet.topic, packet.payload).ok) return
    this.client.publish(packet.topic, Buffer.from(packet.payload), { qos: 0, retain: false })
    this.opts.counters.bridgedUp++
  }

  /**
   * Central's broker kept no session for the bridge, so it kept none of the hall's retained messages
   * either (a broker restarted without persistence keeps neither): without this, central saw no window
   * at all until each one's state next changed. The newest of each goes into custody behind what is
   * there, so it reaches central after any older copy still in the backlog and is what central retains.
   * Copies of messages central may have had already: it drops them by id (docs/integration.md).
   */
  private async retainAgain(): Promise<void> {
    const { retained, hall, custody, log } = this.opts
    if (!retained) return
    let sent = 0
    try {
      for await (const packet of retained(topics.hallCounters(hall))) {
        const t = parseTopic(packet.topic)
        if (!t || t.hall !== hall || !RETAINED_KINDS.has(t.kind)) continue
        const payload = Buffer.from(packet.payload)
        if (payload.length === 0 || !parseMessage(packet.topic, payload).ok) continue
        await custody.append({ topic: packet.topic, payload, qos: 1, retain: true })
        sent++
      }
      log.info({ sent }, "central's broker had no session for the bridge: the hall's retained status and state sent to it again")
    } catch (err) {
      log.error({ err: (err as Error).message }, "could not send the hall's retained status and state to central again")
    }
  }

  /** The hall's hub is online, through this node: retained at central. */
  private announce(client: MqttClient): void {
    const birth = { online: true, hub: this.opts.hubId, boot: this.opts.boot, version: this.opts.version, ts: new Date().toISOString() }
    client.publish(topics.hubStatus(this.opts.hall), JSON.stringify(birth), { qos: 1, retain: true })
  }

  private fromCentral(packet: IPublishPacket, h: Handling): void {
    const topic = packet.topic
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
    const t = parseTopic(topic)
    if (t?.kind === 'hub-status' && t.hall === this.opts.hall) {
      const m = parseMessage(topic, payload)
      const other = m.ok && m.kind === 'hub-status' && (m.message.hub !== this.opts.hubId || m.message.boot !== this.opts.boot)
      if (other && !m.message.online && this.client && this.state === 'connected') {
        this.opts.log.info({ hub: m.message.hub, reason: m.message.reason }, "another node's offline status at central while this node bridges: announcing the hall's hub online again")
        this.announce(this.client)
      }
      return h.safe()
    }
    if (!t || t.hall !== this.opts.hall || (t.kind !== 'cmd' && t.kind !== 'central-status' && t.kind !== 'central-waiting')) {
      this.opts.counters.refusedDown++
      this.opts.log.warn({ topic }, "ignored a message from central outside this hall's command topics")
      return h.safe()
    }
    if (t.kind === 'cmd') return this.commandFromCentral(topic, payload, packet, h, this.gen, 0)
    // Central status and waiting counts always are retained: a broker clears the retain flag when it delivers live, and the contract retains them.
    this.intoHall(topic, payload, true, this.gen, 0, h)
  }

  /**
   * A command from central reaches the hall only at QoS 1, not retained, and for a counter a board
   * of this hall will take; anything else is answered with a refusal instead of vanishing
   * (hub/command-gate.ts, docs/integration.md "Commands the hub answers").
   */
  private commandFromCentral(topic: string, payload: Buffer, packet: IPublishPacket, h: Handling, gen: number, attempt: number): void {
    if (gen !== this.gen || this.stopped) {
      this.opts.log.warn({ topic }, 'a command from central was not judged before its connection ended: central sends it again to the next bridge')
      return
    }
    // An empty payload is the clearing of a retained command (ours, below, or central's own): there is no command in it.
    if (payload.length === 0) {
      this.opts.counters.refusedDown++
      this.opts.log.debug({ topic }, 'ignored an empty command from central (the clearing of a retained one)')
      return h.safe()
    }
    const hold = (why: string) => {
      // The sessions or custody live in the store (Redis in a cluster): held unacknowledged and judged again, as intoHall holds.
      if (attempt === 0) this.opts.log.warn({ topic, why }, '中央下发的命令暂存，待存储恢复后处理 / holding a command from central until the hall store answers')
      setTimeout(() => this.commandFromCentral(topic, payload, packet, h, gen, attempt + 1), 500).unref()
    }
    if (this.opts.storeReady && !this.opts.storeReady()) return hold('the hall store (Redis) is unreachable')
    const id = commandId(payload)
    if (packet.retain && id !== null && this.handedIn.has(id)) {
      this.clearRetained(topic)
      this.opts.log.info({ topic, cmd: id }, 'the retained copy of a command already handed into the hall: cleared, not answered again')
      return h.safe()
    }
    const judged: Promise<CommandRefusal | null> = packet.retain
      ? Promise.resolve({ code: 'retained-refused', message: 'commands are never retained: this one was retained at the central broker; not delivered, and the retained copy was cleared' })
      : packet.qos === 0
        ? Promise.resolve({ code: 'qos-required', message: 'commands are QoS 1: this one came at QoS 0 and was not delivered' })
        : this.opts.commands.judge(topic)
    judged
      .then(async (refusal) => {
        if (!refusal) {
          if (id !== null) this.handedIn.add(id)
          return this.intoHall(topic, payload, false, gen, 0, h)
        }
        if (packet.retain) this.clearRetained(topic)
        await this.opts.commands.answer(topic, payload, refusal)
        h.safe()
      })
      .catch((err: Error) => hold(err.message))
  }

  /**
   * A retained command would be handed to the hub again on every reconnect, and to anyone who
   * subscribes: an empty retained message on its topic removes it from central's broker. (The
   * empty message comes back to the bridge too, and is ignored above.)
   */
  private clearRetained(topic: string): void {
    const client = this.client
    if (!client || this.state !== 'connected') return
    this.opts.log.info({ topic }, 'cleared a retained command at central')
    client.publish(topic, Buffer.alloc(0), { qos: 1, retain: true })
  }

  /**
   * Hands a message from central into the hall, and acknowledges it once it is safe there. While the
   * store is away (or the publish fails) it is tried again every half second; mqtt.js reads nothing more
   * from central until it is handed in, so commands keep their order. If this connection ends first, it is not
   * acknowledged at all and central sends it again to the next bridge (same client id, persistent
   * session): delivered once the hall can take it, or refused by the board as expired; never silence.
   */
  private intoHall(topic: string, payload: Buffer, retain: boolean, gen: number, attempt: number, h: Handling): void {
    if (gen !== this.gen || this.stopped) {
      this.opts.log.warn({ topic }, 'a message from central was not handed into the hall before its connection ended: central sends it again to the next bridge')
      return
    }
    const retry = (why: string) => {
      if (attempt === 0) this.opts.log.warn({ topic, why }, '中央下发的消息暂存，待存储恢复后送达 / holding a message from central until the hall can take it')
      setTimeout(() => this.intoHall(topic, payload, retain, gen, attempt + 1, h), 500).unref()
    }
    if (this.opts.storeReady && !this.opts.storeReady()) return retry('the hall store (Redis) is unreachable')
    // A Redis command already sent when the connection drops is neither answered nor failed: ioredis keeps it
    // and sends it again once Redis is back (maxRetriesPerRequest bounds only unsent ones), so the publish
    // completes only then, and mqtt.js takes nothing more from central meanwhile. Said, not silent.
    const stuck = setTimeout(() => this.opts.log.warn({ topic }, '中央下发的消息正等待存储恢复 / a message from central waits for the hall store (Redis) to take it; handed in once Redis is back'), 2_000).unref()
    // Watched by its payload Buffer, which Aedes passes through to the session store untouched (see MemoryFirstOutgoing.watching).
    const watch = this.opts.deliveries?.watch(payload)
    this.opts.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, (err) => {
      clearTimeout(stuck)
      if (err || gen !== this.gen) watch?.cancel()
      // Handed in after its connection ended (the wait above outlasted the lease): central sends it again to the next bridge, and the board drops the copy by its id.
      if (gen !== this.gen) return void this.opts.log.info({ topic }, 'a message from central was handed into the hall after its connection ended')
      if (err) return retry(err.message)
      // In the hall's broker, in order: the next message from central may be read while this one's boards acknowledge it.
      h.readOn()
      // Central's PUBACK promises the message survives kill -9: wait until no copy of it lives only in memory.
      void (watch ? watch.settled() : Promise.resolve()).then(() => {
        if (gen !== this.gen) return void this.opts.log.info({ topic }, 'a message from central reached its boards after its connection ended')
        if (attempt > 0) this.opts.log.info({ topic, attempts: attempt + 1 }, 'held message from central handed into the hall')
        this.opts.counters.bridgedDown++
        h.safe()
      })
    })
  }

  private setState(state: BridgeState): void {
    if (state === this.state) return
    this.state = state
    this.stateSince = new Date().toISOString()
    this.publishState()
  }

  private backlogChanged(): void {
    if (this.stateTimer || this.stopped) return
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null
      this.publishState()
    }, this.opts.stateIntervalMs ?? 1_000)
  }

  private publishState(): void {
    const { hall, aedes } = this.opts
    const msg = { state: this.state, backlog: this.backlog, since: this.stateSince, ts: new Date().toISOString(), upstream: this.redactedUrl() }
    const payload = Buffer.from(JSON.stringify(msg))
    if (!aedes.closed) aedes.publish({ cmd: 'publish', topic: topics.hubBridge(hall), payload, qos: 1, retain: true, dup: false }, () => {})
    if (this.client && this.state === 'connected') this.client.publish(topics.hubBridge(hall), payload, { qos: 1, retain: true })
  }

  private redactedUrl(): string {
    try {
      const u = new URL(/^[a-z]+:\/\//.test(this.opts.upstream.url) ? this.opts.upstream.url : `mqtt://${this.opts.upstream.url}`)
      u.username = ''
      u.password = ''
      return u.toString().replace(/\/$/, '').slice(0, 200)
    } catch {
      return 'invalid-url'
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.stopReturnWatch()
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    if (this.stateTimer) clearTimeout(this.stateTimer)
    this.unlistenAppends?.()
    await new Promise<void>((r) => this.opts.aedes.unsubscribe(this.liveTopic, this.deliverLive, () => r()))
    const client = this.client
    this.client = null
    this.gen++
    const handover = this.opts.handover?.() ?? false
    if (client?.connected && !handover) {
      const bye = { online: false, hub: this.opts.hubId, boot: this.opts.boot, ts: new Date().toISOString(), reason: 'stop' }
      await Promise.race([
        client.publishAsync(topics.hubStatus(this.opts.hall), JSON.stringify(bye), { qos: 1, retain: true }).catch(() => {}),
        new Promise((r) => setTimeout(r, 1_000)),
      ])
    }
    if (client?.connected) {
      // A clean DISCONNECT, so central discards the will (a forced close would have it published).
      await Promise.race([client.endAsync(false).catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())])
    }
    await client?.endAsync(true).catch(() => {})
    this.state = 'disconnected'
    this.stateSince = new Date().toISOString()
    this.publishState()
  }
}

/** mqtt.js's own way of writing a packet: the bridge writes its PUBACKs to central itself (hub/central-acks.ts). */
interface PubackWriter {
  _sendPacket(packet: { cmd: 'puback'; messageId: number }): void
}

/** What the bridge does with one message from central as it goes: let mqtt.js read the next, acknowledge this one. */
interface Handling {
  /** Handed into the hall in order: mqtt.js may read the next message (no PUBACK yet). */
  readOn(): void
  /** Safe in the hall (or answered, or ignored): acknowledged to central, in order. Also reads on. */
  safe(): void
}

/** Passed to mqtt.js's callback instead of acknowledging: it then reads on and sends no PUBACK (the queue sends it). */
const ACK_DEFERRED = new Error('acknowledged in order by the bridge once safe in the hall')

function handlingOf(packet: IPublishPacket, cb: (err?: Error) => void, acks: InOrderAcks): Handling {
  if (packet.qos === 1 && typeof packet.messageId === 'number') {
    const ack = acks.take(packet.messageId)
    let read = false
    const readOn = () => {
      if (read) return
      read = true
      cb(ACK_DEFERRED)
    }
    return { readOn, safe: () => (readOn(), ack()) }
  }
  // QoS 0 needs no PUBACK, QoS 2 (never subscribed to) keeps mqtt.js's own handshake: both read on once safe.
  let done = false
  const safe = () => {
    if (done) return
    done = true
    cb()
  }
  return { readOn: () => {}, safe }
}

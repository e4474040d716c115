import type { EventEmitter } from 'node:events'
import { Aedes, type AedesPublishPacket, type Client, type AuthenticateError, type PublishPacket } from 'aedes'
import { parseTopic, topics, type ParsedTopic } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { TurnWrites } from '../edge/shared/turn-writes.ts'
import type { CredentialStore, Principal } from './credentials.ts'
import { authorizeClientId, authorizePublish, authorizeSubscribe, readPrefix } from './acl.ts'
import { ConnectionGuard } from './address-guards.ts'
import type { LoginLimiter } from './login-limiter.ts'
import type { HubCounters, RefusalKind } from './hub-counters.ts'
import type { HubLimits } from './limits.ts'
import { HubListeners, type ListenerConfig, type ConnectionMeta } from './listeners.ts'
import { QueueCappedPersistence, type SessionPersistence } from './session-store.ts'
import { SessionQuota } from './session-quota.ts'
import { GrantedSubscriptions } from './granted-subscriptions.ts'
import type { LogLimiter } from './log-limiter.ts'
import type { Quarantine, QuarantinedMessage } from './quarantine.ts'
import type { Uplink } from './uplink.ts'
import { Qos2Receipts } from './qos2-receipts.ts'
import { CommandGate, type CommandRefusal } from './command-gate.ts'
import { HeldCommands } from './held-commands.ts'
import type { Custody } from './custody-log.ts'

export interface BrokerOptions {
  /** Unique per run: wills a crashed run left in the persistence belong to its id, so Aedes publishes them. */
  id: string
  /** The hub's name and boot, as on hall/{hall}/hub/status: the replies the hub gives commands itself carry them. */
  hubId: string
  boot: string
  /** The hall this hub serves: credentials issued for another hall are refused. */
  hall: string
  /** Aedes heartbeat; wills of a previous run are published within four of these. */
  heartbeatMs?: number
  listeners: ListenerConfig
  credentials: CredentialStore
  /** Shared with the dashboard's login: one set of failure buckets and password-check slots per hub. */
  logins: LoginLimiter
  counters: HubCounters
  limits: HubLimits
  persistence: SessionPersistence
  /** Messages between the nodes of a hall cluster (mqemitter-redis); absent: in-process. */
  mq?: unknown
  /** The hub's wall clock, for held commands' expiry (hub/held-commands.ts); default Date.now. */
  now?: () => number
  /** In a cluster every node enqueues and any node clears, so the queue cap counts in the shared store. */
  countQueued?: (clientId: string) => Promise<number>
  /** Custody for central; absent when the hub has no upstream. */
  uplink?: Uplink | null
  /** The custody log the uplink writes, for the replies the hub gives commands itself; absent without upstream. */
  custody?: Custody | null
  /** Where a board's own messages the hub cannot accept are kept before they are acknowledged. */
  quarantine: Quarantine
  log: Logger
  /** Where refusal lines go: a storm of one kind writes a bounded number of them (hub/log-limiter.ts). */
  refusalLines: LogLimiter
  /** Board sessions coming and going, for the hall view. */
  onBoardSession?: (p: Principal, connected: boolean) => void
  /** Batches each client's writes of a turn; the process shares one with its bridge (default: the broker's own). */
  turnWrites?: TurnWrites
}

/** CONNACK return codes of MQTT 3.1.1. */
const RC = { identifierRejected: 2, serverUnavailable: 3, badCredentials: 4, notAuthorized: 5 } as const

/** Errors the hub raises itself carry this mark: they are logged where raised, not again as client errors. */
const REFUSED = Symbol('hub refusal')

function refusal(message: string): Error {
  return Object.assign(new Error(message), { [REFUSED]: true })
}

/**
 * What a board's journal would send again for ever if refused: QoS 1 or 2, under its own window,
 * not a command. Anything else a board is refused (another window, another hall, a command) is a
 * breach, not a mistake, and closes its connection.
 */
function isOwnMessage(p: Principal, packet: PublishPacket): boolean {
  if (p.role !== 'board' || !p.counter || packet.qos === 0) return false
  const prefix = topics.counterPrefix(p.hall, p.counter)
  return packet.topic.startsWith(prefix) && !packet.topic.startsWith(topics.counterCommandPrefix(p.hall, p.counter)) && packet.topic.length > prefix.length
}

/** topic.split('/').length > max, without an array of levels for every message. */
function levelsOver(topic: string, max: number): boolean {
  let levels = 1
  for (let i = topic.indexOf('/'); i !== -1; i = topic.indexOf('/', i + 1)) if (++levels > max) return true
  return false
}

function connackError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(refusal(message), { returnCode }) as AuthenticateError
}

/** What preConnect saw in the CONNECT packet, for checks that need the principal. */
interface ConnectInfo {
  emptyIdWithSession: boolean
  /** The client sent no id (clean session on): Aedes made up a random one. */
  assignedId: boolean
  /** Clean session on: nothing of the session outlives the connection. */
  clean: boolean
  protocolVersion: number
  will: { topic: string; retain: boolean; bytes: number } | null
}

/**
 * A quarantined message goes on to Aedes under this prefix, which no one may subscribe to
 * (the ACL refuses $-filters, and '#' alone): acknowledged, it reaches no reader.
 */
const QUARANTINED_PREFIX = '$quarantined/'

/** ioredis's errors: a refused or queued-too-long command, a closed connection. */
const STORE_ERROR = /^(ReplyError|MaxRetriesPerRequestError|AbortError)$|Connection is closed|max retries per request|enableOfflineQueue/
/**
 * Errors a socket raises on its own (a reset, a timeout, a write to a socket whose
 * peer has just ended it, as every board of a simulated hall does on Ctrl-C)
 * rather than a client sending garbage.
 */
const TRANSPORT_ERROR = /^(ECONNRESET|EPIPE|ETIMEDOUT|ERR_STREAM_PREMATURE_CLOSE|ERR_STREAM_WRITE_AFTER_END|ERR_STREAM_DESTROYED)$|write after end|connection closed|keep alive timeout|did not arrive in time|over the limit|^ABORT_ERR$|operation was aborted/

/**
 * The hall's Aedes broker: every client authenticates, every publish and
 * subscribe passes the limits and the ACL, and every refusal is logged with
 * its kind and counted. A board message that goes to central is durable in
 * the custody log before Aedes sends its PUBACK (Aedes acknowledges right
 * after this authorisation step, before storing anything itself).
 */
/** Where a refused publish came from, as its refusal line names it. */
function refusedAt(client: Client, packet: PublishPacket): { client: string; topic: string } {
  return { client: client.id, topic: packet.topic.slice(0, 200) }
}

export class HubBroker {
  readonly aedes: Aedes
  readonly listeners: HubListeners
  readonly persistence: QueueCappedPersistence
  private readonly principals = new WeakMap<Client, Principal>()
  /** What each logged-in client may read lies under this (acl.ts readPrefix); absent: nothing. */
  private readonly readPrefixes = new WeakMap<Client, string>()
  /** The credential version each client logged in under (see CredentialStore.credentialVersion). */
  private readonly versions = new WeakMap<Client, string | null>()
  private readonly connects = new WeakMap<Client, ConnectInfo>()
  /** Filters granted to each connection (limits.maxSubscriptionsPerClient); only these reach a persistent session's store. */
  private readonly filters = new WeakMap<Client, Set<string>>()
  /** Clients closed for not reading (limits.drainTimeoutMs), said once each. */
  private readonly slowReaders = new WeakSet<Client>()
  /** Inbound QoS 2 packet ids whose first copy passed the authorisation, until PUBREL (exactly once to custody). */
  private readonly receipts = new Qos2Receipts()
  private unlistenReload: (() => void) | null = null
  /** Persistent sessions held per account (limits.maxPersistentSessionsPerAccount). */
  readonly sessions: SessionQuota
  /** Answers commands no board will act on; the bridge uses it for central's (hub/command-gate.ts). */
  readonly commands: CommandGate

  constructor(private readonly opts: BrokerOptions) {
    const { limits, log } = opts
    this.sessions = new SessionQuota(limits.maxPersistentSessionsPerAccount)
    const granted = new GrantedSubscriptions(opts.persistence, (client, filter) => this.filters.get(client as Client)?.has(filter) === true)
    this.persistence = new QueueCappedPersistence(
      granted,
      limits.maxQueuedPerClient,
      (clientId, packet) => {
        this.refuse('offline-queue-full', { client: clientId, topic: (packet as { topic?: string }).topic, cap: limits.maxQueuedPerClient }, 'dropped a message for a client whose queue is full')
      },
      (operation, err) => log.error({ operation, err: err.message }, 'session store operation failed'),
      opts.countQueued,
      this.receipts,
    )
    // Outermost, so it sees only the queue streams Aedes hands to reconnecting clients (the cap's counts read the inner ones).
    const held = new HeldCommands(this.persistence)
    const guard = new ConnectionGuard({ maxPerAddress: limits.maxConnectionsPerAddress, burst: limits.connectBurstPerAddress, perSecond: limits.connectsPerSecondPerAddress })
    this.aedes = new Aedes({
      id: opts.id,
      persistence: held,
      ...(opts.mq ? { mq: opts.mq } : {}),
      drainTimeout: limits.drainTimeoutMs,
      heartbeatInterval: opts.heartbeatMs ?? 15_000,
      // Our own, lower limit is checked (and logged) in the authorisation hooks.
      maxTopicLevels: 100,
      preConnect: (client, packet, cb) => {
        // mqtt-packet takes a will at QoS 3 (MQTT-3.1.2-14 forbids it) and Aedes stores it as given; fired, it is
        // a packet no writer can encode, and every reader it reached, retained ones ever after, was closed.
        if (packet.will && (packet.will.qos ?? 0) > 2) {
          this.refuse('malformed-packet', { address: this.meta(client)?.address ?? 'unknown', client: packet.clientId.slice(0, 200), willQos: packet.will.qos }, 'closed a client whose CONNECT asks for a last will at QoS 3, which MQTT does not have (MQTT-3.1.2-14)')
          return cb(refusal('will QoS 3'), false)
        }
        this.connects.set(client, {
          emptyIdWithSession: !packet.clientId && packet.clean === false,
          assignedId: !packet.clientId,
          clean: packet.clean !== false,
          protocolVersion: packet.protocolVersion ?? 4,
          will: packet.will ? { topic: packet.will.topic, retain: Boolean(packet.will.retain), bytes: packet.will.payload?.length ?? 0 } : null,
        })
        cb(null, true)
      },
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          (err) => {
            const refused = err ?? this.sessionDecision(client)
            return refused ? done(refused, false) : done(null, true)
          },
          (err: Error) => {
            log.error({ err: err.message }, 'authentication error')
            done(connackError('authentication unavailable', 3), false)
          },
        )
      },
      authorizePublish: (client, packet, cb) => this.authorizePublish(client, packet, cb),
      authorizeForward: (client, packet) => {
        if (!this.forwardDecision(client, packet)) return null
        // A command held for this board while it was away, expired by the hub's clock: answered here, not handed over (hub/held-commands.ts).
        // forwardDecision let a board have only its own commands (acl.ts readPrefix): no topic parse needed here.
        if (this.principals.get(client)?.role !== 'board') return packet
        const refusal = held.expired(client.id, packet, (opts.now ?? Date.now)())
        if (!refusal) return packet
        void this.commands.answer(packet.topic, packet.payload as Buffer, refusal).catch((err: Error) => log.error({ err: err.message }, 'could not answer an expired held command'))
        return null
      },
      authorizeSubscribe: (client, sub, cb) => {
        if (!this.principals.has(client)) return cb(refusal('not authenticated'))
        const d = this.subscribeDecision(client, sub.topic)
        if (!d.ok) {
          this.refuse(d.kind, { client: client.id, filter: sub.topic.slice(0, 200), reason: d.reason }, 'refused subscribe')
          return cb(null, null) // SUBACK 0x80; the connection stays
        }
        cb(null, sub)
      },
    })
    this.commands = new CommandGate({
      hall: opts.hall,
      hubId: opts.hubId,
      boot: opts.boot,
      aedes: this.aedes,
      sessions: this.persistence,
      principals: () => opts.credentials.principals(),
      custody: opts.custody ?? null,
      counters: opts.counters,
      log: log.child({ module: 'commands' }),
    })
    this.aedes.on('unsubscribe', (unsubscribed, client) => {
      const held = this.filters.get(client)
      for (const f of unsubscribed) held?.delete(f)
    })
    this.aedes.on('clientError', (client, err) => this.clientError(client, err))
    this.aedes.on('connectionError', (client, err) => this.clientError(client, err))
    // Errors of the persistence surface here; one must never stop the hub.
    ;(this.aedes as unknown as EventEmitter).on('error', (err: Error) => log.error({ err: err.message }, 'broker error'))
    this.aedes.on('clientReady', (client) => {
      const p = this.principals.get(client)
      log.info({ client: client.id, role: p?.role, counter: p?.counter }, 'client connected')
      if (p?.role === 'board') opts.onBoardSession?.(p, true)
    })
    this.aedes.on('clientDisconnect', (client) => {
      const p = this.principals.get(client)
      log.info({ client: client.id }, 'client disconnected')
      // A clean session's inbound QoS 2 state ends with it (unless another connection has taken the id over).
      const current = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[client.id]
      if (client.clean && (!current || current === client)) this.receipts.forget(client.id)
      if (!client.clean && (!current || current === client)) this.releaseIfNothingStored(client.id)
      if (p?.role === 'board') opts.onBoardSession?.(p, false)
    })
    this.listeners = new HubListeners({
      config: opts.listeners,
      handle: (stream, req) => void this.aedes.handle(stream, req),
      guard,
      maxPacketBytes: limits.maxPayloadBytes + 8 * 1024,
      turnWrites: opts.turnWrites ?? new TurnWrites(),
      tlsHandshakeTimeoutMs: limits.tlsHandshakeTimeoutMs,
      refuse: (kind, fields, message) => this.refuse(kind, fields, message),
      log,
    })
  }

  /** The plain TCP port; 0 when it is off. */
  get boundPort(): number {
    return this.listeners.ports.tcp ?? 0
  }

  /** The hub address the board of `counter` is connected to now (its socket's local address), or null when it is not connected. */
  boardLocalAddress(counter: string): string | null {
    const clients = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients
    for (const c of Object.values(clients)) {
      const p = c && this.principals.get(c)
      if (c && p?.role === 'board' && p.hall === this.opts.hall && p.counter === counter) return this.meta(c)?.localAddress ?? null
    }
    return null
  }

  principalOf(client: Client): Principal | undefined {
    return this.principals.get(client)
  }

  /**
   * Counted always (for /metrics); logged within the limiter's lines per kind and, where the refusal
   * names one (connections and logins), per address: the storms come from addresses.
   */
  private refuse(kind: RefusalKind, fields: Record<string, unknown>, message: string): void {
    this.opts.counters.refuse(kind)
    const key = typeof fields.address === 'string' ? fields.address : null
    this.opts.refusalLines.warn(kind, key, { refusal: kind, ...fields }, message)
  }

  /**
   * After a successful login: a persistent session is held against its account's cap (issue 20, G);
   * a clean one ends whatever session its id held, as Aedes wipes it. Null to accept.
   */
  private sessionDecision(client: Client): AuthenticateError | null {
    const p = this.principals.get(client)
    const info = this.connects.get(client)
    if (!p || !info) return null
    if (info.clean) {
      this.sessions.release(client.id)
      return null
    }
    const d = this.sessions.admit(p.username, client.id)
    if (d.ok) return null
    const cap = this.opts.limits.maxPersistentSessionsPerAccount
    this.principals.delete(client)
    this.refuse(
      'session-cap',
      { address: this.meta(client)?.address ?? 'unknown', username: p.username, client: client.id, cap, held: d.held.slice(0, 20) },
      `refused connect: the account already holds ${cap} persistent sessions; reconnect under one of their ids, end one with a clean-session connect, or connect with clean session on`,
    )
    return connackError(`account ${p.username} already holds ${cap} persistent sessions`, RC.notAuthorized)
  }

  /** A persistent client left: if it stored no subscription, nothing of its session stays, and its slot is free. */
  private releaseIfNothingStored(clientId: string): void {
    if (!this.sessions.holds(clientId)) return
    this.persistence.subscriptionsByClient({ id: clientId }).then(
      (subs) => {
        const current = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId]
        if (subs.length === 0 && !current) this.sessions.release(clientId)
      },
      () => undefined, // kept held: counting a session too many is the safe side
    )
  }

  private meta(client: Client): ConnectionMeta | undefined {
    return this.listeners.metaOf(client.conn)
  }

  /** Resolves with the CONNACK error to refuse with, or null to accept. */
  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthenticateError | null> {
    const meta = this.meta(client)
    const address = meta?.address ?? 'unknown'
    const info = this.connects.get(client)
    const who = { address, username: username ?? null, client: client.id }
    if (info?.emptyIdWithSession) {
      this.refuse('empty-client-id', who, 'refused connect: empty client id with clean session off')
      return connackError('empty client id with clean session off', RC.identifierRejected)
    }
    // Taken before the (slow) check, so a password changed meanwhile cannot leave a session logged in under the old one.
    const version = username ? this.opts.credentials.credentialVersion(username) : null
    const cn = meta?.clientCert ? (meta.clientCert.cn ?? null) : undefined
    const r = await this.opts.logins.login({
      address,
      username,
      password,
      // Asked before the password: a right password on such an account answers as a wrong one would.
      screen: (p) => (p.hall !== this.opts.hall ? 'other-hall' : cn !== undefined && cn !== p.username ? 'cert-mismatch' : null),
    })
    // Every refusal of a login gets the same CONNACK, so none can confirm a password or an account.
    const refused = () => connackError('login refused', RC.badCredentials)
    if (!r.ok) {
      if (r.kind === 'login-backoff') this.refuse('login-backoff', { ...who, bucket: r.bucket, retryInMs: r.retryInMs }, 'refused connect: too many failed logins; no password checked')
      else if (r.kind === 'login-busy') this.refuse('login-busy', { ...who, why: r.why }, 'refused connect: no room for another password check now')
      else if (r.screened === 'cert-mismatch') this.refuse('cert-mismatch', { ...who, cn: cn ?? null }, 'refused connect: the client certificate is for another name')
      else this.refuse('bad-credentials', { ...who, why: r.screened ?? r.why }, 'refused connect: wrong credentials')
      return refused()
    }
    const p = r.principal
    const fail = (kind: RefusalKind, message: string, rc: number) => {
      r.settle('failed')
      this.refuse(kind, who, `refused connect: ${message}`)
      return connackError(message, rc)
    }
    if (this.opts.limits.staleLoginMs > 0 && r.checkMs > this.opts.limits.staleLoginMs) {
      // Not a failed login: the password was right, only late. The retry finds it remembered.
      r.settle('released')
      this.refuse('stale-login', { ...who, checkMs: r.checkMs }, 'refused connect: the password check took longer than the client waits')
      return connackError('server busy; retry', RC.serverUnavailable)
    }
    const newer = this.opts.credentials.supersededBy(p.username)
    if (newer) {
      // The password was right: not a failed login, so the address is not backed off for it.
      r.settle('released')
      this.refuse(
        'superseded-account',
        { ...who, counter: newer.counter, inForce: newer.inForce },
        `refused connect: 窗口 ${newer.counter} 另有较新的板卡账号 "${newer.inForce}"，一个窗口只能有一块板卡在线，账号 "${p.username}" 被拒绝；若本板才是该窗口的板卡，请 counter-edge provision --replace --username ${newer.inForce} 并换上新配置，再 --revoke --username ${p.username} / ` +
          `window ${newer.counter} has a newer board account "${newer.inForce}" and one board per window may be online, so "${p.username}" is refused; if this board is the window's, re-provision it with counter-edge provision --replace --username ${newer.inForce}, install that config, and --revoke --username ${p.username}`,
      )
      return refused()
    }
    // Checked here, before Aedes registers the client: refused now, the session holding this id is untouched.
    const idCheck = this.clientIdDecision(client, p)
    if (!idCheck.ok) return fail('client-id-mismatch', idCheck.reason, RC.identifierRejected)
    if (info?.will) {
      const w = info.will
      const d = w.bytes > this.opts.limits.maxPayloadBytes ? { ok: false as const, reason: 'will payload too large' } : authorizePublish(p, w.topic, w.retain)
      if (!d.ok) {
        r.settle('released')
        this.refuse('will-denied', { ...who, topic: w.topic, reason: d.reason }, 'refused connect: last will on a topic this client may not publish')
        return connackError('will not allowed', RC.notAuthorized)
      }
    }
    if (this.opts.credentials.credentialVersion(p.username) !== version) {
      r.settle('failed')
      this.refuse('bad-credentials', { ...who, why: 'credentials changed during the login' }, 'refused connect: wrong credentials')
      return refused()
    }
    r.settle('succeeded')
    this.principals.set(client, p)
    const prefix = readPrefix(p)
    if (prefix !== null) this.readPrefixes.set(client, prefix)
    this.versions.set(client, version)
    return null
  }

  /**
   * The last gate before a message goes to a client, live, retained or from its offline queue: only
   * what its ACL lets it read, at a QoS MQTT has. Every filter a client holds passed the ACL, so this
   * refuses only what a session store written by an older hub kept (granted-subscriptions.ts): Aedes
   * then clears the message from that client's queue. A prefix test, as it runs for every delivery.
   */
  private forwardDecision(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const prefix = this.readPrefixes.get(client)
    if (prefix !== undefined && packet.topic.startsWith(prefix) && packet.qos <= 2) return packet
    const reason = packet.qos > 2 ? `QoS ${packet.qos}, which MQTT does not have` : 'outside what this client may read'
    this.refuse('acl-forward', { client: client.id, topic: packet.topic.slice(0, 200), qos: packet.qos, reason }, 'not delivered to this client (a session or will stored by an older hub)')
    return null
  }

  /** Whether this client may subscribe to this filter; a granted one is held in `filters` from here on. */
  private subscribeDecision(client: Client, filter: string): { ok: true } | { ok: false; kind: 'topic-too-deep' | 'acl-subscribe' | 'subscription-cap'; reason: string } {
    const p = this.principals.get(client)
    if (!p) return { ok: false, kind: 'acl-subscribe', reason: 'not authenticated' }
    const { maxTopicLevels, maxSubscriptionsPerClient } = this.opts.limits
    if (levelsOver(filter, maxTopicLevels)) return { ok: false, kind: 'topic-too-deep', reason: `more than ${maxTopicLevels} levels` }
    const d = authorizeSubscribe(p, filter)
    if (!d.ok) return { ok: false, kind: 'acl-subscribe', reason: d.reason }
    let held = this.filters.get(client)
    if (!held) this.filters.set(client, (held = new Set()))
    if (!held.has(filter) && held.size >= maxSubscriptionsPerClient) {
      return { ok: false, kind: 'subscription-cap', reason: `this connection holds ${held.size} filters already, the most one may hold` }
    }
    held.add(filter)
    return d
  }

  private clientIdDecision(client: Client, p: Principal): ReturnType<typeof authorizeClientId> {
    return authorizeClientId(p, client.id, this.opts.credentials.clientIdOwner(client.id), this.connects.get(client)?.assignedId ?? false)
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void): void {
    if (!client) {
      // A will stored by a hub that did not refuse QoS 3 at CONNECT: no reader could be sent it.
      if (packet.qos > 2) return this.dropStoredWill(packet, cb)
      // Only wills of sessions from before a restart come here; they were checked when their client connected.
      const owner = (packet as PublishPacket & { clientId?: string }).clientId
      const p = owner ? this.opts.credentials.lookup(owner) : null
      // Aedes publishes restored wills in batches whose rejections it leaves unhandled (a failed one ended
      // the node when Redis went away, issue 26): one that cannot be kept yet is tried again, never failed.
      const retry = (): void =>
        this.admit(p, packet, (err) => {
          if (!err) return cb(null)
          if (this.aedes.closed) return
          setTimeout(retry, 1_000).unref()
        }, 'restored-will')
      return retry()
    }
    const p = this.principals.get(client)
    if (!p) return cb(refusal('not authenticated'))
    if (packet.qos === 2 && packet.messageId !== undefined) {
      return this.receipts.once(
        client.id,
        packet.messageId,
        () => this.persistence.incomingGetPacket(client, packet).then(() => true, () => false),
        (done) => this.authorizeFirstCopy(client, p, packet, done),
        cb,
        () => this.opts.log.debug({ client: client.id, messageId: packet.messageId, topic: packet.topic.slice(0, 200) }, 'a QoS 2 copy before PUBREL: acknowledged again, not passed on again'),
      )
    }
    this.authorizeFirstCopy(client, p, packet, cb)
  }

  private dropStoredWill(packet: PublishPacket, cb: (err?: Error | null) => void): void {
    const will = packet as PublishPacket & { clientId?: string }
    this.refuse('malformed-packet', { client: will.clientId ?? null, topic: packet.topic.slice(0, 200), willQos: packet.qos }, 'deleted a stored last will at a QoS MQTT does not have (stored by an older hub)')
    // Deleted before refusing: Aedes would otherwise try it again at every will check.
    this.persistence.delWill({ id: will.clientId ?? '' }).then(
      () => cb(refusal('a last will at QoS 3')),
      (err: Error) => cb(err),
    )
  }

  private authorizeFirstCopy(client: Client, p: Principal, packet: PublishPacket, cb: (err?: Error | null) => void): void {
    const { limits } = this.opts
    // No closures here for the refusal branches: under tsx each one created is also named at run time,
    // for every message (docs/benchmarks.md, issue 22).
    if (packet.payload.length > limits.maxPayloadBytes) {
      const reason = `payload of ${packet.payload.length} bytes is over the limit of ${limits.maxPayloadBytes}`
      if (isOwnMessage(p, packet)) return this.toQuarantine(client.id, p, packet, 'payload-too-large', reason, cb)
      this.refuse('payload-too-large', { ...refusedAt(client, packet), bytes: packet.payload.length }, 'refused publish')
      return cb(refusal('payload too large'))
    }
    if (levelsOver(packet.topic, limits.maxTopicLevels)) {
      // A board's own message too deep: quarantined like its other unacceptable messages, or its journal
      // sends it again on every connection for ever. The frame guard still bounds what it can send at all.
      if (isOwnMessage(p, packet)) return this.toQuarantine(client.id, p, packet, 'topic-too-deep', `more than ${limits.maxTopicLevels} topic levels`, cb)
      this.refuse('topic-too-deep', refusedAt(client, packet), 'refused publish')
      return cb(refusal('topic too deep'))
    }
    // Parsed once for the ACL, the uplink and the contract check (a parse was 2.4 % of the hub's CPU at three a message).
    const t = parseTopic(packet.topic)
    if (packet.retain && t?.kind === 'cmd') {
      this.refuse('retained-command', refusedAt(client, packet), 'refused publish: commands are never retained')
      return cb(refusal('retained command'))
    }
    const d = authorizePublish(p, packet.topic, packet.retain, t)
    if (!d.ok) {
      if (isOwnMessage(p, packet)) return this.toQuarantine(client.id, p, packet, 'acl-publish', d.reason, cb)
      this.refuse('acl-publish', { ...refusedAt(client, packet), reason: d.reason }, 'refused publish')
      return cb(refusal(d.reason))
    }
    if (p.role !== 'board' && t?.kind === 'cmd') return this.gateCommand(client.id, p, packet, cb)
    this.admit(p, packet, cb, client.id, t)
  }

  /**
   * A command published here directly (a technician's tool, a central connected to the hall as the
   * bridge role) is held to the same rules as central's through the bridge: at QoS 0, or for a
   * counter no board will take, it is answered with a refusal and goes where no one reads it. (A
   * retained one was refused before, like any other ACL breach.)
   */
  private gateCommand(client: string, p: Principal, packet: PublishPacket, cb: (err?: Error | null) => void): void {
    const topic = packet.topic
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    const judged: Promise<CommandRefusal | null> =
      packet.qos === 0 ? Promise.resolve({ code: 'qos-required', message: 'commands are QoS 1: this one came at QoS 0 and was not delivered' }) : this.commands.judge(topic)
    judged
      .then(async (r) => {
        if (!r) return this.admit(p, packet, cb, client)
        await this.commands.answer(topic, payload, r)
        packet.topic = `${QUARANTINED_PREFIX}${topic}`
        cb(null)
      })
      .catch((err: Error) => {
        this.opts.log.error({ client, topic: topic.slice(0, 200), err: err.message }, 'could not judge or answer a command')
        cb(refusal('command not judged'))
      })
  }

  /** parsed: packet.topic parsed, where the caller has it. */
  private admit(p: Principal | null, packet: PublishPacket, cb: (err?: Error | null) => void, client: string, parsed?: ParsedTopic | null): void {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    const a = this.opts.uplink?.admit(p, { topic: packet.topic, payload, qos: packet.qos, retain: packet.retain, parsed })
    if (!a || a.kind === 'pass') return cb(null)
    if (a.kind === 'invalid' && packet.qos === 0) return this.dropQos0(client, packet, `${a.code}: ${a.message}`, cb)
    if (a.kind === 'invalid') return this.toQuarantine(client, p, packet, 'invalid-payload', `${a.code}: ${a.message}`, cb)
    a.written.then(
      () => cb(null),
      (err: Error) => {
        this.refuse('custody-write-failed', { client, topic: packet.topic, err: err.message }, 'not acknowledged: custody log write failed')
        cb(Object.assign(err, { [REFUSED]: true }))
      },
    )
  }

  /**
   * A board's QoS 0 message that breaks the contract: there is no acknowledgement to give and no
   * journal to unblock, so it is not kept, only logged and counted; it goes on where no one can read
   * it and is never retained (a junk retained state would otherwise replace the window's state).
   * The connection stays: a board's telemetry is no breach.
   */
  private dropQos0(client: string, packet: PublishPacket, reason: string, cb: (err?: Error | null) => void): void {
    this.refuse('invalid-qos0', { client, topic: packet.topic.slice(0, 200), retain: packet.retain, reason }, 'dropped a QoS 0 message that breaks the contract')
    packet.topic = `${QUARANTINED_PREFIX}${packet.topic}`
    packet.retain = false
    cb(null)
  }

  /**
   * A board's own QoS 1 message the hub cannot accept: kept in the quarantine, then acknowledged,
   * so the board's journal moves on (hub/quarantine.ts). Only if it cannot be kept is it refused
   * as before, which closes the connection and leaves the message with the board.
   */
  private toQuarantine(client: string, p: Principal | null, packet: PublishPacket, kind: QuarantinedMessage['kind'], reason: string, cb: (err?: Error | null) => void): void {
    const topic = packet.topic
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    this.opts.quarantine.keep({ kind, reason, client, counter: p?.counter ?? null, topic, qos: packet.qos, retain: packet.retain, payload }).then(
      () => {
        this.opts.log.warn({ quarantined: kind, client, topic: topic.slice(0, 200), reason }, 'acknowledged and quarantined a board message the hub cannot accept')
        packet.topic = `${QUARANTINED_PREFIX}${topic}`
        packet.retain = false
        this.opts.counters.quarantine(kind)
        cb(null)
      },
      (err: Error) => {
        this.opts.log.error({ client, topic: topic.slice(0, 200), reason, err: err.message }, 'could not quarantine a board message: refused instead, and the board will send it again')
        this.refuse('quarantine-failed', { client, topic: topic.slice(0, 200), reason, quarantine: kind }, 'refused publish')
        cb(refusal(reason))
      },
    )
  }

  private clientError(client: Client | null, err: Error): void {
    if ((err as Error & { [REFUSED]?: boolean })[REFUSED]) return
    const code = (err as NodeJS.ErrnoException).code ?? err.message
    const who = { client: client?.id ?? null, address: client ? this.meta(client)?.address : undefined, err: err.message }
    // Aedes's drainTimeout: the messages this reader did not take held their publishers meanwhile.
    if (err.message === 'drain timeout') {
      // Every write that waited fails with it: one line and one count for the client.
      if (!client || this.slowReaders.has(client)) return
      this.slowReaders.add(client)
      return this.refuse('slow-reader', { ...who, drainTimeoutMs: this.opts.limits.drainTimeoutMs }, 'closed a client that took nothing from its socket while messages for it waited; the boards whose messages waited for it were held meanwhile')
    }
    if (TRANSPORT_ERROR.test(code) || TRANSPORT_ERROR.test(err.message)) return void this.opts.log.debug(who, 'connection error')
    // Aedes answered CONNACK 1 itself: a protocol it does not speak (MQTT 5) is no malformed packet.
    if ((err as Error & { errorCode?: number }).errorCode === 1) {
      const protocolVersion = client ? this.connects.get(client)?.protocolVersion : undefined
      return this.refuse('unsupported-protocol', { ...who, protocolVersion }, 'refused connect: only MQTT 3.1 and 3.1.1 are spoken here (CONNACK 1)')
    }
    // The WebSocket layer measures its own frames before the frame guard sees a byte.
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return this.refuse('payload-too-large', who, 'closed a WebSocket client sending an oversized frame')
    // A cluster's Redis failing under the session store is the hub's trouble, not a misbehaving client (issue 26).
    if (STORE_ERROR.test(err.name) || STORE_ERROR.test(err.message)) return this.refuse('store-unavailable', who, 'closed a client whose session the Redis store could not serve')
    // Anything else is the client's packets failing to parse or breaking the protocol: only it is closed.
    this.refuse('malformed-packet', who, 'closed a client that sent a malformed packet')
  }

  /** Drops the sessions of clients whose credentials were revoked or changed: revocation acts at once. */
  private dropRevoked(): void {
    const clients = (this.aedes as unknown as { clients: Record<string, Client> }).clients
    for (const client of Object.values(clients)) {
      const p = this.principals.get(client)
      // Revoked, moved, given a new password, or its client id now another account's: the live session goes at once.
      if (p && (!this.opts.credentials.stillValid(p) || this.opts.credentials.credentialVersion(p.username) !== this.versions.get(client) || !this.clientIdDecision(client, p).ok)) {
        this.refuse('revoked-session', { client: client.id, username: p.username }, 'closed the session of a revoked client')
        client.close()
      }
    }
  }

  /**
   * Ends a client's session at this node as if it had disconnected itself: no will is published (its
   * window is not offline, it moves to another node of the cluster, hub/board-rebalancer.ts) and its
   * persistent session stays for the next connect. False when the client has no session here.
   */
  releaseClient(clientId: string): boolean {
    const client = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId]
    if (!client) return false
    // Aedes publishes the will unless the client sent DISCONNECT, which it records in this flag.
    ;(client as unknown as { _disconnected: boolean })._disconnected = true
    client.close()
    return true
  }

  /** Starts Aedes (and its persistence) without accepting connections yet. */
  async open(): Promise<void> {
    await this.aedes.listen()
    // Persistent sessions a previous run left in the store still count against their accounts.
    const ids = (await this.opts.persistence.sessionClientIds?.()) ?? []
    this.sessions.load(ids.map((clientId) => ({ clientId, account: this.opts.credentials.clientIdOwner(clientId) })))
    await this.dropRefusedStoredFilters(ids)
    this.unlistenReload = this.opts.credentials.onReload(() => this.dropRevoked())
  }

  /**
   * Filters in stored sessions that this hub's ACL refuses: a hub before granted-subscriptions.ts
   * stored a SUBSCRIBE's whole list once any filter of it was granted, and queued messages by it, so
   * a board could be handed another window's commands at its next connect. They are removed before
   * any client connects; what they already queued is stopped by forwardDecision.
   */
  private async dropRefusedStoredFilters(clientIds: string[]): Promise<void> {
    for (const clientId of clientIds) {
      const owner = this.opts.credentials.clientIdOwner(clientId)
      const p = owner === null ? null : this.opts.credentials.lookup(owner)
      const subs = (await this.persistence.subscriptionsByClient({ id: clientId })) as Array<{ topic: string }>
      const refused = subs.filter((s) => p === null || levelsOver(s.topic, this.opts.limits.maxTopicLevels) || !authorizeSubscribe(p, s.topic).ok)
      if (refused.length === 0) continue
      await this.persistence.removeSubscriptions({ id: clientId }, refused.map((s) => s.topic))
      this.refuse(
        'stored-filter',
        { client: clientId, account: owner, filters: refused.slice(0, 20).map((s) => s.topic.slice(0, 200)), count: refused.length },
        owner === null ? 'removed the stored subscriptions of a session no account owns' : 'removed stored subscriptions this account may not hold (stored by an older hub)',
      )
    }
  }

  /** Opens the listeners: from here clients connect. */
  async listen(): Promise<void> {
    await this.listeners.start()
  }

  /**
   * Stops listening and closes every client; their wills still pass the
   * authorisation and so reach custody. The persistence is its owner's to close.
   */
  async stop(): Promise<void> {
    this.unlistenReload?.()
    await this.listeners.stop()
    await new Promise<void>((r) => this.aedes.close(() => r()))
    // Wills of the closed clients are authorised asynchronously; let them reach custody first.
    await new Promise((r) => setTimeout(r, 20))
  }
}

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseMessage, topics } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { VERSION } from '../edge/shared/version.ts'
import { CredentialStore } from './credentials.ts'
import { HubBroker } from './broker.ts'
import { Bridge } from './bridge.ts'
import type { BridgeLease } from './bridge-lease.ts'
import { NODE_ENTRY_LAPSE_MS, type ClusterHealth } from './cluster-health.ts'
import { BoardRebalancer } from './board-rebalancer.ts'
import { HubCounters } from './hub-counters.ts'
import { HallView } from './hall-view.ts'
import { RatingAlertsFile } from './rating-alerts.ts'
import { CustodyLog, type Custody } from './custody-log.ts'
import { openHallCluster, type HallCluster } from './cluster.ts'
import { LevelCustodyStore, MemoryCustodyStore } from './custody-store.ts'
import { Quarantine } from './quarantine.ts'
import { Uplink } from './uplink.ts'
import { MessageParses } from './message-parses.ts'
import { openSessionPersistence } from './session-store.ts'
import { MemoryFirstOutgoing } from './memory-first-outgoing.ts'
import { resolveLimits } from './limits.ts'
import { LogLimiter } from './log-limiter.ts'
import { HubHttp } from './dashboard/http-server.ts'
import { LISTENER_NAMES, listenFailure } from './http/listen.ts'
import { HallScreenFeed } from './dashboard/hall-screen-feed.ts'
import { LoginLimiter } from './login-limiter.ts'
import { Lifecycle } from '../edge/shared/lifecycle.ts'
import { TurnWrites } from '../edge/shared/turn-writes.ts'
import { startAnnouncerPart } from './announcer/hub-part.ts'
import type { Announcer } from './announcer/announcer.ts'
import { calledIds, FeedHistory, FEED_KEPT } from './dashboard/feed-history.ts'
import { ReleaseStore, DEFAULT_MAX_RELEASE_BYTES } from './fleet/release-store.ts'
import { FleetRoutes } from './fleet/release-routes.ts'
import { RolloutController } from './fleet/rollout.ts'
import { RolloutFile } from './fleet/rollout-file.ts'
import { hubConfigSchema, type HubConfig, type ResolvedHubConfig } from './config.ts'

export type { HubConfig } from './config.ts'

export interface RunningHub {
  /** The plain MQTT port; 0 when it is off (plainTcp: false). */
  readonly port: number
  readonly tlsPort: number | null
  readonly wsPort: number | null
  readonly httpPort: number | null
  readonly broker: HubBroker
  /** The bridge, while this hub runs it (in a cluster: while this node holds the lease). */
  readonly bridge: Bridge | null
  readonly custody: Custody | null
  /** This node's Aedes id: unique per run, and per node in a cluster. */
  readonly brokerId: string
  readonly hallView: HallView
  readonly counters: HubCounters
  /** The voice caller, when the config has one. */
  readonly announcer: Announcer | null
  /** Fleet updates of the hall's boards (hub/fleet/rollout.ts); null without HTTP, where boards would have nowhere to download. */
  readonly rollout: RolloutController | null
  stop(): Promise<void>
}

/** Composition root of the hall hub: credentials → persistence → custody → broker → hall view → bridge → HTTP → listeners. */
export async function startHub(input: HubConfig, log: Logger): Promise<RunningHub> {
  const config = hubConfigSchema.parse(input)
  const boot = randomBytes(6).toString('hex')
  if (config.redis && config.dataDir) throw new Error('redis and dataDir exclude each other: in a hub cluster, sessions and custody live in Redis')
  if (!config.plainTcp && !config.tls) throw new Error('plainTcp: false needs a tls listener: the hub would have no MQTT port at all')
  const node = config.redis ? nodeName(config.node ?? hostname()) : null
  const hubId = node ? `hub-${config.hall}-${node}` : `hub-${config.hall}`
  // Aedes's Redis persistence splits keys on ':' to find the broker id: keep it out.
  const brokerId = `${hubId}-${boot}`
  const counters = new HubCounters()
  const limits = resolveLimits(config.limits)
  // Steps that cannot finish (a cluster's Redis gone) must not keep the hub from stopping.
  const life = new Lifecycle({ log })

  return life.build(async () => {
    // Stopped last (added first): the summary of lines held back goes out after everything else has refused.
    const refusalLines = new LogLimiter({
      log: log.child({ module: 'refusals' }),
      linesPerKind: limits.refusalLogLinesPerKind,
      linesPerKey: limits.refusalLogLinesPerAddress,
      windowMs: limits.refusalLogWindowMs,
    })
    life.add('refusal log lines', () => refusalLines.stop())
    const credentials = await life.start('credentials', new CredentialStore({ path: config.credentialsFile, log: log.child({ module: 'credentials' }), hall: config.hall }))

    let cluster: HallCluster | null = null
    if (config.redis) {
      const c = await openHallCluster(config.redis, config.hall, brokerId, log.child({ module: 'cluster' }))
      cluster = c
      life.add('cluster', () => c.stop())
      log.info({ node, brokerId, prefix: c.prefix }, 'hub runs as a node of a hall cluster on Redis')
    }
    // A single hub keeps the queues of connected boards in memory (hub/memory-first-outgoing.ts); a cluster's
    // queues stay in Redis, where every node counts them.
    const outgoing = cluster ? null : new MemoryFirstOutgoing(await openSessionPersistence(config.dataDir), { log: log.child({ module: 'outgoing' }), ...(config.bridge?.deliveryDeadlineMs ? { watchDeadlineMs: config.bridge.deliveryDeadlineMs } : {}) })
    const persistence = cluster ? cluster.persistence : outgoing!
    life.add('session persistence', () => persistence.destroy())
    let custody: Custody | null = null
    let uplink: Uplink | null = null
    // One contract check per board message, shared by the uplink, the hall view and the dashboard's followers.
    const parses = new MessageParses()
    if (config.upstream) {
      if (cluster) {
        custody = await life.start('custody', cluster.custody(log.child({ module: 'custody' })))
      } else {
        const store = config.dataDir ? new LevelCustodyStore(join(config.dataDir, 'custody')) : new MemoryCustodyStore()
        custody = await life.start('custody', new CustodyLog({ store, log: log.child({ module: 'custody' }) }))
      }
      uplink = new Uplink({ hall: config.hall, custody, counters, parses })
    }

    const quarantine = await life.start(
      'quarantine',
      new Quarantine({
        file: config.dataDir ? join(config.dataDir, 'quarantine.jsonl') : null,
        maxBytes: limits.maxQuarantineBytes,
        maxBytesPerClient: limits.maxQuarantineBytesPerBoard,
        log: log.child({ module: 'quarantine' }),
      }),
    )

    // One limiter for every password login of this hub, MQTT and the dashboard: guesses on either drain the same buckets.
    const logins = new LoginLimiter({ limits, credentials, counters })
    let hallView: HallView | null = null
    let rebalancer: BoardRebalancer | null = null
    // The broker's clients and the bridge to central flush their writes of a turn together (edge/shared/turn-writes.ts).
    const turnWrites = new TurnWrites()
    const broker = new HubBroker({
      id: brokerId,
      turnWrites,
      hubId,
      boot,
      hall: config.hall,
      ...(cluster ? { mq: cluster.mq, countQueued: (id: string) => cluster.countQueued(id) } : {}),
      ...(config.heartbeatMs ? { heartbeatMs: config.heartbeatMs } : {}),
      listeners: {
        tcp: { host: config.host, port: config.plainTcp ? config.port : null },
        ...(config.tls ? { tls: await loadTls(config.tls) } : {}),
        ...(config.ws ? { ws: config.ws } : {}),
      },
      credentials,
      logins,
      counters,
      limits,
      persistence,
      uplink,
      custody,
      quarantine,
      log: log.child({ module: 'broker' }),
      refusalLines,
      onBoardSession: (p, connected) => {
        if (p.hall === config.hall && p.counter) {
          hallView?.boardSession(p.counter, connected)
          rebalancer?.boardSession(p.counter, p.username, connected)
        }
      },
    })
    await broker.open()
    life.add('broker', () => broker.stop())

    // One zone for the hall's times: the hall screen's clock, the dashboard's times, the alerts' day.
    const hallTimeZone = config.screen.timeZone ?? config.announcer?.timeZone ?? 'Asia/Shanghai'
    // The hall's retained messages as the broker holds them: the hall view starts from them, and the bridge
    // sends them again to a central broker that lost them.
    const retained = (pattern: string) => broker.persistence.createRetainedStream(pattern) as AsyncIterable<{ topic: string; payload: Buffer }>
    const view = new HallView({
      hall: config.hall,
      aedes: broker.aedes,
      counters,
      parses,
      lines: refusalLines,
      log: log.child({ module: 'hall-view' }),
      retained,
      provisioned: credentials.provisionedBoards(config.hall),
      // The hall's day for its bad-rating alerts: the zone the hall screen's clock shows (hub/dashboard/hall-screen-feed.ts).
      timeZone: hallTimeZone,
      // Without a dataDir (a cluster's nodes, a hub run in memory) the day's alerts live in memory only.
      ...(config.dataDir ? { alertsFile: new RatingAlertsFile(join(config.dataDir, 'rating-alerts.json'), log.child({ module: 'rating-alerts' })) } : {}),
    })
    await life.start('hall view', view)
    hallView = view

    // The dashboard's feed, loaded before the announcer starts: the calls it kept from before a restart
    // (a kill -9, a power cut) are calls already said, and a board's resend of one is not said again.
    const feed = config.http ? await life.start('feed history', new FeedHistory({ file: config.dataDir ? join(config.dataDir, 'feed.jsonl') : null, log: log.child({ module: 'feed-history' }) })) : null

    let announcer: Announcer | null = null
    if (config.announcer) {
      const announced = feed ? calledIds(feed.recent(FEED_KEPT)) : []
      const a = await startAnnouncerPart({ hall: config.hall, config: config.announcer, aedes: broker.aedes, announced, log: log.child({ module: 'announcer' }) })
      life.add('announcer', () => a.stop())
      announcer = a
    }

    let stoppingStatus = false
    const publishLocal = (online: boolean, reason?: string) =>
      new Promise<void>((r) => {
        const payload = { online, hub: hubId, boot, version: VERSION, ts: new Date().toISOString(), ...(reason ? { reason } : {}) }
        broker.aedes.publish({ cmd: 'publish', topic: topics.hubStatus(config.hall), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: true, dup: false }, () => r())
      })
    await publishLocal(true)
    if (cluster) {
      // Known to the other nodes now, not one heartbeat from now: a node stopping in between would
      // otherwise believe itself the last and leave the hall's hub/status offline while this one runs.
      broker.aedes.publish({ cmd: 'publish', topic: `$SYS/${brokerId}/heartbeat`, payload: Buffer.from(brokerId), qos: 0, retain: false, dup: false }, () => {})
      // And should another node still say offline (it stopped before it heard of this one), this one says online again.
      const reannounce = (packet: { payload: Buffer | string }, done: () => void) => {
        done()
        const m = parseMessage(topics.hubStatus(config.hall), packet.payload)
        if (m.ok && m.kind === 'hub-status' && !m.message.online && m.message.boot !== boot && !stoppingStatus) void publishLocal(true)
      }
      await new Promise<void>((r) => broker.aedes.subscribe(topics.hubStatus(config.hall), reannounce, () => r()))
      life.add('hub status watch', () => new Promise<void>((r) => broker.aedes.unsubscribe(topics.hubStatus(config.hall), reannounce, () => r())))
    }
    life.add('hub status', () => {
      stoppingStatus = true
      // In a cluster the hall's hub is still there while another node is: only the last one says offline.
      if (cluster && otherNodesAlive(broker.aedes, brokerId, config.heartbeatMs ?? 15_000)) return
      return publishLocal(false, 'stop')
    })

    let bridge: Bridge | null = null
    let lease: BridgeLease | null = null
    let health: ClusterHealth | null = null
    if (cluster) {
      const totals = await life.start('hall totals', cluster.totals(broker.aedes, log.child({ module: 'hall-totals' })))
      const boardsHere = () => rebalancer?.count ?? 0
      const h = await life.start('cluster health', cluster.health({ leaseHeld: () => lease?.held ?? false, self: { node, boards: boardsHere }, totals, log: log.child({ module: 'cluster-health' }) }))
      health = h
      const spread = config.redis!.rebalance
      const r = new BoardRebalancer({
        ...spread,
        // A board that just arrived may come from a node that just died, whose entry (and boards) still count
        // until it lapses: let go then, it would be sent to a dead node.
        settleMs: Math.max(spread.settleMs, NODE_ENTRY_LAPSE_MS + 1_000),
        // Off: boards are still counted for the dashboard and the other nodes, but none is let go.
        others: () => (spread.off ? null : (h.others()?.map((n) => n.boards) ?? null)),
        mode: (counter) => view.window(counter)?.state?.mode ?? null,
        release: (username) => broker.releaseClient(username),
        log: log.child({ module: 'rebalance' }),
      })
      r.start()
      life.add('rebalance', () => r.stop())
      rebalancer = r
    }
    const probe = health
    if (config.upstream && custody) {
      const u = config.upstream
      const c = custody
      const tls = u.caFile || u.certFile || u.keyFile ? await loadUpstreamTls(u) : undefined
      let bridgeReign = 0
      const { deliveryDeadlineMs: _deadline, ...bridgeTuning } = config.bridge ?? {}
      const startBridge = async () => {
        const b = new Bridge({
          hall: config.hall,
          hubId,
          boot,
          version: VERSION,
          aedes: broker.aedes,
          custody: c,
          upstream: { url: u.url, username: u.username, password: u.password, clientId: u.clientId, ...(tls ? { tls } : {}) },
          counters,
          commands: broker.commands,
          ...(outgoing ? { deliveries: outgoing } : {}),
          log: log.child({ module: 'bridge' }),
          retained,
          turnWrites,
          ...(probe ? { storeReady: () => probe.redisUp, handover: () => otherNodesAlive(broker.aedes, brokerId, config.heartbeatMs ?? 15_000) } : {}),
          ...bridgeTuning,
        })
        const reign = ++bridgeReign
        await b.start()
        // The lease was lost while the bridge started (its subscription waits for a Redis that went away):
        // it must not run without the lease, beside the next holder's bridge.
        if (reign !== bridgeReign) return void (await b.stop())
        bridge = b
      }
      const stopBridge = async () => {
        bridgeReign++
        const b = bridge
        bridge = null
        await b?.stop()
      }
      if (cluster) {
        // One bridge per hall: the node holding the lease runs it, the others stand by.
        const l = cluster.lease({ holder: brokerId, log: log.child({ module: 'bridge-lease' }), onAcquired: startBridge, onLost: stopBridge })
        lease = l
        l.start()
        life.add('bridge lease', () => l.stop())
      } else {
        await startBridge()
        life.add('bridge', stopBridge)
      }
    }

    let http: HubHttp | null = null
    let rollouts: RolloutController | null = null
    if (config.http && feed) {
      const liveStreams = { maxStreams: limits.maxLiveStreams, maxPerAddress: limits.maxLiveStreamsPerAddress, maxBufferedBytes: limits.maxLiveStreamBufferedBytes, batchMs: limits.liveStreamBatchMs }
      const screen = await life.start(
        'hall screen',
        new HallScreenFeed({
          hall: config.hall,
          aedes: broker.aedes,
          hallView: view,
          config: config.screen,
          ...(config.announcer ? { fallbackTimeZone: config.announcer.timeZone } : {}),
          retained,
          liveStreams,
          lines: refusalLines,
          parses,
          log: log.child({ module: 'hall-screen' }),
        }),
      )
      const releaseStore = await life.start(
        'release store',
        new ReleaseStore({
          dir: config.releases?.dir ?? (config.dataDir ? join(config.dataDir, 'releases') : null),
          publicKey: config.releases ? await readReleaseKey(config.releases.publicKey) : null,
          maxBytes: config.releases?.maxBytes ?? DEFAULT_MAX_RELEASE_BYTES,
          inUse: (v) => rollout.uses(v),
          log: log.child({ module: 'releases' }),
        }),
      )
      const rollout: RolloutController = await life.start(
        'rollout',
        new RolloutController({
          hall: config.hall,
          aedes: broker.aedes,
          hallView: view,
          store: releaseStore,
          provisioned: () => credentials.principals().flatMap((p) => (p.role === 'board' && p.hall === config.hall && p.counter ? [p.counter] : [])),
          boardAddress: (counter) => broker.boardLocalAddress(counter),
          httpPort: () => http?.port ?? null,
          ...(config.releases?.confirmMarginS !== undefined ? { marginS: config.releases.confirmMarginS } : {}),
          // A cluster has no data directory (its state is in Redis): there the rollout lives in the memory of the node that runs it.
          file: new RolloutFile(config.dataDir ? join(config.dataDir, 'rollout.json') : null, log.child({ module: 'rollout' })),
          log: log.child({ module: 'rollout' }),
        }),
      )
      rollouts = rollout
      const fleet = new FleetRoutes({ hall: config.hall, store: releaseStore, rollout, logins, counters, log: log.child({ module: 'fleet' }) })
      const h = new HubHttp({
        hall: config.hall,
        host: config.http.host ?? config.host,
        port: config.http.port,
        aedes: broker.aedes,
        hallView: view,
        ...(announcer ? { announcer } : {}),
        timeZone: hallTimeZone,
        logins,
        counters,
        backlog: () => custody?.size ?? 0,
        live: { node, bridgeState: () => bridge?.linkState ?? null, cluster: probe ? () => probe.sample : null },
        liveStreams,
        lines: refusalLines,
        screen,
        officerNames: config.http.officerNames ?? false,
        feed,
        fleet,
        parses,
        log: log.child({ module: 'http' }),
      })
      // The dashboard's server (hub/dashboard/) binds with Node's bare words; which listener it was is said here.
      const { host: httpHost = config.host, port: httpPort } = config.http
      await life.start('http', h).catch((err: unknown) => {
        throw listenFailure(err, LISTENER_NAMES.http, httpHost, httpPort)
      })
      http = h
    }

    await broker.listen()

    let stopping: Promise<void> | null = null
    return {
      port: broker.listeners.ports.tcp ?? 0,
      tlsPort: broker.listeners.ports.tls,
      wsPort: broker.listeners.ports.ws,
      httpPort: http?.port ?? null,
      broker,
      get bridge() {
        return bridge
      },
      custody,
      brokerId,
      hallView: view,
      counters,
      announcer,
      rollout: rollouts,
      stop() {
        stopping ??= life.stop().then(() => log.info('hub stopped'))
        return stopping
      },
    }
  })
}

/** A node name fit for ids and Redis keys: lower case, digits and dashes. */
function nodeName(name: string): string {
  const n = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 24)
  return n || 'node'
}

/** Whether another node of the cluster sent a heartbeat within the last three. */
function otherNodesAlive(aedes: HubBroker['aedes'], self: string, heartbeatMs: number): boolean {
  const brokers = (aedes as unknown as { brokers: Record<string, number> }).brokers
  return Object.entries(brokers).some(([id, at]) => id !== self && at + 3 * heartbeatMs >= Date.now())
}

async function readReleaseKey(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new Error(`cannot read the hall release key releases.publicKey ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
}

async function loadTls(t: NonNullable<ResolvedHubConfig['tls']>) {
  const [cert, key, ca] = await Promise.all([readFile(t.certFile), readFile(t.keyFile), t.caFile ? readFile(t.caFile) : undefined])
  return { port: t.port, ...(t.host ? { host: t.host } : {}), cert, key, ...(ca ? { ca } : {}), requestCert: Boolean(t.requestCert) }
}

async function loadUpstreamTls(u: NonNullable<ResolvedHubConfig['upstream']>) {
  const [ca, cert, key] = await Promise.all([u.caFile, u.certFile, u.keyFile].map((f) => (f ? readFile(f) : undefined)))
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }
}

import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { topics } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/log/logger.ts'
import { VERSION } from '../edge/version.ts'
import { CredentialStore } from './credentials.ts'
import { HubBroker } from './broker.ts'
import { Bridge } from './bridge.ts'
import { HubCounters } from './hub-counters.ts'
import { HallView } from './hall-view.ts'
import { CustodyLog } from './custody-log.ts'
import { LevelCustodyStore, MemoryCustodyStore } from './custody-store.ts'
import { Uplink } from './uplink.ts'
import { openSessionPersistence } from './session-store.ts'
import { resolveLimits, type HubLimits } from './limits.ts'
import { HubHttp } from './dashboard/http-server.ts'

export interface HubConfig {
  hall: string
  host?: string
  /** 0 picks a free port (tests). */
  port: number
  credentialsFile: string
  upstream?: {
    url: string
    username?: string
    password?: string
    clientId?: string
    /** PEM files for an mqtts:// central. */
    caFile?: string
    certFile?: string
    keyFile?: string
  }
  /**
   * Where sessions (LevelDB) and the custody log live. Without it both are in
   * memory: fine for tests, but a restart then loses what central has not acknowledged.
   */
  dataDir?: string
  /** MQTT over TLS; with requestCert, a client certificate whose CN equals the username is required too. */
  tls?: { port: number; host?: string; certFile: string; keyFile: string; caFile?: string; requestCert?: boolean }
  /** MQTT over WebSocket for the dashboard. */
  ws?: { port: number; host?: string; path?: string }
  /** The dashboard page, its live stream and /metrics over HTTP. */
  http?: { port: number; host?: string }
  limits?: Partial<HubLimits>
  /**
   * Broker heartbeat (default 15 s). After a crash, the wills of boards that
   * never came back are published within four heartbeats of the restart.
   */
  heartbeatMs?: number
  bridge?: { window?: number; reconnectMinMs?: number; reconnectMaxMs?: number; stateIntervalMs?: number }
}

export interface RunningHub {
  readonly port: number
  readonly tlsPort: number | null
  readonly wsPort: number | null
  readonly httpPort: number | null
  readonly broker: HubBroker
  readonly bridge: Bridge | null
  readonly custody: CustodyLog | null
  readonly hallView: HallView
  readonly counters: HubCounters
  stop(): Promise<void>
}

/** Composition root of the hall hub: credentials → persistence → custody → broker → hall view → bridge → HTTP → listeners. */
export async function startHub(config: HubConfig, log: Logger): Promise<RunningHub> {
  const boot = randomBytes(6).toString('hex')
  const hubId = `hub-${config.hall}`
  const counters = new HubCounters()
  const limits = resolveLimits(config.limits)
  const stops: Array<() => Promise<void> | void> = []
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) {
      await Promise.resolve()
        .then(s)
        .catch((err: Error) => log.error({ err: err.message }, 'error while stopping the hub'))
    }
  }

  try {
    const credentials = new CredentialStore({ path: config.credentialsFile, log: log.child({ module: 'credentials' }) })
    await credentials.start()
    stops.push(() => credentials.stop())

    const persistence = await openSessionPersistence(config.dataDir)
    stops.push(() => persistence.destroy())
    let custody: CustodyLog | null = null
    let uplink: Uplink | null = null
    if (config.upstream) {
      const store = config.dataDir ? new LevelCustodyStore(join(config.dataDir, 'custody')) : new MemoryCustodyStore()
      const c = new CustodyLog({ store, log: log.child({ module: 'custody' }) })
      await c.start()
      custody = c
      stops.push(() => c.stop())
      uplink = new Uplink({ hall: config.hall, custody, counters, log: log.child({ module: 'uplink' }) })
    }

    let hallView: HallView | null = null
    const broker = new HubBroker({
      id: `${hubId}-${boot}`,
      hall: config.hall,
      ...(config.heartbeatMs ? { heartbeatMs: config.heartbeatMs } : {}),
      listeners: {
        tcp: { host: config.host ?? '127.0.0.1', port: config.port },
        ...(config.tls ? { tls: await loadTls(config.tls) } : {}),
        ...(config.ws ? { ws: config.ws } : {}),
      },
      credentials,
      counters,
      limits,
      persistence,
      uplink,
      log: log.child({ module: 'broker' }),
      onBoardSession: (p, connected) => {
        if (p.hall === config.hall && p.counter) hallView?.boardSession(p.counter, connected)
      },
    })
    await broker.open()
    stops.push(() => broker.stop())

    const view = new HallView({
      hall: config.hall,
      aedes: broker.aedes,
      counters,
      log: log.child({ module: 'hall-view' }),
      retained: (pattern) => broker.persistence.createRetainedStream(pattern) as AsyncIterable<{ topic: string; payload: Buffer }>,
      provisioned: () => credentials.principals().flatMap((p) => (p.role === 'board' && p.hall === config.hall && p.counter ? [p.counter] : [])),
    })
    await view.start()
    hallView = view
    stops.push(() => view.stop())

    const publishLocal = (online: boolean, reason?: string) =>
      new Promise<void>((r) => {
        const payload = { online, hub: hubId, boot, version: VERSION, ts: new Date().toISOString(), ...(reason ? { reason } : {}) }
        broker.aedes.publish({ cmd: 'publish', topic: topics.hubStatus(config.hall), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: true, dup: false }, () => r())
      })
    await publishLocal(true)
    stops.push(() => publishLocal(false, 'stop'))

    let bridge: Bridge | null = null
    if (config.upstream && custody) {
      const u = config.upstream
      const tls = u.caFile || u.certFile || u.keyFile ? await loadUpstreamTls(u) : undefined
      const b = new Bridge({
        hall: config.hall,
        hubId,
        boot,
        version: VERSION,
        aedes: broker.aedes,
        custody,
        upstream: { url: u.url, username: u.username, password: u.password, clientId: u.clientId, ...(tls ? { tls } : {}) },
        counters,
        log: log.child({ module: 'bridge' }),
        ...config.bridge,
      })
      await b.start()
      bridge = b
      stops.push(() => b.stop())
    }

    let http: HubHttp | null = null
    if (config.http) {
      const h = new HubHttp({
        hall: config.hall,
        host: config.http.host ?? config.host ?? '127.0.0.1',
        port: config.http.port,
        aedes: broker.aedes,
        hallView: view,
        credentials,
        counters,
        backlog: () => custody?.size ?? 0,
        log: log.child({ module: 'http' }),
      })
      await h.start()
      http = h
      stops.push(() => h.stop())
    }

    await broker.listen()

    let stopped = false
    return {
      port: broker.listeners.ports.tcp,
      tlsPort: broker.listeners.ports.tls,
      wsPort: broker.listeners.ports.ws,
      httpPort: http?.port ?? null,
      broker,
      bridge,
      custody,
      hallView: view,
      counters,
      async stop() {
        if (stopped) return
        stopped = true
        await stopAll()
        log.info('hub stopped')
      },
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}

async function loadTls(t: NonNullable<HubConfig['tls']>) {
  const [cert, key, ca] = await Promise.all([readFile(t.certFile), readFile(t.keyFile), t.caFile ? readFile(t.caFile) : undefined])
  return { port: t.port, ...(t.host ? { host: t.host } : {}), cert, key, ...(ca ? { ca } : {}), requestCert: Boolean(t.requestCert) }
}

async function loadUpstreamTls(u: NonNullable<HubConfig['upstream']>) {
  const [ca, cert, key] = await Promise.all([u.caFile, u.certFile, u.keyFile].map((f) => (f ? readFile(f) : undefined)))
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }
}

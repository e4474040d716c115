import { createServer as createTcpServer, type Server, type Socket, type AddressInfo } from 'node:net'
import { Server as TlsServer, type TLSSocket } from 'node:tls'
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, createWebSocketStream } from 'ws'
import type { Logger } from '../edge/shared/logger.ts'
import type { TurnWrites } from '../edge/shared/turn-writes.ts'
import { normalizeAddress, type ConnectionGuard } from './address-guards.ts'
import { guardedStream } from './frame-guard.ts'
import type { RefusalKind } from './hub-counters.ts'
import { LISTENER_NAMES, listenFailure, type ListenerName } from './http/listen.ts'

export interface TlsListenerConfig {
  host?: string
  port: number
  /** PEM contents (the CLI reads them from the files named in the hub config). */
  cert: string | Buffer
  key: string | Buffer
  /** CA that signs client certificates; required with requestCert. */
  ca?: string | Buffer
  /**
   * Require a client certificate signed by ca. Its CN must then equal the
   * MQTT username (checked at login): the certificate is a second factor,
   * never a replacement for the password.
   */
  requestCert?: boolean
}

export interface ListenerConfig {
  /** port null: no plain listener (TLS only); host is the other listeners' default too. */
  tcp: { host: string; port: number | null }
  tls?: TlsListenerConfig
  /** MQTT over WebSocket for the dashboard (browsers cannot speak raw TCP). */
  ws?: { host?: string; port: number; path?: string }
}

export type Transport = 'tcp' | 'tls' | 'ws'

/** What the broker learns about a connection from its listener. */
export interface ConnectionMeta {
  address: string
  transport: Transport
  /** On TLS with requestCert: the verified client certificate's CN (null if it has none). Absent otherwise. */
  clientCert: { cn: string | null } | null
  /** The hub's own address this connection reached: the one a board can reach the hub's HTTP side on (hub/fleet/rollout.ts). */
  localAddress?: string
}

export interface ListenersOptions {
  config: ListenerConfig
  handle: (stream: Duplex, req?: IncomingMessage) => void
  guard: ConnectionGuard
  /** Largest MQTT packet a client may announce. */
  maxPacketBytes: number
  /** Batches each client's writes of a turn (edge/shared/turn-writes.ts), shared with the hub's other streams. */
  turnWrites: TurnWrites
  /** A TLS handshake not finished within this is closed. */
  tlsHandshakeTimeoutMs: number
  refuse: (kind: RefusalKind, fields: Record<string, unknown>, message: string) => void
  log: Logger
}

/**
 * The hub's TCP, TLS and WebSocket listeners. Every socket gets TCP_NODELAY
 * (with Nagle, one QoS 1 round trip on loopback took 88 ms instead of 0.3 ms),
 * passes the per-address connection guard, and reaches Aedes through the frame
 * length guard.
 */
export class HubListeners {
  private readonly meta = new WeakMap<Duplex, ConnectionMeta>()
  private readonly sockets = new Set<Socket>()
  /** The address of each accepted TLS socket, read at accept: a handshake that ends in a reset has lost it by the time it fails. */
  private readonly tlsAddresses = new WeakMap<Socket, string>()
  private tcp: Server | null = null
  private tls: TlsServer | null = null
  private http: HttpServer | null = null
  private wss: WebSocketServer | null = null
  readonly ports: { tcp: number | null; tls: number | null; ws: number | null } = { tcp: null, tls: null, ws: null }

  constructor(private readonly opts: ListenersOptions) {}

  metaOf(conn: unknown): ConnectionMeta | undefined {
    return this.meta.get(conn as Duplex)
  }

  /** TCP-level admission, shared by all three listeners: false means the socket is already gone. */
  private accept(sock: Socket, transport: Transport): string | null {
    sock.setNoDelay(true)
    sock.on('error', () => {}) // a reset before Aedes attaches its handlers must not become an uncaught error
    const address = normalizeAddress(sock.remoteAddress)
    const d = this.opts.guard.admit(address)
    if (!d.ok) {
      this.opts.refuse(d.reason.startsWith('connecting faster') ? 'connection-rate' : 'connection-cap', { address, transport, reason: d.reason }, 'refused connection')
      sock.destroy()
      return null
    }
    this.sockets.add(sock)
    sock.once('close', () => {
      this.sockets.delete(sock)
      this.opts.guard.release(address)
    })
    return address
  }

  private hand(stream: Duplex, meta: ConnectionMeta, req?: IncomingMessage): void {
    const guarded = guardedStream(stream, this.opts.maxPacketBytes, (announced) =>
      this.opts.refuse('payload-too-large', { address: meta.address, transport: meta.transport, announced }, 'closed a connection announcing an oversized packet'),
      this.opts.turnWrites,
    )
    this.meta.set(guarded, meta)
    this.opts.handle(guarded, req)
  }

  async start(): Promise<void> {
    const { config } = this.opts
    const host = config.tcp.host
    if (config.tcp.port !== null) {
      this.tcp = createTcpServer({ noDelay: true }, (sock) => {
        const address = this.accept(sock, 'tcp')
        if (address) this.hand(sock, { address, transport: 'tcp', clientCert: null, localAddress: normalizeAddress(sock.localAddress) })
      })
      this.ports.tcp = await listen(this.tcp, config.tcp.port, config.tcp.host, LISTENER_NAMES.mqtt)
      this.opts.log.info({ host: config.tcp.host, port: this.ports.tcp }, 'hub listening (MQTT over TCP)')
    } else {
      this.opts.log.info('no plain MQTT listener (plainTcp: false): TLS only')
    }

    if (config.tls) {
      const t = config.tls
      if (t.requestCert && !t.ca) throw new Error('the TLS listener needs a ca to verify client certificates with')
      this.tls = new TlsServer({
        cert: t.cert,
        key: t.key,
        ...(t.ca ? { ca: t.ca } : {}),
        requestCert: Boolean(t.requestCert),
        rejectUnauthorized: Boolean(t.requestCert),
        handshakeTimeout: this.opts.tlsHandshakeTimeoutMs,
      })
      this.tls.on('connection', (sock: Socket) => {
        // Admission before the handshake, so a flood of handshakes costs the hub nothing.
        const address = this.accept(sock, 'tls')
        if (address) this.tlsAddresses.set(sock, address)
      })
      this.tls.on('secureConnection', (sock: TLSSocket) => {
        const address = normalizeAddress(sock.remoteAddress)
        const cn = t.requestCert ? sock.getPeerCertificate().subject?.CN : undefined
        this.hand(sock, { address, transport: 'tls', clientCert: t.requestCert ? { cn: typeof cn === 'string' ? cn : null } : null, localAddress: normalizeAddress(sock.localAddress) })
      })
      this.tls.on('tlsClientError', (err, sock) => {
        // Node keeps the socket it wraps as _parent (lib/_tls_wrap.js); after a reset the TLS socket has no address left.
        const raw = (sock as TLSSocket & { _parent?: Socket })._parent
        const address = sock.remoteAddress ? normalizeAddress(sock.remoteAddress) : ((raw && this.tlsAddresses.get(raw)) ?? 'unknown')
        const code = (err as NodeJS.ErrnoException).code
        this.opts.refuse('tls-handshake', { address, transport: 'tls', ...(code ? { code } : {}), err: err.message }, 'TLS handshake failed; connection closed')
        // Node reports a handshake timeout here and leaves the socket open; every failed handshake ends here.
        sock.destroy()
      })
      this.ports.tls = await listen(this.tls, t.port, t.host ?? host, LISTENER_NAMES.tls)
      this.opts.log.info({ port: this.ports.tls, clientCerts: Boolean(t.requestCert) }, 'hub listening (MQTT over TLS)')
    }

    if (config.ws) {
      const w = config.ws
      this.http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n')
      })
      this.http.on('connection', (sock: Socket) => {
        if (!this.accept(sock, 'ws')) return
      })
      this.wss = new WebSocketServer({ server: this.http, path: w.path ?? '/mqtt', maxPayload: this.opts.maxPacketBytes + 16 })
      // ws re-emits its HTTP server's errors here; unheard, a taken port threw out of the emit before listen()
      // heard it, and the hub hung starting. A bind failure is reported by listen(); later ones are logged.
      this.wss.on('error', (err) => {
        if (this.ports.ws !== null) this.opts.log.warn({ err: err.message }, 'MQTT over WebSocket listener error')
      })
      this.wss.on('connection', (ws, req) => {
        const address = normalizeAddress(req.socket.remoteAddress)
        ws.on('error', () => {})
        this.hand(createWebSocketStream(ws), { address, transport: 'ws', clientCert: null, localAddress: normalizeAddress(req.socket.localAddress) }, req)
      })
      this.ports.ws = await listen(this.http, w.port, w.host ?? host, LISTENER_NAMES.ws)
      this.opts.log.info({ port: this.ports.ws, path: w.path ?? '/mqtt' }, 'hub listening (MQTT over WebSocket)')
    }
  }

  /** Stops accepting and cuts every open connection. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    this.wss?.close()
    await Promise.all([this.tcp, this.tls, this.http].map((s) => (s ? new Promise<void>((r) => s.close(() => r())) : null)))
    this.tcp = this.tls = this.http = null
    this.wss = null
  }
}

function listen(server: Server, port: number, host: string, which: ListenerName): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(listenFailure(err, which, host, port))
    server.once('error', fail)
    server.listen(port, host, () => {
      server.off('error', fail)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

import { createServer, type Server, type Socket } from 'node:net'
import { Aedes, type Client, type AuthenticateError } from 'aedes'
import type { Logger } from '../edge/log/logger.ts'
import type { CredentialStore, Principal } from './credentials.ts'
import { authorizePublish, authorizeSubscribe } from './acl.ts'
import type { HubCounters } from './hub-counters.ts'

export interface BrokerOptions {
  id: string
  host: string
  port: number
  credentials: CredentialStore
  counters: HubCounters
  log: Logger
  /** Largest payload a client may publish; the contract's largest message is a few KiB. */
  maxPayloadBytes?: number
}

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError
}

/**
 * The hall's Aedes broker on TCP: every client authenticates, every publish and
 * subscribe passes the ACL, every socket runs with TCP_NODELAY.
 */
export class HubBroker {
  readonly aedes: Aedes
  private server: Server | null = null
  private readonly principals = new WeakMap<Client, Principal>()
  private readonly sockets = new Set<Socket>()
  boundPort = 0

  constructor(private readonly opts: BrokerOptions) {
    const log = opts.log
    const maxPayload = opts.maxPayloadBytes ?? 64 * 1024
    this.aedes = new Aedes({
      id: opts.id,
      drainTimeout: 30_000,
      maxTopicLevels: 8,
      preConnect: (_client, packet, cb) => {
        // MQTT-3.1.3-8: an empty client id is allowed only with a clean session; Aedes accepts it anyway.
        if (!packet.clientId && packet.clean === false) {
          log.warn('refused connect: empty client id with clean session off')
          return cb(authError('empty client id with clean session off', 2), false)
        }
        cb(null, true)
      },
      authenticate: (client, username, password, done) => {
        opts.credentials
          .verify(username, password)
          .then((p) => {
            if (!p) {
              opts.counters.authFailures++
              log.warn({ username: username ?? null, client: client.id }, 'refused connect: wrong credentials')
              return done(authError('bad username or password', 4), false)
            }
            if (p.role === 'board' && client.id !== p.username) {
              opts.counters.authFailures++
              log.warn({ username, client: client.id }, 'refused connect: a board must use its username as client id')
              return done(authError('client id must equal username for boards', 2), false)
            }
            this.principals.set(client, p)
            done(null, true)
          })
          .catch((err: Error) => {
            log.error({ err: err.message }, 'authentication error')
            done(authError('authentication unavailable', 3), false)
          })
      },
      authorizePublish: (client, packet, cb) => {
        if (!client) return cb(null) // the broker's own wills and heartbeats
        const p = this.principals.get(client)
        if (!p) return cb(new Error('not authenticated'))
        if (packet.payload.length > maxPayload) {
          opts.counters.aclDenials++
          log.warn({ client: client.id, topic: packet.topic, bytes: packet.payload.length }, 'refused publish: payload too large')
          return cb(new Error('payload too large'))
        }
        const d = authorizePublish(p, packet.topic, packet.retain)
        if (!d.ok) {
          opts.counters.aclDenials++
          log.warn({ client: client.id, topic: packet.topic, reason: d.reason }, 'refused publish')
          return cb(new Error(d.reason))
        }
        cb(null)
      },
      authorizeSubscribe: (client, sub, cb) => {
        const p = this.principals.get(client)
        if (!p) return cb(new Error('not authenticated'))
        const d = authorizeSubscribe(p, sub.topic)
        if (!d.ok) {
          opts.counters.aclDenials++
          log.warn({ client: client.id, filter: sub.topic, reason: d.reason }, 'refused subscribe')
          return cb(null, null) // SUBACK 0x80, connection stays
        }
        cb(null, sub)
      },
    })
    this.aedes.on('clientError', (client, err) => log.debug({ client: client?.id, err: err.message }, 'client error'))
    this.aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'))
    this.aedes.on('clientReady', (client) => {
      const p = this.principals.get(client)
      log.info({ client: client.id, role: p?.role, counter: p?.counter }, 'client connected')
    })
    this.aedes.on('clientDisconnect', (client) => log.info({ client: client.id }, 'client disconnected'))
  }

  principalOf(client: Client): Principal | undefined {
    return this.principals.get(client)
  }

  async start(): Promise<void> {
    await this.aedes.listen()
    this.server = createServer({ noDelay: true }, (sock) => {
      sock.setNoDelay(true)
      this.sockets.add(sock)
      sock.on('close', () => this.sockets.delete(sock))
      this.aedes.handle(sock)
    })
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject)
      this.server!.listen(this.opts.port, this.opts.host, () => resolve())
    })
    const addr = this.server.address()
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port
    this.opts.log.info({ host: this.opts.host, port: this.boundPort }, 'hub listening (MQTT over TCP)')
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = null
    if (server) {
      for (const s of this.sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    }
    await new Promise<void>((r) => this.aedes.close(() => r()))
  }
}

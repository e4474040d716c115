import { createServer, type Server, type Socket } from 'node:net'
import { Aedes } from 'aedes'
import type { Logger } from '../edge/shared/logger.ts'
import { listenOn } from '../hub/http/listen.ts'

/**
 * An embedded stand-in for the central broker (a Mosquitto or EMQX in a real
 * deployment) so `npm start` needs no external service. Open, like a broker on
 * an integrator's laptop; the hall hub in front of the boards is the one that
 * authenticates. Tests use a real Mosquitto instead.
 */
export class CentralBroker {
  private readonly aedes = new Aedes({ id: 'central-standin' })
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  port = 0

  constructor(private readonly opts: { host: string; port: number; log: Logger }) {}

  get url(): string {
    return `mqtt://${this.opts.host}:${this.port}`
  }

  async start(): Promise<void> {
    await this.aedes.listen()
    const server = createServer({ noDelay: true }, (sock) => {
      sock.setNoDelay(true)
      this.sockets.add(sock)
      sock.on('close', () => this.sockets.delete(sock))
      this.aedes.handle(sock)
    })
    this.server = server
    this.port = await listenOn(server, this.opts.port, this.opts.host)
    this.opts.log.info({ url: this.url }, 'central stand-in broker listening')
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

import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP relay between a board and its hub that a test can cut: the network
 * between window and hub fails while both ends keep running, so whatever was
 * in flight is neither delivered nor refused.
 */
export class TcpProxy {
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private up = true
  port = 0

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((inbound) => {
      if (!this.up) return void inbound.destroy()
      const outbound = connect(this.target)
      for (const s of [inbound, outbound]) {
        s.setNoDelay(true)
        this.sockets.add(s)
        s.on('close', () => this.sockets.delete(s))
        s.on('error', () => {})
      }
      inbound.pipe(outbound).on('close', () => inbound.destroy())
      outbound.pipe(inbound).on('close', () => outbound.destroy())
      inbound.on('close', () => outbound.destroy())
      outbound.on('close', () => inbound.destroy())
    })
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()))
    const a = this.server.address()
    this.port = typeof a === 'object' && a ? a.port : 0
  }

  /** Drops every connection mid-stream and refuses new ones until restore(). */
  cut(): void {
    this.up = false
    for (const s of this.sockets) s.destroy()
  }

  restore(): void {
    this.up = true
  }

  async stop(): Promise<void> {
    this.cut()
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()))
  }
}

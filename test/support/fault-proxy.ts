import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy of our own, put between two real processes (board ↔ hub, hub ↔
 * central) to break the link between them the ways a hall network breaks:
 *
 * - cut(): both sockets of every connection destroyed (the far ends see the
 *   connection drop); with down(true) new connections are cut at accept too,
 *   until down(false): a switch or cable gone for a while;
 * - stall(): nothing forwarded in either direction and the sockets paused, so
 *   TCP backpressure builds up as on a hung link; sockets stay open and the
 *   endpoints notice only through their own timeouts (keepalive, PUBACK);
 *   resume() delivers what was held, in order;
 * - stallBack(): stall() of the target → client direction only: what the
 *   client sends still arrives, nothing the target answers (PUBACKs,
 *   commands) gets back to it;
 * - delay(ms, jitterMs): every chunk held for ms (+ up to jitterMs) before it
 *   is forwarded, order kept per direction: a slow or congested link.
 *
 * TCP_NODELAY is set on both sides, so the proxy adds no Nagle delay of its
 * own. Faults apply to every connection, present and future, until resumed.
 */

export interface FaultProxyOptions {
  target: { host: string; port: number }
  /** Listen address; 127.0.0.1 unless said. */
  host?: string
  /** 0 (default) picks a free port; a fixed port keeps the address stable across restarts of the proxy. */
  port?: number
  name?: string
  /**
   * Sees every chunk as it is handed on to the far side (after any delay or stall), with the
   * connection's number: 'forward' is client → target, 'back' is target → client.
   */
  observe?: (connection: number, direction: 'forward' | 'back', chunk: Buffer) => void
}

export interface FaultProxyStats {
  connections: number
  cuts: number
  refused: number
  stalls: number
  delays: number
  bytesForward: number
  bytesBack: number
}

/** Above this many bytes held in one direction, the source socket is paused (backpressure). */
const HIGH_WATER = 256 * 1024

class Pipe {
  private readonly queue: Array<{ at: number; chunk: Buffer }> = []
  private held = 0
  private timer: NodeJS.Timeout | null = null
  private pausedForPressure = false

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly proxy: FaultProxy,
    private readonly count: (chunk: Buffer) => void,
    private readonly back: boolean,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk))
  }

  private push(chunk: Buffer): void {
    const delay = this.proxy.currentDelay()
    const last = this.queue[this.queue.length - 1]
    // Never earlier than the chunk before it: a delayed link still delivers in order.
    const at = Math.max(Date.now() + delay, last?.at ?? 0)
    this.queue.push({ at, chunk })
    this.held += chunk.length
    if (this.held > HIGH_WATER && !this.pausedForPressure) {
      this.pausedForPressure = true
      this.from.pause()
    }
    this.pump()
  }

  pump(): void {
    if (this.timer || this.to.destroyed) return
    if (this.stalled()) {
      this.from.pause()
      return
    }
    const now = Date.now()
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!
      this.held -= chunk.length
      this.count(chunk)
      const ok = this.to.write(chunk)
      if (!ok) {
        this.from.pause()
        this.to.once('drain', () => {
          if (!this.stalled() && this.held <= HIGH_WATER) this.from.resume()
          this.pump()
        })
        return
      }
    }
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.pump()
      }, this.queue[0]!.at - now)
      return
    }
    if (this.held <= HIGH_WATER) {
      this.pausedForPressure = false
      this.from.resume()
    }
  }

  private stalled(): boolean {
    return this.proxy.stalled || (this.back && this.proxy.stalledBack)
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.queue.length = 0
  }
}

class Pair {
  private readonly pipes: Pipe[]

  constructor(
    readonly client: Socket,
    readonly server: Socket,
    proxy: FaultProxy,
    observe: ((direction: 'forward' | 'back', chunk: Buffer) => void) | null,
  ) {
    this.pipes = [
      new Pipe(client, server, proxy, (c) => {
        proxy.stats.bytesForward += c.length
        observe?.('forward', c)
      }, false),
      new Pipe(server, client, proxy, (c) => {
        proxy.stats.bytesBack += c.length
        observe?.('back', c)
      }, true),
    ]
  }

  pump(): void {
    for (const p of this.pipes) p.pump()
  }

  destroy(): void {
    for (const p of this.pipes) p.dispose()
    this.client.destroy()
    this.server.destroy()
  }
}

export class FaultProxy {
  readonly stats: FaultProxyStats = { connections: 0, cuts: 0, refused: 0, stalls: 0, delays: 0, bytesForward: 0, bytesBack: 0 }
  stalled = false
  stalledBack = false
  private isDown = false
  private delayMs = 0
  private jitterMs = 0
  private readonly pairs = new Set<Pair>()

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly host: string,
    private readonly opts: FaultProxyOptions,
  ) {}

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const host = opts.host ?? '127.0.0.1'
    let proxy: FaultProxy | null = null
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (client) => proxy!.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(opts.port ?? 0, host, () => resolve())
    })
    const a = server.address()
    proxy = new FaultProxy(server, typeof a === 'object' && a ? a.port : 0, host, opts)
    return proxy
  }

  get name(): string {
    return this.opts.name ?? `proxy:${this.port}`
  }

  get url(): string {
    return `mqtt://${this.host}:${this.port}`
  }

  /** Connections open through the proxy now. */
  get open(): number {
    return this.pairs.size
  }

  get down(): boolean {
    return this.isDown
  }

  currentDelay(): number {
    return this.delayMs + (this.jitterMs > 0 ? Math.floor(Math.random() * this.jitterMs) : 0)
  }

  private accept(client: Socket): void {
    client.setNoDelay(true)
    client.on('error', () => {})
    if (this.isDown) {
      this.stats.refused++
      client.destroy()
      return
    }
    const connection = ++this.stats.connections
    const server = connect({ host: this.opts.target.host, port: this.opts.target.port })
    server.setNoDelay(true)
    server.on('error', () => {})
    const observe = this.opts.observe
    const pair = new Pair(client, server, this, observe ? (direction, chunk) => observe(connection, direction, chunk) : null)
    this.pairs.add(pair)
    const end = () => {
      if (!this.pairs.delete(pair)) return
      pair.destroy()
    }
    // One side closing closes the other: the proxy never keeps a half of a connection.
    client.once('close', end)
    server.once('close', end)
    server.once('connect', () => {
      client.resume()
      pair.pump()
    })
  }

  /** Destroys both sides of every open connection; returns how many were cut. */
  cut(): number {
    const n = this.pairs.size
    for (const p of [...this.pairs]) {
      this.pairs.delete(p)
      p.destroy()
    }
    this.stats.cuts++
    return n
  }

  /** While down, new connections are cut as they arrive (the far end sees a connection reset). */
  setDown(down: boolean): void {
    this.isDown = down
  }

  /** Stops forwarding in both directions; the sockets stay open. */
  stall(): void {
    if (this.stalled) return
    this.stalled = true
    this.stats.stalls++
    for (const p of this.pairs) p.pump()
  }

  /** Stops forwarding from the target back to the client only; the sockets stay open. */
  stallBack(): void {
    if (this.stalledBack) return
    this.stalledBack = true
    this.stats.stalls++
    for (const p of this.pairs) p.pump()
  }

  /** Every chunk is held this long (plus up to jitterMs) before it goes on. */
  delay(ms: number, jitterMs = 0): void {
    this.delayMs = ms
    this.jitterMs = jitterMs
    if (ms > 0 || jitterMs > 0) this.stats.delays++
  }

  /** Back to a healthy link: forwarding resumes (held data first), no delay, connections accepted. */
  resume(): void {
    this.stalled = false
    this.stalledBack = false
    this.isDown = false
    this.delayMs = 0
    this.jitterMs = 0
    for (const p of this.pairs) p.pump()
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((r) => this.server.close(() => r()))
  }
}

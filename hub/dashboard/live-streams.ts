import type { IncomingMessage, ServerResponse } from 'node:http'
import { normalizeAddress } from '../address-guards.ts'
import type { LogLimiter } from '../log-limiter.ts'

export interface LiveStreamLimits {
  /** Streams open at once, from everyone. */
  maxStreams: number
  /** Streams open at once from one address (a browser opens one per tab). */
  maxPerAddress: number
  /** Bytes a stream may have waiting in the hub past the socket; past it the reader is dropped. */
  maxBufferedBytes: number
  /**
   * Frames are gathered this long, then written to each stream in one write. One write per frame
   * per stream was two socket writes per board event for every open stream: with 256 open, the
   * board's QoS 1 acknowledgement went from 0.8 to 15.6 ms median (docs/benchmarks.md). A person
   * watching the page does not see 50 ms. 0 or absent: each frame at once.
   */
  batchMs?: number
}

export interface LiveStreamStats {
  open: number
  /** Readers dropped because they did not read. */
  dropped: number
  /** Streams answered 503 because a cap was reached. */
  refused: number
  /** Bytes waiting in the hub for all open streams together. */
  bufferedBytes: number
  /** The most any one stream had waiting at once since the start. */
  peakStreamBufferedBytes: number
}

/**
 * Every stream hears from the hub this often, also when the hall is quiet: an event (not an SSE comment,
 * which a page cannot see), so a page notices a link that died without closing (a pulled cable, a Wi-Fi
 * that dropped) by the pings missing, and says its view is stale (hub/dashboard/page.ts).
 */
const PING_MS = 5_000
const PING_FRAME = 'event: ping\ndata: {}\n\n'
/** A batch is written early once this large, so a stream's backlog passes its bound by at most about this. */
const BATCH_BYTES = 16 * 1024

/**
 * The dashboard's live Server-Sent Events streams.
 *
 * The stream is open to anyone on the hall network (the public view uses it).
 * 3,000 streams that never read took the hub from 300 to 859 MB after 270
 * events, every frame kept for every reader (issue 20, C). So the number of
 * streams is capped, overall and per address (past either: 503 with a
 * message), and a reader that does not keep up is dropped: once what waits
 * for its socket passes maxBufferedBytes, its connection is closed, counted
 * and logged. What the hub holds for readers is then at most
 * maxStreams × maxBufferedBytes, whatever they do; a browser that reads keeps
 * its stream, since the socket's own buffers absorb any burst long before.
 * Frames go out in batches (batchMs), one write per stream per batch.
 */
export class LiveStreams {
  private readonly streams = new Map<ServerResponse, string>()
  /** Per stream: may it have what only a technician sees (officer names)? Asked at each write, so a logout or an expired session counts at once. */
  private readonly entitled = new Map<ServerResponse, () => boolean>()
  private readonly perAddress = new Map<string, number>()
  private readonly timers = new Map<ServerResponse, NodeJS.Timeout>()
  private dropped = 0
  private refused = 0
  private peak = 0
  /** Frames since the last flush, written to every stream together (the technicians' and the open viewers' versions). */
  private pending: string[] = []
  private pendingOpen: string[] = []
  private pendingLength = 0
  private flushTimer: NodeJS.Timeout | null = null

  constructor(
    private readonly opts: LiveStreamLimits & {
      /** Lines for refusals and drops; a storm of them writes a bounded number. */
      lines: LogLimiter
    },
  ) {}

  /** Opens a stream for this request, or answers 503 when a cap is reached. `entitled`: whether it gets broadcasts' full version. */
  open(req: IncomingMessage, res: ServerResponse, entitled: () => boolean = () => false): void {
    const address = normalizeAddress(req.socket.remoteAddress)
    const fromHere = this.perAddress.get(address) ?? 0
    const over = this.streams.size >= this.opts.maxStreams ? { cap: this.opts.maxStreams, scope: 'all' } : fromHere >= this.opts.maxPerAddress ? { cap: this.opts.maxPerAddress, scope: 'address' } : null
    if (over) {
      this.refused++
      const zh = over.scope === 'all' ? `实时推送连接已满（上限 ${over.cap} 个），请稍后再试。` : `此地址的实时推送连接已满（每个地址上限 ${over.cap} 个），请关闭多余的页面后再试。`
      const en = over.scope === 'all' ? `Too many live streams open (limit ${over.cap}); try again later.` : `Too many live streams from this address (limit ${over.cap} per address); close other dashboard tabs and try again.`
      this.opts.lines.warn('live-stream-cap', address, { refusal: 'live-stream-cap', address, scope: over.scope, cap: over.cap }, 'refused a live stream: over the cap')
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '30' })
      res.end(`${zh}\n${en}\n`)
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
    this.streams.set(res, address)
    this.entitled.set(res, entitled)
    this.perAddress.set(address, fromHere + 1)
    this.timers.set(
      res,
      setInterval(() => this.write(res, PING_FRAME), PING_MS),
    )
    req.on('close', () => this.close(res))
    this.write(res, 'retry: 2000\n\n')
  }

  /** Streams open now: with none, a frame need not even be built. */
  get readers(): number {
    return this.streams.size
  }

  /**
   * One frame to every stream: gathered with the others of the batch, encoded once, the same buffer queued on each socket.
   * `openData`, when given, is what a stream that is not entitled gets instead of `data`.
   */
  broadcast(event: string, data: unknown, openData?: unknown): void {
    if (this.streams.size === 0) return
    this.broadcastJson(event, JSON.stringify(data), openData === undefined ? undefined : JSON.stringify(openData))
  }

  /** As broadcast, for data its caller has already encoded (and so need not be encoded twice). */
  broadcastJson(event: string, json: string, openJson?: string): void {
    if (this.streams.size === 0) return
    const frame = `event: ${event}\ndata: ${json}\n\n`
    const open = openJson === undefined ? frame : `event: ${event}\ndata: ${openJson}\n\n`
    this.pending.push(frame)
    this.pendingOpen.push(open)
    this.pendingLength += frame.length
    const batchMs = this.opts.batchMs ?? 0
    if (batchMs === 0 || this.pendingLength >= BATCH_BYTES) return this.flush()
    this.flushTimer ??= setTimeout(() => this.flush(), batchMs)
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = null
    if (this.pending.length === 0) return
    const full = this.pending.join('')
    const open = this.pendingOpen.join('')
    const frames = Buffer.from(full)
    const openFrames = open === full ? frames : Buffer.from(open)
    this.pending = []
    this.pendingOpen = []
    this.pendingLength = 0
    for (const res of [...this.streams.keys()]) this.write(res, this.entitled.get(res)?.() ? frames : openFrames)
  }

  private write(res: ServerResponse, frame: string | Buffer): void {
    if (!this.streams.has(res)) return
    res.write(frame)
    const waiting = res.writableLength
    if (waiting > this.peak) this.peak = waiting
    if (waiting > this.opts.maxBufferedBytes) this.drop(res, waiting)
  }

  private drop(res: ServerResponse, waiting: number): void {
    const address = this.streams.get(res) ?? 'unknown'
    this.dropped++
    this.opts.lines.warn('live-stream-slow', address, { dropped: 'live-stream-slow', address, waitingBytes: waiting, limit: this.opts.maxBufferedBytes }, 'dropped a live stream whose reader does not keep up')
    this.close(res)
    // Destroyed, not ended: end() would wait to send what it holds, which is what must go.
    res.destroy()
  }

  private close(res: ServerResponse): void {
    const address = this.streams.get(res)
    if (address === undefined) return
    this.streams.delete(res)
    this.entitled.delete(res)
    const n = (this.perAddress.get(address) ?? 1) - 1
    if (n > 0) this.perAddress.set(address, n)
    else this.perAddress.delete(address)
    clearInterval(this.timers.get(res))
    this.timers.delete(res)
  }

  stats(): LiveStreamStats {
    let bufferedBytes = 0
    for (const res of this.streams.keys()) bufferedBytes += res.writableLength
    return { open: this.streams.size, dropped: this.dropped, refused: this.refused, bufferedBytes, peakStreamBufferedBytes: this.peak }
  }

  /** Ends every stream (the hub is stopping). */
  stop(): void {
    this.flush()
    for (const res of [...this.streams.keys()]) {
      this.close(res)
      res.end()
    }
  }
}

import { connect, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { DeviceHealthSink } from './device-health.ts'
import { Backoff } from '../shared/backoff.ts'

export interface NvrTextLineOptions {
  host: string
  port: number
  log: Logger
  /** The name its health is reported under ('nvr-text'): 'unreachable' while the NVR is away. */
  device: string
  health: DeviceHealthSink
  /** Lines kept while the NVR is away; the oldest go first. A video mark is worth little hours late. */
  maxQueued?: number
}

/**
 * Sends one line of text per marked moment to an NVR or VMS over TCP (many
 * accept a "text insertion" or POS feed this way). It never holds up the
 * window: lines queue while the NVR is away and the link reconnects on its own.
 */
export class NvrTextLine {
  private socket: Socket | null = null
  private connected = false
  private readonly queue: string[] = []
  // A hall of boards must not reconnect to its NVR in step: jittered, up to 30 s.
  private readonly backoff = new Backoff({ minMs: 1000, maxMs: 30_000 })
  private timer: NodeJS.Timeout | null = null
  private stopped = false
  private faulted = false

  constructor(private readonly opts: NvrTextLineOptions) {
    opts.health.register(opts.device)
  }

  start(): void {
    this.connect()
  }

  send(line: string): void {
    this.queue.push(line.replace(/[\r\n]+/g, ' '))
    const max = this.opts.maxQueued ?? 200
    if (this.queue.length > max) this.queue.splice(0, this.queue.length - max)
    this.flush()
  }

  private connect(): void {
    if (this.stopped) return
    const sock = connect({ host: this.opts.host, port: this.opts.port })
    sock.setNoDelay(true)
    this.socket = sock
    sock.on('connect', () => {
      this.connected = true
      this.backoff.reset()
      if (this.faulted) {
        this.faulted = false
        this.opts.health.report(this.opts.device, null)
      }
      this.flush()
    })
    sock.on('error', (err) => {
      if (!this.faulted) {
        this.faulted = true
        this.opts.log.warn({ err: err.message }, 'NVR text line unreachable')
        this.opts.health.report(this.opts.device, { code: 'unreachable', message: `NVR text line ${this.opts.host}:${this.opts.port}: ${err.message}` })
      }
    })
    sock.on('close', () => {
      this.connected = false
      this.socket = null
      if (this.stopped) return
      this.timer = setTimeout(() => this.connect(), this.backoff.next())
    })
    sock.on('data', () => undefined)
  }

  private flush(): void {
    if (!this.connected || !this.socket) return
    while (this.queue.length) this.socket.write(`${this.queue.shift()}\r\n`)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    const sock = this.socket
    if (sock) await new Promise<void>((r) => sock.end(() => r()))
    sock?.destroy()
  }
}

/**
 * A simulated RS-485 line: one master endpoint (the SerialLine the runtime's
 * Modbus master opens) and any number of slaves on the same pair of wires.
 *
 * Bytes take the time they take on the wire (a character is start bit, 8
 * data bits, parity and stop bits at the line's baud rate), so a poll costs
 * what it costs on a board. What the master writes reaches every slave;
 * what a slave sends reaches the master in chunks of `chunkBytes`, as a UART
 * driver hands them over, so the master's reassembly is exercised.
 *
 * The USB adapter itself can be pulled out: the port fails with an error
 * and cannot be opened until it is plugged back.
 */
import { charTimeMs, type SerialLine, type SerialSettings } from '../edge/hardware/serial-line.ts'

/** A device on the line: it hears every byte the master sends and may answer through `send`. */
export interface SimRs485Slave {
  hear(chunk: Buffer, send: (bytes: Buffer) => void): void
}

export interface SimRs485LineOptions {
  path: string
  settings: SerialSettings
  /** Bytes per chunk the master receives; default 4. */
  chunkBytes?: number
  /** Transmissions kept in `traffic`; default 200 (a hall polls for days). */
  keepTraffic?: number
}

export class SimRs485Line {
  readonly path: string
  readonly settings: SerialSettings
  private readonly chunkBytes: number
  private readonly slaves = new Set<SimRs485Slave>()
  private readonly endpoint: SimSerialEndpoint
  private adapterPresent = true
  /** The last `keepTraffic` transmissions either way, for tests that read the wire. */
  readonly traffic: Array<{ from: 'master' | 'slave'; bytes: Buffer }> = []
  private readonly keepTraffic: number

  constructor(opts: SimRs485LineOptions) {
    this.path = opts.path
    this.settings = opts.settings
    this.chunkBytes = opts.chunkBytes ?? 4
    this.keepTraffic = opts.keepTraffic ?? 200
    this.endpoint = new SimSerialEndpoint(this)
  }

  /** The master's end: what the runtime opens. */
  get master(): SerialLine {
    return this.endpoint
  }

  attach(slave: SimRs485Slave): void {
    this.slaves.add(slave)
  }

  detach(slave: SimRs485Slave): void {
    this.slaves.delete(slave)
  }

  /** The USB-RS485 adapter is pulled out (false) or plugged back (true). */
  setAdapterPresent(present: boolean): void {
    this.adapterPresent = present
    if (!present) this.endpoint.lost(Object.assign(new Error(`ENODEV: ${this.path} disconnected`), { code: 'ENODEV' }))
  }

  get adapter(): boolean {
    return this.adapterPresent
  }

  /** @internal the master sends: every slave hears it once it has crossed the wire. */
  fromMaster(bytes: Buffer): void {
    this.log('master', bytes)
    setTimeout(() => {
      for (const s of [...this.slaves]) s.hear(Buffer.from(bytes), (answer) => this.fromSlave(answer))
    }, this.wireMs(bytes.length))
  }

  private fromSlave(bytes: Buffer): void {
    this.log('slave', bytes)
    for (let i = 0; i < bytes.length; i += this.chunkBytes) {
      const chunk = Buffer.from(bytes.subarray(i, i + this.chunkBytes))
      setTimeout(() => this.endpoint.receive(chunk), this.wireMs(Math.min(bytes.length, i + this.chunkBytes)))
    }
  }

  private log(from: 'master' | 'slave', bytes: Buffer): void {
    this.traffic.push({ from, bytes: Buffer.from(bytes) })
    if (this.traffic.length > this.keepTraffic) this.traffic.shift()
  }

  private wireMs(bytes: number): number {
    return Math.ceil(bytes * charTimeMs(this.settings))
  }
}

class SimSerialEndpoint implements SerialLine {
  readonly path: string
  private open_ = false
  private readonly dataListeners = new Set<(chunk: Buffer) => void>()
  private readonly errorListeners = new Set<(err: Error) => void>()

  constructor(private readonly line: SimRs485Line) {
    this.path = line.path
  }

  get isOpen(): boolean {
    return this.open_
  }

  async open(): Promise<void> {
    if (!this.line.adapter) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${this.path}'`), { code: 'ENOENT' })
    if (this.open_) throw Object.assign(new Error(`EBUSY: ${this.path} is already open`), { code: 'EBUSY' })
    this.open_ = true
  }

  async write(bytes: Buffer): Promise<void> {
    if (!this.open_) throw Object.assign(new Error(`EBADF: ${this.path} is not open`), { code: 'EBADF' })
    this.line.fromMaster(bytes)
  }

  onData(cb: (chunk: Buffer) => void): () => void {
    this.dataListeners.add(cb)
    return () => this.dataListeners.delete(cb)
  }

  onError(cb: (err: Error) => void): () => void {
    this.errorListeners.add(cb)
    return () => this.errorListeners.delete(cb)
  }

  async close(): Promise<void> {
    this.open_ = false
  }

  receive(chunk: Buffer): void {
    if (!this.open_) return
    for (const cb of [...this.dataListeners]) cb(chunk)
  }

  lost(err: Error): void {
    if (!this.open_) return
    this.open_ = false
    for (const cb of [...this.errorListeners]) cb(err)
  }
}

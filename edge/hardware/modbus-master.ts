/**
 * A Modbus RTU master on one serial line (docs/hardware.md §7).
 *
 * Our own rather than modbus-serial: four functions are all a DI/DO module
 * needs, the framing is a page (modbus-rtu.ts) and byte-exact in tests, and
 * it runs on the serialport that johnny-five already brings, with no further
 * dependency. RS-485 is half duplex: one transaction at a time, in order
 * (polls and coil writes share the queue). Before each request the line has
 * been silent for 3.5 characters, so the slave sees a frame boundary. The
 * answer's length follows from its first bytes; it must be complete within
 * `timeoutMs` (counted from the end of the request), else the attempt fails
 * as 'timeout' (nothing came) or 'crc' (bytes came, not a frame). Timeouts
 * and bad frames are tried again `retries` times; an exception is the
 * slave's answer and is not.
 */
import type { Logger } from 'pino'
import { SerialQueue } from '../shared/serial-queue.ts'
import {
  expectedResponseLength,
  frameHex,
  ModbusFrameError,
  parseResponse,
  readBitsRequest,
  writeMultipleCoilsRequest,
  writeSingleCoilRequest,
  type ModbusResponse,
} from './modbus-rtu.ts'
import { charTimeMs, interFrameMs, type SerialLine, type SerialSettings } from './serial-line.ts'

/**
 * 'timeout': no answer at all (unplugged, unpowered, wrong address or baud);
 * 'crc': bytes that are not a valid frame (noise, missing termination);
 * 'mismatch': a valid frame that does not answer the request;
 * 'exception': the slave refused (illegal address: the profile names an
 * input the module does not have); 'io': the serial port itself failed.
 */
export type ModbusErrorKind = 'timeout' | 'crc' | 'mismatch' | 'exception' | 'io'

export class ModbusError extends Error {
  override readonly name = 'ModbusError'
  /** As a GPIO error carries it, so callers that log `code` see an I/O failure. */
  readonly code = 'EIO'
  readonly kind: ModbusErrorKind
  readonly slave: number
  /** The exception code, for kind 'exception'. */
  readonly exception: number | undefined

  constructor(kind: ModbusErrorKind, slave: number, message: string, opts: { exception?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined)
    this.kind = kind
    this.slave = slave
    this.exception = opts.exception
  }
}

export interface ModbusMasterOptions {
  line: SerialLine
  settings: SerialSettings
  /** How long a slave has to answer, from the end of the request. */
  timeoutMs: number
  /** Further attempts after a timeout or a bad frame. */
  retries: number
  now?: () => number
  log?: Logger
}

export interface TransactOptions {
  /** Overrides the master's retries (0 for a module already known to be gone: fail fast). */
  retries?: number
}

export interface ModbusMasterStats {
  requests: number
  timeouts: number
  badFrames: number
  exceptions: number
  retries: number
}

interface Pending {
  request: Buffer
  rx: Buffer
  resolve: (r: ModbusResponse) => void
  reject: (err: ModbusError) => void
  timer: NodeJS.Timeout
}

export class ModbusRtuMaster {
  readonly line: SerialLine
  readonly stats: ModbusMasterStats = { requests: 0, timeouts: 0, badFrames: 0, exceptions: 0, retries: 0 }
  private readonly settings: SerialSettings
  private readonly timeoutMs: number
  private readonly retries: number
  private readonly now: () => number
  private readonly log: Logger | undefined
  private readonly queue = new SerialQueue()
  private pending: Pending | undefined
  /** When the line last carried a byte either way: the next request waits 3.5 characters after it. */
  private lastActivity = -Infinity
  private unsubscribe: Array<() => void> = []
  private stopped = false

  constructor(opts: ModbusMasterOptions) {
    if (!(opts.timeoutMs > 0)) throw new RangeError(`Modbus response timeout must be > 0 ms, got ${opts.timeoutMs}`)
    if (!Number.isInteger(opts.retries) || opts.retries < 0) throw new RangeError(`Modbus retries must be an integer >= 0, got ${opts.retries}`)
    this.line = opts.line
    this.settings = opts.settings
    this.timeoutMs = opts.timeoutMs
    this.retries = opts.retries
    this.now = opts.now ?? (() => Date.now())
    this.log = opts.log
  }

  /** Subscribes to the line and opens it; a line that cannot open now is tried again by each transaction. */
  async start(): Promise<void> {
    this.stopped = false
    this.unsubscribe = [this.line.onData((chunk) => this.onData(chunk)), this.line.onError((err) => this.onLineError(err))]
    try {
      await this.line.open()
    } catch (err) {
      this.log?.warn({ path: this.line.path, err }, 'serial line did not open; every transaction tries again')
    }
  }

  /** Lets the transaction in flight finish, then closes the line. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.queue.drain()
    for (const u of this.unsubscribe) u()
    this.unsubscribe = []
    if (this.line.isOpen) await this.line.close().catch((err: unknown) => this.log?.warn({ err }, 'serial line did not close'))
  }

  async readDiscreteInputs(slave: number, start: number, count: number, opts?: TransactOptions): Promise<Array<0 | 1>> {
    return this.bits(await this.transact(readBitsRequest(slave, 0x02, start, count), opts), slave)
  }

  async readCoils(slave: number, start: number, count: number, opts?: TransactOptions): Promise<Array<0 | 1>> {
    return this.bits(await this.transact(readBitsRequest(slave, 0x01, start, count), opts), slave)
  }

  async writeSingleCoil(slave: number, address: number, on: boolean, opts?: TransactOptions): Promise<void> {
    await this.transact(writeSingleCoilRequest(slave, address, on), opts)
  }

  async writeMultipleCoils(slave: number, start: number, bits: readonly (0 | 1)[], opts?: TransactOptions): Promise<void> {
    await this.transact(writeMultipleCoilsRequest(slave, start, bits), opts)
  }

  private bits(r: ModbusResponse, slave: number): Array<0 | 1> {
    if (r.kind !== 'bits') throw new ModbusError('mismatch', slave, `modbus slave ${slave}: expected bits, got ${r.kind}`)
    return r.bits
  }

  /** One request, tried up to 1 + retries times, alone on the line. */
  private transact(request: Buffer, opts: TransactOptions = {}): Promise<ModbusResponse> {
    const slave = request[0]!
    if (this.stopped) return Promise.reject(new ModbusError('io', slave, `modbus slave ${slave}: the master is stopped`))
    const tries = 1 + (opts.retries ?? this.retries)
    return this.queue.run(async () => {
      let last: ModbusError | undefined
      for (let attempt = 0; attempt < tries; attempt++) {
        if (attempt > 0) this.stats.retries++
        try {
          const r = await this.attempt(request)
          if (r.kind === 'exception') {
            this.stats.exceptions++
            throw new ModbusError('exception', slave, `modbus slave ${slave} refused function 0x${request[1]!.toString(16).padStart(2, '0')}: ${r.text} (exception ${r.code})`, {
              exception: r.code,
            })
          }
          return r
        } catch (err) {
          if (!(err instanceof ModbusError)) throw err
          if (err.kind === 'exception' || err.kind === 'io') throw err
          last = err
          this.log?.debug({ slave, attempt, kind: err.kind }, err.message)
        }
      }
      throw new ModbusError(last!.kind, slave, `${last!.message} (${tries} ${tries === 1 ? 'try' : 'tries'})`, { cause: last })
    })
  }

  private async attempt(request: Buffer): Promise<ModbusResponse> {
    const slave = request[0]!
    if (!this.line.isOpen) {
      try {
        await this.line.open()
        this.log?.info({ path: this.line.path }, 'serial line open')
      } catch (err) {
        throw new ModbusError('io', slave, `serial line ${this.line.path}: ${(err as Error).message}`, { cause: err })
      }
    }
    const quietFor = this.lastActivity + interFrameMs(this.settings) - this.now()
    if (quietFor > 0) await new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(quietFor)))
    this.stats.requests++
    // The request's own time on the wire counts before the slave's.
    const requestMs = request.length * charTimeMs(this.settings)
    const answered = new Promise<ModbusResponse>((resolve, reject) => {
      this.pending = {
        request,
        rx: Buffer.alloc(0),
        resolve,
        reject,
        timer: setTimeout(() => this.onTimeout(), Math.ceil(requestMs + this.timeoutMs)),
      }
    })
    this.lastActivity = this.now()
    try {
      await this.line.write(request)
    } catch (err) {
      this.finish(new ModbusError('io', slave, `serial line ${this.line.path}: write failed: ${(err as Error).message}`, { cause: err }))
    }
    return answered
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = this.now()
    const p = this.pending
    if (p === undefined) {
      this.log?.debug({ bytes: frameHex(chunk) }, 'bytes with no request pending, dropped')
      return
    }
    p.rx = Buffer.concat([p.rx, chunk])
    const length = expectedResponseLength(p.request, p.rx)
    if (length === undefined || p.rx.length < length) return
    try {
      this.finish(parseResponse(p.request, p.rx.subarray(0, length)))
    } catch (err) {
      if (!(err instanceof ModbusFrameError)) throw err
      this.stats.badFrames++
      this.finish(new ModbusError(err.kind, p.request[0]!, `modbus slave ${p.request[0]}: ${err.message}`))
    }
  }

  private onTimeout(): void {
    const p = this.pending
    if (p === undefined) return
    const slave = p.request[0]!
    if (p.rx.length > 0) {
      this.stats.badFrames++
      this.finish(new ModbusError('crc', slave, `modbus slave ${slave}: incomplete or garbled answer [${frameHex(p.rx)}]`))
    } else {
      this.stats.timeouts++
      this.finish(new ModbusError('timeout', slave, `modbus slave ${slave} did not answer within ${this.timeoutMs} ms`))
    }
  }

  private onLineError(err: Error): void {
    this.log?.warn({ path: this.line.path, err }, 'serial line failed')
    const p = this.pending
    if (p !== undefined) this.finish(new ModbusError('io', p.request[0]!, `serial line ${this.line.path}: ${err.message}`, { cause: err }))
  }

  private finish(result: ModbusResponse | ModbusError): void {
    const p = this.pending
    if (p === undefined) return
    this.pending = undefined
    clearTimeout(p.timer)
    if (result instanceof ModbusError) p.reject(result)
    else p.resolve(result)
  }
}

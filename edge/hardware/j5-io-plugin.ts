/**
 * A johnny-five IO plugin over our two ports (GpioBackend + I2cBus), so
 * johnny-five components (Led.Digits with the HT16K33 or MAX7219 controller,
 * Button, …) run on whatever backs the ports: onoff and i2c-bus on a board,
 * or the simulator's SimGpio and SimI2cBus in CI, where it is the
 * "johnny-five IO object over the same models".
 *
 * Pins are the lines it is given, numbered by their offset (Arduino-style
 * numbers for the Firmata kit), and also reachable by line name through
 * normalize(). johnny-five's API is synchronous and fire-and-forget, our
 * ports are async: every write is queued on one chain, so frames bit-banged
 * through digitalWrite keep their order across pins, and flush() waits for
 * the queue and reports the first failure since the last flush (johnny-five
 * itself never learns of it; throwing from inside its print() would only
 * crash the caller halfway, as linux-io does).
 *
 * Unlike linux-io (docs/hardware.md §3.2): digitalWrite to an input is a pull
 * request johnny-five's Button makes, and is accepted and ignored (pulls
 * come from the wiring or config.txt), not thrown; I2C transfers go through
 * I2cDevice, so a NACK is retried once and then reported as a DeviceFault.
 * Levels are those of the lines as opened: open them with activeLow false to
 * give johnny-five the electrical levels Firmata would.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { GpioBackend, GpioLine, Level, LineSpec } from './gpio-port.ts'
import { I2cDevice } from './i2c-device.ts'
import { SerialQueue } from '../shared/serial-queue.ts'
import type { I2cBus } from './i2c-port.ts'

/** Firmata's mode numbers, which johnny-five components use. */
export const J5_MODES = Object.freeze({ INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4, I2C: 6, PULLUP: 11 })

export interface J5PinInfo {
  supportedModes: number[]
  mode: number | undefined
  value: number
  report: number
  analogChannel: number
  /** The line name, when a line sits on this pin. */
  name?: string
}

export interface J5IoPluginOptions {
  gpio: GpioBackend
  bus: I2cBus
  /** The lines offered as pins; pin number = offset, so offsets must be unique. */
  lines: readonly LineSpec[]
  log?: Logger
  /** Reported as io.name; default 'counter-edge'. */
  name?: string
  /** Period of continuous i2cRead; default 20 ms. */
  samplingIntervalMs?: number
}

interface PinEntry {
  spec: LineSpec
  line: GpioLine | undefined
  unwatch: (() => void) | undefined
}

export class J5IoPlugin extends EventEmitter {
  readonly name: string
  readonly MODES = J5_MODES
  readonly HIGH = 1
  readonly LOW = 0
  readonly pins: J5PinInfo[]
  readonly analogPins: number[] = []
  readonly RESOLUTION = { ADC: 1023, DAC: null, PWM: 255 }
  isReady = false
  private readonly gpio: GpioBackend
  private readonly bus: I2cBus
  private readonly log: Logger | undefined
  private readonly entries = new Map<number, PinEntry>()
  private readonly byName = new Map<string, number>()
  private readonly devices = new Map<number, I2cDevice>()
  private readonly readTimers = new Set<NodeJS.Timeout>()
  private samplingIntervalMs: number
  private readonly queue = new SerialQueue()
  private failures: unknown[] = []
  private closed = false

  constructor(opts: J5IoPluginOptions) {
    super()
    this.name = opts.name ?? 'counter-edge'
    this.gpio = opts.gpio
    this.bus = opts.bus
    this.log = opts.log
    this.samplingIntervalMs = opts.samplingIntervalMs ?? 20
    for (const spec of opts.lines) {
      const taken = this.entries.get(spec.offset)
      if (taken !== undefined) throw new Error(`pin ${spec.offset} is both '${taken.spec.name}' and '${spec.name}'`)
      this.entries.set(spec.offset, { spec, line: undefined, unwatch: undefined })
      this.byName.set(spec.name, spec.offset)
    }
    const count = Math.max(-1, ...this.entries.keys()) + 1
    this.pins = Array.from({ length: count }, (_, pin) => {
      const spec = this.entries.get(pin)?.spec
      const modes = spec === undefined ? [] : spec.direction === 'in' ? [J5_MODES.INPUT, J5_MODES.PULLUP] : [J5_MODES.OUTPUT]
      return { supportedModes: modes, mode: undefined, value: 0, report: 0, analogChannel: 127, ...(spec ? { name: spec.name } : {}) }
    })
  }

  /** Opens every line, then emits 'connect' and 'ready'; rejects (and closes what it opened) when a line will not open. */
  async connect(): Promise<void> {
    try {
      for (const entry of this.entries.values()) {
        entry.line = await this.gpio.open(entry.spec)
        const pin = this.pins[entry.spec.offset]
        if (pin !== undefined) pin.value = await entry.line.read()
      }
    } catch (err) {
      await this.closeLines()
      throw err
    }
    this.isReady = true
    this.emit('connect')
    this.emit('ready')
  }

  normalize(pin: number | string): number | string {
    if (typeof pin === 'number') return pin
    const named = this.byName.get(pin)
    if (named !== undefined) return named
    return /^\d+$/.test(pin) ? Number(pin) : pin
  }

  pinMode(pin: number | string, mode: number): void {
    const { entry, number } = this.entry(pin)
    const wanted = mode === J5_MODES.OUTPUT ? 'out' : mode === J5_MODES.INPUT || mode === J5_MODES.PULLUP ? 'in' : undefined
    if (wanted === undefined) throw new Error(`pin ${number} ('${entry.spec.name}'): mode ${mode} is not supported; only digital in and out`)
    if (wanted !== entry.spec.direction) {
      throw new Error(`pin ${number} ('${entry.spec.name}') is wired as an ${entry.spec.direction}put; johnny-five asked for ${wanted}put`)
    }
    this.pins[number]!.mode = mode
  }

  digitalWrite(pin: number | string, value: number): void {
    const { entry, number } = this.entry(pin)
    if (entry.spec.direction === 'in') {
      // johnny-five's way of asking for a pull resistor; the board's wiring or config.txt decides those.
      this.log?.debug({ pin: number, line: entry.spec.name }, 'pull request on an input ignored')
      return
    }
    const level: Level = value ? 1 : 0
    this.pins[number]!.value = level
    this.enqueue(() => this.lineOf(entry).write(level))
  }

  digitalRead(pin: number | string, handler: (value: number) => void): void {
    const { entry, number } = this.entry(pin)
    if (entry.spec.direction !== 'in') throw new Error(`pin ${number} ('${entry.spec.name}') is an output; it cannot be read for johnny-five`)
    const event = `digital-read-${number}`
    this.on(event, handler)
    if (entry.unwatch === undefined) {
      entry.unwatch = this.lineOf(entry).watch((v) => {
        this.pins[number]!.value = v
        this.emit(event, v)
      })
    }
    // Like Firmata, which reports the port once reporting is turned on: after this call returns, not inside it.
    const current = this.pins[number]!.value
    queueMicrotask(() => handler(current))
  }

  reportDigitalPin(): void {
    // Inputs are watched from the first digitalRead on; nothing to switch.
  }

  i2cConfig(): void {
    // The bus is the I2cBus port; nothing to configure per plugin.
  }

  i2cWrite(address: number, registerOrBytes: number | number[], bytes?: number | number[]): void {
    const data = Array.isArray(registerOrBytes)
      ? registerOrBytes
      : [registerOrBytes, ...(bytes === undefined ? [] : Array.isArray(bytes) ? bytes : [bytes])]
    const buf = Buffer.from(data)
    this.enqueue(async () => {
      await this.transfer(address, 'i2cWrite', (b, a) => b.i2cWrite(a, buf.length, buf))
    })
  }

  i2cWriteReg(address: number, register: number, value: number): void {
    this.enqueue(() => this.transfer(address, 'i2cWriteReg', (b, a) => b.writeByte(a, register, value)))
  }

  i2cReadOnce(address: number, ...args: unknown[]): void {
    const { register, length, callback } = readArgs(args)
    const buf = Buffer.alloc(length)
    this.enqueue(async () => {
      if (register === undefined) await this.transfer(address, 'i2cRead', (b, a) => b.i2cRead(a, length, buf))
      else await this.transfer(address, 'i2cRead', (b, a) => b.readI2cBlock(a, register, length, buf))
      callback([...buf])
    })
  }

  /** Continuous read, every sampling interval, until close(). */
  i2cRead(address: number, ...args: unknown[]): void {
    this.i2cReadOnce(address, ...args)
    this.readTimers.add(setInterval(() => this.i2cReadOnce(address, ...args), this.samplingIntervalMs))
  }

  setSamplingInterval(ms: number): void {
    this.samplingIntervalMs = ms
  }

  analogRead(): void {
    throw new Error(`${this.name}: analog pins are not supported`)
  }

  analogWrite(): void {
    throw new Error(`${this.name}: PWM is not supported`)
  }

  pwmWrite(): void {
    this.analogWrite()
  }

  servoWrite(): void {
    throw new Error(`${this.name}: servos are not supported`)
  }

  /** Transfers queued and not yet done (johnny-five's SIGINT path reads it). */
  get pending(): number {
    return this.queue.pending
  }

  /** Resolves when everything queued so far is done; rejects with the first failure since the last flush. */
  async flush(): Promise<void> {
    await this.queue.drain()
    const [first] = this.failures
    this.failures = []
    if (first !== undefined) throw first
  }

  /** Stops continuous reads, finishes the queue and closes every line. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const t of this.readTimers) clearInterval(t)
    this.readTimers.clear()
    await this.queue.drain()
    await this.closeLines()
    this.isReady = false
    this.removeAllListeners()
  }

  private enqueue(op: () => Promise<void>): void {
    if (this.closed) {
      this.failures.push(new Error(`${this.name}: used after close()`))
      return
    }
    void this.queue.run(async () => {
      try {
        await op()
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'johnny-five transfer failed')
        this.failures.push(err)
      }
    })
  }

  private async transfer<T>(address: number, what: string, op: (bus: I2cBus, address: number) => Promise<T>): Promise<T> {
    let device = this.devices.get(address)
    if (device === undefined) {
      device = new I2cDevice({ bus: this.bus, address, name: `i2c device 0x${address.toString(16)} (johnny-five)`, log: this.log })
      this.devices.set(address, device)
    }
    try {
      return await device.transfer(op)
    } catch (err) {
      throw device.fault(err, what)
    }
  }

  private entry(pin: number | string): { entry: PinEntry; number: number } {
    const number = this.normalize(pin)
    const entry = typeof number === 'number' ? this.entries.get(number) : undefined
    if (entry === undefined || typeof number !== 'number') {
      throw new Error(`${this.name}: no line on pin ${String(pin)} (pins: ${[...this.byName].map(([n, p]) => `${p} ${n}`).join(', ')})`)
    }
    return { entry, number }
  }

  private lineOf(entry: PinEntry): GpioLine {
    if (entry.line === undefined) throw new Error(`${this.name}: pin ${entry.spec.offset} ('${entry.spec.name}') used before connect()`)
    return entry.line
  }

  private async closeLines(): Promise<void> {
    for (const entry of this.entries.values()) {
      entry.unwatch?.()
      entry.unwatch = undefined
      await entry.line?.close().catch((err: unknown) => this.log?.warn({ line: entry.spec.name, err }, 'could not close line'))
      entry.line = undefined
    }
  }
}

/** johnny-five's i2cRead(Once) arguments: (address, [register,] bytesToRead, callback). */
function readArgs(args: unknown[]): { register: number | undefined; length: number; callback: (bytes: number[]) => void } {
  const callback = args[args.length - 1]
  if (typeof callback !== 'function') throw new TypeError('i2cRead needs a callback')
  const numbers = args.slice(0, -1)
  const [a, b] = numbers
  if (typeof a !== 'number') throw new TypeError('i2cRead needs the number of bytes to read')
  return typeof b === 'number'
    ? { register: a, length: b, callback: callback as (bytes: number[]) => void }
    : { register: undefined, length: a, callback: callback as (bytes: number[]) => void }
}

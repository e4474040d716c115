/**
 * HT16K33 driver for the Adafruit 4-digit 7-segment backpack (hardware.md §4.2).
 *
 * Every show() writes the whole 16-byte display RAM in one transaction, so a
 * number can never be half-written and a shorter number never leaves stale
 * digits behind (the johnny-five print() trap). Transactions are queued one
 * at a time: i2c-bus runs async calls on the libuv pool, where two in flight
 * may complete out of order and leave the older number on the glass.
 */
import type { Logger } from 'pino'
import { DeviceFault, type DeviceFaultCode } from './device-fault.ts'
import type { I2cBus } from './i2c-port.ts'
import { describeI2cError, isBusMissing, isDeviceAbsent } from './i2c-errors.ts'
import { encodeSeg7 } from './seg7-font.ts'

export type BlinkRate = 'off' | '2hz' | '1hz' | '0.5hz'

const CMD_RAM = 0x00
const CMD_SYSTEM = 0x20
const CMD_DISPLAY = 0x80
const CMD_DIMMING = 0xe0
const BLINK_BITS: Readonly<Record<BlinkRate, number>> = { off: 0, '2hz': 1, '1hz': 2, '0.5hz': 3 }
/** RAM bytes of the four digits; byte 4 is the colon, which call numbers never use. */
const DIGIT_RAM = [0x00, 0x02, 0x06, 0x08] as const
const RAM_SIZE = 16
const DIGITS = DIGIT_RAM.length

export interface Ht16k33Options {
  bus: I2cBus
  address: number
  /** Name used in faults and logs; default `ht16k33@0x70`. */
  name?: string
  log?: Logger
}

export class Ht16k33Seg7 {
  readonly name: string
  private readonly bus: I2cBus
  private readonly address: number
  private readonly log: Logger | undefined
  private queue: Promise<unknown> = Promise.resolve()
  // Desired state, replayed in full after a fault: a device that NACKed may
  // have browned out and come back with random RAM and the oscillator off.
  private glyphs: Uint8Array = new Uint8Array(DIGITS)
  private blink: BlinkRate = 'off'
  private brightness = 15
  private on = true
  private needsInit = true
  private everAcked = false
  private stopped = false

  constructor(opts: Ht16k33Options) {
    if (!Number.isInteger(opts.address) || opts.address < 0x70 || opts.address > 0x77) {
      throw new RangeError(`HT16K33 address must be 0x70..0x77, got ${opts.address}`)
    }
    this.bus = opts.bus
    this.address = opts.address
    this.name = opts.name ?? `ht16k33@0x${opts.address.toString(16)}`
    this.log = opts.log
  }

  /** Oscillator on, RAM cleared, display on, full brightness (Adafruit's order: clear before lighting). */
  start(): Promise<void> {
    this.stopped = false
    return this.enqueue('start', () => {
      this.glyphs = new Uint8Array(DIGITS)
      return this.init()
    })
  }

  /** Shows `text` right-aligned in the four digit positions; '' blanks the display. */
  show(text: string): Promise<void> {
    const glyphs = encodeSeg7(text, DIGITS)
    return this.enqueue('show', async () => {
      this.glyphs = glyphs
      if (this.needsInit) return this.init()
      await this.writeFrame()
    })
  }

  setBlink(rate: BlinkRate): Promise<void> {
    if (!(rate in BLINK_BITS)) throw new RangeError(`unknown blink rate '${rate}'`)
    return this.enqueue('setBlink', async () => {
      this.blink = rate
      if (this.needsInit) return this.init()
      await this.command(this.displaySetup())
    })
  }

  setBrightness(level: number): Promise<void> {
    if (!Number.isInteger(level) || level < 0 || level > 15) {
      throw new RangeError(`brightness must be an integer 0..15, got ${level}`)
    }
    return this.enqueue('setBrightness', async () => {
      this.brightness = level
      if (this.needsInit) return this.init()
      await this.command(CMD_DIMMING | level)
    })
  }

  /** Display on/off with the oscillator left running, so switching back is instant. */
  setOn(on: boolean): Promise<void> {
    return this.enqueue('setOn', async () => {
      this.on = on
      if (this.needsInit) return this.init()
      await this.command(this.displaySetup())
    })
  }

  /**
   * Reads the display RAM back and compares it with what was last written.
   * False after a brown-out (RAM comes back random) or a write that was lost.
   */
  verify(): Promise<boolean> {
    return this.enqueue('verify', async () => {
      if (this.needsInit) return false
      const buf = Buffer.alloc(RAM_SIZE)
      await this.transaction(() => this.bus.readI2cBlock(this.address, CMD_RAM, RAM_SIZE, buf))
      return this.frame().subarray(1).equals(buf)
    })
  }

  /** Blanks the RAM and puts the chip in standby, so a stopped runtime never leaves a number lit. */
  stop(): Promise<void> {
    const done = this.enqueue('stop', async () => {
      this.glyphs = new Uint8Array(DIGITS)
      await this.writeFrame()
      await this.command(CMD_DISPLAY)
      await this.command(CMD_SYSTEM)
      this.needsInit = true
    })
    this.stopped = true
    return done
  }

  private async init(): Promise<void> {
    await this.command(CMD_SYSTEM | 1)
    await this.writeFrame()
    await this.command(this.displaySetup())
    await this.command(CMD_DIMMING | this.brightness)
    this.needsInit = false
  }

  private displaySetup(): number {
    return CMD_DISPLAY | (BLINK_BITS[this.blink] << 1) | (this.on ? 1 : 0)
  }

  private frame(): Buffer {
    const frame = Buffer.alloc(RAM_SIZE + 1)
    frame[0] = CMD_RAM
    DIGIT_RAM.forEach((ram, i) => {
      frame[1 + ram] = this.glyphs[i] ?? 0
    })
    return frame
  }

  private async writeFrame(): Promise<void> {
    const frame = this.frame()
    await this.transaction(() => this.bus.i2cWrite(this.address, frame.length, frame))
  }

  private async command(byte: number): Promise<void> {
    await this.transaction(() => this.bus.sendByte(this.address, byte))
  }

  private enqueue<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error(`${this.name}: ${what} after stop()`))
    const run = this.queue.then(op).catch((err: unknown) => {
      throw this.toFault(err, what)
    })
    this.queue = run.catch(() => undefined)
    return run
  }

  /**
   * One bus transaction, retried once on a NACK: the Pi's clock-stretching bug
   * produces spurious EREMOTEIO, and a second miss is a real fault.
   */
  private async transaction<T>(op: () => Promise<T>): Promise<T> {
    let result: T
    try {
      result = await op()
    } catch (err) {
      if (!isDeviceAbsent(err)) throw err
      this.log?.warn({ device: this.name, err: describeI2cError(err) }, 'no acknowledge, retrying once')
      result = await op()
    }
    this.everAcked = true
    return result
  }

  private toFault(err: unknown, what: string): DeviceFault | Error {
    if (err instanceof DeviceFault) return err
    if (!isDeviceAbsent(err) && !isBusMissing(err) && !hasErrno(err)) return err as Error
    this.needsInit = true
    const code: DeviceFaultCode = isBusMissing(err)
      ? 'bus-missing'
      : isDeviceAbsent(err)
        ? this.everAcked
          ? 'nack'
          : 'absent'
        : 'io'
    const fault = new DeviceFault(this.name, code, `${this.name}: ${what} failed (${code}): ${describeI2cError(err)}`, {
      cause: err,
    })
    this.log?.error({ device: this.name, code, err: describeI2cError(err) }, `${what} failed`)
    return fault
  }
}

function hasErrno(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { errno?: unknown }).errno === 'number'
}

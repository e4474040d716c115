/**
 * HT16K33 drivers (docs/hardware.md §4.2): the chip's command set, shared by the
 * Adafruit 4-digit 7-segment backpack (here) and the 4-character 14-segment
 * backpack (ht16k33-alpha.ts), which differ only in how a text becomes RAM.
 *
 * Every show() writes the whole 16-byte display RAM in one transaction, so a
 * number can never be half-written and a shorter number never leaves stale
 * digits behind (the johnny-five print() trap). Transactions are queued one
 * at a time: i2c-bus runs async calls on the libuv pool, where two in flight
 * may complete out of order and leave the older number on the glass.
 * NACKs are retried once in I2cDevice (i2c-device.ts), nowhere else.
 *
 * A backpack that resets while the bus is quiet (cable reseated, a 5 V dip
 * when a relay coil switches) comes back in standby and acknowledges every
 * write, so no error ever says it happened (docs/hardware.md §4.2). Hence
 * every show() writes the setup as well as the RAM, and `refreshMs` rewrites
 * both periodically, so an idle display is dark for at most one period.
 */
import type { Logger } from 'pino'
import { DeviceFault } from './device-fault.ts'
import { SerialQueue } from '../shared/serial-queue.ts'
import { I2cDevice } from './i2c-device.ts'
import type { I2cBus } from './i2c-port.ts'
import { canShowSeg7, encodeSeg7, SEG7_CHARSET } from './seg7-font.ts'
import { checkBlinkRate, checkBrightness, type BlinkRate, type TextDisplay } from './text-display.ts'
import { PeriodicRefresh } from './periodic-refresh.ts'

export type { BlinkRate } from './text-display.ts'

const CMD_RAM = 0x00
const CMD_SYSTEM = 0x20
const CMD_DISPLAY = 0x80
const CMD_DIMMING = 0xe0
const BLINK_BITS: Readonly<Record<BlinkRate, number>> = { off: 0, '2hz': 1, '1hz': 2, '0.5hz': 3 }
export const HT16K33_RAM_SIZE = 16

/** How a backpack maps text onto the 16 bytes of display RAM. */
export interface Ht16k33Layout {
  readonly kind: string
  readonly width: number
  readonly charset: string
  canShow(text: string): boolean
  /** The whole RAM image for `text`; throws a RangeError for a text it cannot show. */
  encode(text: string): Uint8Array
}

/** Adafruit 0.56" 4-digit backpack: digits at RAM 0, 2, 6, 8; RAM 4 is the colon, which call numbers never use. */
const SEG7_DIGIT_RAM = [0x00, 0x02, 0x06, 0x08] as const

export const SEG7_BACKPACK: Ht16k33Layout = {
  kind: '7-segment',
  width: SEG7_DIGIT_RAM.length,
  charset: SEG7_CHARSET,
  canShow: (text) => [...text].length <= SEG7_DIGIT_RAM.length && canShowSeg7(text),
  encode(text) {
    const glyphs = encodeSeg7(text, SEG7_DIGIT_RAM.length)
    const ram = new Uint8Array(HT16K33_RAM_SIZE)
    SEG7_DIGIT_RAM.forEach((addr, i) => {
      ram[addr] = glyphs[i] ?? 0
    })
    return ram
  },
}

export interface Ht16k33Options {
  bus: I2cBus
  address: number
  /** Name used in faults and logs; default `ht16k33@0x70`. */
  name?: string
  log?: Logger
  /** Rewrite setup and RAM this often (ms); 0 = only on changes. Default 0; profiles default to a few seconds. */
  refreshMs?: number
}

export class Ht16k33Display implements TextDisplay {
  readonly name: string
  readonly width: number
  readonly charset: string
  private readonly layout: Ht16k33Layout
  private readonly device: I2cDevice
  private readonly log: Logger | undefined
  private readonly queue = new SerialQueue()
  private readonly refresh: PeriodicRefresh
  // Desired state, replayed in full after a fault: a device that NACKed may
  // have browned out and come back with random RAM and the oscillator off.
  private ram: Uint8Array = new Uint8Array(HT16K33_RAM_SIZE)
  private blink: BlinkRate = 'off'
  private brightness = 15
  private on = true
  private needsInit = true
  private stopped = false

  constructor(opts: Ht16k33Options, layout: Ht16k33Layout) {
    if (!Number.isInteger(opts.address) || opts.address < 0x70 || opts.address > 0x77) {
      throw new RangeError(`HT16K33 address must be 0x70..0x77, got ${opts.address}`)
    }
    this.layout = layout
    this.width = layout.width
    this.charset = layout.charset
    this.name = opts.name ?? `ht16k33@0x${opts.address.toString(16)}`
    this.log = opts.log
    const refreshMs = opts.refreshMs ?? 0
    if (!Number.isInteger(refreshMs) || refreshMs < 0) throw new RangeError(`refreshMs must be a whole number of ms ≥ 0, got ${opts.refreshMs}`)
    this.refresh = new PeriodicRefresh(refreshMs, () => this.enqueue('refresh', () => this.init()), (err) => this.log?.debug({ device: this.name, err }, 'refresh failed'))
    this.device = new I2cDevice({ bus: opts.bus, address: opts.address, name: this.name, log: opts.log })
  }

  canShow(text: string): boolean {
    return this.layout.canShow(text)
  }

  /** Oscillator on, RAM cleared, display on, brightness (Adafruit's order: clear before lighting). */
  start(): Promise<void> {
    this.stopped = false
    const done = this.enqueue('start', () => {
      this.ram = new Uint8Array(HT16K33_RAM_SIZE)
      return this.init()
    })
    // A failure is a DeviceFault noted by enqueue (needsInit), and reported by whoever watches the refreshes.
    this.refresh.start()
    return done
  }

  /**
   * Shows `text` right-aligned in the backpack's positions; '' blanks the
   * display. Setup and RAM both: the chip may have reset into standby since
   * the last write without any NACK to say so.
   */
  show(text: string): Promise<void> {
    const ram = this.layout.encode(text)
    return this.enqueue('show', async () => {
      this.ram = ram
      await this.init()
    })
  }

  setBlink(rate: BlinkRate): Promise<void> {
    checkBlinkRate(rate)
    return this.enqueue('setBlink', async () => {
      this.blink = rate
      if (this.needsInit) return this.init()
      await this.command(this.displaySetup())
    })
  }

  setBrightness(level: number): Promise<void> {
    checkBrightness(level)
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
   * Reads the display RAM back and compares it with what was last written:
   * false after a brown-out (RAM comes back random) or a write that was lost.
   *
   * The chip cannot report its setup (oscillator, display on, blink,
   * dimming): a chip in standby acknowledges and reads back its RAM exactly
   * as a lit one does. So when the RAM is right the setup is written again
   * before answering (never before the check: that would light a random RAM),
   * and true means the chip acknowledged the setup and holds the right RAM. A
   * wrong RAM marks the chip for a full rewrite at the next show or refresh.
   * What no read can tell is a chip that acknowledges but does not act, or a
   * dead LED.
   */
  verify(): Promise<boolean> {
    return this.enqueue('verify', async () => {
      if (this.needsInit) return false
      const buf = Buffer.alloc(HT16K33_RAM_SIZE)
      await this.device.transfer((bus, a) => bus.readI2cBlock(a, CMD_RAM, HT16K33_RAM_SIZE, buf))
      if (!Buffer.from(this.ram).equals(buf)) {
        this.needsInit = true
        return false
      }
      await this.writeSetup()
      return true
    })
  }

  watchRefresh(listener: (refresh: Promise<void>) => void): void {
    this.refresh.watch(listener)
  }

  /** Blanks the RAM and puts the chip in standby, so a stopped runtime never leaves a number lit. */
  stop(): Promise<void> {
    this.refresh.stop()
    const done = this.enqueue('stop', async () => {
      this.ram = new Uint8Array(HT16K33_RAM_SIZE)
      await this.writeFrame()
      await this.command(CMD_DISPLAY)
      await this.command(CMD_SYSTEM)
      this.needsInit = true
    })
    this.stopped = true
    return done
  }

  /** The whole state, in the order that never lights garbage: oscillator, RAM, then display on and dimming. */
  private async init(): Promise<void> {
    await this.command(CMD_SYSTEM | 1)
    await this.writeFrame()
    await this.command(this.displaySetup())
    await this.command(CMD_DIMMING | this.brightness)
    this.needsInit = false
  }

  private async writeSetup(): Promise<void> {
    await this.command(CMD_SYSTEM | 1)
    await this.command(this.displaySetup())
    await this.command(CMD_DIMMING | this.brightness)
  }

  private displaySetup(): number {
    return CMD_DISPLAY | (BLINK_BITS[this.blink] << 1) | (this.on ? 1 : 0)
  }

  private async writeFrame(): Promise<void> {
    const frame = Buffer.alloc(HT16K33_RAM_SIZE + 1)
    frame[0] = CMD_RAM
    frame.set(this.ram, 1)
    await this.device.transfer((bus, a) => bus.i2cWrite(a, frame.length, frame))
  }

  private async command(byte: number): Promise<void> {
    await this.device.transfer((bus, a) => bus.sendByte(a, byte))
  }

  private enqueue<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error(`${this.name}: ${what} after stop()`))
    // The fault is noted inside the task, so the next one already knows the chip needs init.
    return this.queue.run(async () => {
      try {
        return await op()
      } catch (err) {
        const fault = this.device.fault(err, what)
        if (fault instanceof DeviceFault) this.needsInit = true
        throw fault
      }
    })
  }
}

/** The Adafruit 4-digit 7-segment backpack. */
export class Ht16k33Seg7 extends Ht16k33Display {
  constructor(opts: Ht16k33Options) {
    super(opts, SEG7_BACKPACK)
  }
}

/**
 * MAX7219 7-segment display driver (docs/hardware.md §4.3).
 *
 * The chip takes 16-bit frames (register in D11–8, data in D7–0, MSB first):
 * DIN is sampled on each CLK rising edge and the frame is latched on the
 * LOAD/CS rising edge. How frames reach it is a Max7219Transport: our own
 * GPIO bit-banging over any GpioBackend (below), or johnny-five's
 * LedControl.send over Firmata (j5-max7219.ts). Everything a person sees is
 * decided here, whichever transport carries it:
 *
 * - decode mode is written explicitly as 0 (raw segments): johnny-five never
 *   writes it and relies on the power-on value, but a chip that stayed
 *   powered while its host restarted keeps whatever the last program set;
 * - the digits are cleared before the chip leaves shutdown, so the random
 *   digit registers of a cold chip never light;
 * - every show() rewrites the whole state (control registers and every
 *   digit): a MAX7219 cannot be read back and cannot NACK, so an unplugged
 *   and replugged module (back in shutdown, digits random) is only ever
 *   repaired by writing everything again, which `refreshMs` also does
 *   periodically;
 * - the font is the 7-segment one of the HT16K33 backpack (B as b, D as d)
 *   and a text it cannot show is refused, not mangled;
 * - the chip has no blink: blinking switches the shutdown register on a timer;
 * - the scan limit never covers fewer than 4 digits, whatever the module has:
 *   with the usual RSET the datasheet's limit for 3 digits or fewer
 *   overdrives the digit drivers; the digits scanned but not wired are
 *   written blank (docs/hardware.md §4.3).
 */
import type { Logger } from 'pino'
import { DeviceFault } from './device-fault.ts'
import { SerialQueue } from '../shared/serial-queue.ts'
import type { GpioLine, Level } from './gpio-port.ts'
import { canShowSeg7, encodeSeg7, SEG7_CHARSET } from './seg7-font.ts'
import {
  BLINK_HALF_PERIOD_MS,
  checkBlinkRate,
  checkBrightness,
  type BlinkRate,
  type TextDisplay,
} from './text-display.ts'
import { PeriodicRefresh } from './periodic-refresh.ts'

/** Fewest digits the chip may scan with the RSET a module is built with (datasheet: scan limit). */
export const MAX7219_MIN_SCANNED_DIGITS = 4

export const MAX7219_REG = {
  NOOP: 0x00,
  /** DIGIT0..DIGIT7 are 0x01..0x08; DIGIT0 is the rightmost digit on the usual modules. */
  DIGIT0: 0x01,
  DECODE_MODE: 0x09,
  INTENSITY: 0x0a,
  SCAN_LIMIT: 0x0b,
  SHUTDOWN: 0x0c,
  DISPLAY_TEST: 0x0f,
} as const

/** How frames reach the chip. */
export interface Max7219Transport {
  /** For logs and faults: 'gpio din=display-din …', 'johnny-five pins 12/11/10'. */
  readonly description: string
  /** One 16-bit frame; resolves when it has been clocked out and latched. */
  writeRegister(register: number, data: number): Promise<void>
}

/** The three lines of a GPIO-driven MAX7219, opened as outputs (CS best opened high: idle). */
export interface Max7219Lines {
  din: GpioLine
  clk: GpioLine
  cs: GpioLine
}

/**
 * Bit-banged frames over GpioLines: CS low, then per bit CLK low, DIN, CLK
 * high (MSB first), then CS high. Each write is awaited before the next, so
 * the edges keep their order whatever the backend does underneath.
 */
export class GpioMax7219Transport implements Max7219Transport {
  readonly description: string
  private readonly lines: Max7219Lines

  constructor(lines: Max7219Lines) {
    this.lines = lines
    this.description = `gpio din=${lines.din.name} clk=${lines.clk.name} cs=${lines.cs.name}`
  }

  async writeRegister(register: number, data: number): Promise<void> {
    const frame = ((register & 0x0f) << 8) | (data & 0xff)
    const { din, clk, cs } = this.lines
    await cs.write(0)
    for (let bit = 15; bit >= 0; bit--) {
      await clk.write(0)
      await din.write(((frame >> bit) & 1) as Level)
      await clk.write(1)
    }
    await cs.write(1)
  }
}

/** HT16K33-order glyph (b0=A … b6=G, b7=DP) → MAX7219 no-decode order (D7=DP, D6=A … D0=G). */
export function seg7ToMax7219(glyph: number): number {
  let out = glyph & 0x80
  for (let seg = 0; seg < 7; seg++) {
    if (glyph & (1 << seg)) out |= 1 << (6 - seg)
  }
  return out
}

export interface Max7219Options {
  transport: Max7219Transport
  /** Digits wired to the chip, 1..8; the chip scans at least 4 (MAX7219_MIN_SCANNED_DIGITS). */
  digits: number
  name?: string
  log?: Logger
  /** Re-send the whole state this often (ms); 0 = only on changes. Default 0. */
  refreshMs?: number
}

export class Max7219Display implements TextDisplay {
  readonly name: string
  readonly width: number
  readonly charset: string = SEG7_CHARSET
  private readonly transport: Max7219Transport
  private readonly log: Logger | undefined
  private readonly queue = new SerialQueue()
  /** Register bytes, leftmost digit first. */
  private digitBytes: Uint8Array
  private brightness = 15
  private blink: BlinkRate = 'off'
  /** Lit half of the blink cycle (always true while not blinking). */
  private phaseLit = true
  private blinkTimer: NodeJS.Timeout | undefined
  private readonly refresh: PeriodicRefresh
  private stopped = false

  constructor(opts: Max7219Options) {
    if (!Number.isInteger(opts.digits) || opts.digits < 1 || opts.digits > 8) {
      throw new RangeError(`a MAX7219 drives 1..8 digits, got ${opts.digits}`)
    }
    this.transport = opts.transport
    this.width = opts.digits
    this.digitBytes = new Uint8Array(opts.digits)
    this.name = opts.name ?? `max7219 (${opts.transport.description})`
    this.log = opts.log
    this.refresh = new PeriodicRefresh(opts.refreshMs ?? 0, () => this.enqueue('refresh', () => this.writeAll()))
  }

  canShow(text: string): boolean {
    return [...text].length <= this.width && canShowSeg7(text)
  }

  start(): Promise<void> {
    this.stopped = false
    this.digitBytes = new Uint8Array(this.width)
    const done = this.enqueue('start', () => this.writeAll())
    this.refresh.start()
    return done
  }

  show(text: string): Promise<void> {
    const bytes = Uint8Array.from(encodeSeg7(text, this.width), seg7ToMax7219)
    return this.enqueue('show', async () => {
      this.digitBytes = bytes
      await this.writeAll()
    })
  }

  setBrightness(level: number): Promise<void> {
    checkBrightness(level)
    return this.enqueue('setBrightness', async () => {
      this.brightness = level
      await this.transport.writeRegister(MAX7219_REG.INTENSITY, level)
    })
  }

  setBlink(rate: BlinkRate): Promise<void> {
    checkBlinkRate(rate)
    clearInterval(this.blinkTimer)
    this.blinkTimer = undefined
    this.blink = rate
    this.phaseLit = true
    if (rate !== 'off') {
      this.blinkTimer = setInterval(() => {
        this.phaseLit = !this.phaseLit
        this.enqueue('blink', () => this.writeShutdown()).catch(() => undefined)
      }, BLINK_HALF_PERIOD_MS[rate])
    }
    return this.enqueue('setBlink', () => this.writeShutdown())
  }

  watchRefresh(listener: (refresh: Promise<void>) => void): void {
    this.refresh.watch(listener)
  }

  /** Blanks every digit and puts the chip in shutdown. */
  stop(): Promise<void> {
    clearInterval(this.blinkTimer)
    this.refresh.stop()
    this.blinkTimer = undefined
    this.blink = 'off'
    const done = this.enqueue('stop', async () => {
      this.digitBytes = new Uint8Array(this.width)
      await this.writeDigits()
      await this.transport.writeRegister(MAX7219_REG.SHUTDOWN, 0)
    })
    this.stopped = true
    return done
  }

  /** The whole state, in the order that never lights garbage: controls, digits, then out of shutdown. */
  private async writeAll(): Promise<void> {
    await this.transport.writeRegister(MAX7219_REG.DISPLAY_TEST, 0)
    await this.transport.writeRegister(MAX7219_REG.DECODE_MODE, 0)
    await this.transport.writeRegister(MAX7219_REG.SCAN_LIMIT, this.scanned - 1)
    await this.transport.writeRegister(MAX7219_REG.INTENSITY, this.brightness)
    await this.writeDigits()
    await this.writeShutdown()
  }

  /** Digits the chip scans: the wired ones, and never fewer than the drivers can take. */
  private get scanned(): number {
    return Math.max(this.width, MAX7219_MIN_SCANNED_DIGITS)
  }

  private async writeDigits(): Promise<void> {
    for (let i = 0; i < this.width; i++) {
      // Leftmost character → highest digit register (DIGIT0 is the rightmost digit).
      await this.transport.writeRegister(MAX7219_REG.DIGIT0 + (this.width - 1 - i), this.digitBytes[i] ?? 0)
    }
    // Scanned but not wired: blank, so a module wired to more positions than declared never shows garbage.
    for (let d = this.width; d < this.scanned; d++) await this.transport.writeRegister(MAX7219_REG.DIGIT0 + d, 0)
  }

  private async writeShutdown(): Promise<void> {
    await this.transport.writeRegister(MAX7219_REG.SHUTDOWN, this.phaseLit ? 1 : 0)
  }

  private enqueue<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error(`${this.name}: ${what} after stop()`))
    return this.queue.run(async () => {
      try {
        return await op()
      } catch (err) {
        throw max7219LineFault(this.name, what, err, this.log)
      }
    })
  }
}

/**
 * What a failed write to a MAX7219's lines means, for the digit display and
 * the matrix chain alike. There is no ACK on these wires: the only failures
 * are the lines themselves (closed, EIO, EPERM), reported as an `io` fault;
 * anything that is not a system error is a bug and goes up unchanged.
 */
export function max7219LineFault(name: string, what: string, err: unknown, log: Logger | undefined): unknown {
  if (err instanceof DeviceFault || !isSystemError(err)) return err
  log?.error({ device: name, err }, `${what} failed`)
  return new DeviceFault(name, 'io', `${name}: ${what} failed (io): ${(err as Error).message ?? String(err)}`, { cause: err })
}

function isSystemError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, errno } = err as { code?: unknown; errno?: unknown }
  return (typeof code === 'string' && code !== '') || typeof errno === 'number'
}

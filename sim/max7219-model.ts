/**
 * A MAX7219 wired to three simulated GPIO pins (docs/hardware.md §4.3), clocked by
 * the pin changes SimGpio reports, exactly as the chip is clocked by wires:
 *
 * - on each CLK rising edge the level of DIN shifts into a 16-bit register
 *   (the MAX7219 shifts whatever LOAD does; only the MAX7221 gates on CS);
 * - on the LOAD/CS rising edge the last 16 bits are latched: D11–8 pick the
 *   register, D7–0 are its data. A frame of other than 16 clocks is recorded
 *   as a protocol warning (a chain of chips would pass the extra bits on);
 * - power-on: every control register reset, in shutdown, digit registers
 *   random, so a driver that lights the chip before clearing it shows garbage.
 *
 * Unplugging stops the clocks reaching it; replugging power-cycles it. What it
 * shows is read with the Code B table or the 7-segment oracle per digit.
 */
import type { DisplayView, SimDisplayModel } from './display-view.ts'
import type { SimGpio } from './gpio.ts'
import { decodeMax7219Digit } from './max7219-decoder.ts'
import { Max7219Wire, type Max7219Pins } from './max7219-wire.ts'

export type { Max7219Pins } from './max7219-wire.ts'

export interface Max7219ModelOptions {
  gpio: SimGpio
  pins: Max7219Pins
  /** Digits wired on the module (positions a person sees); default 8. */
  digits?: number
  /** Source of the power-on digit registers; default Math.random. */
  random?: () => number
  keepWarnings?: number
  keepFrames?: number
  /** Clock for power events (pin changes carry their own time); default Date.now. */
  now?: () => number
}

export interface Max7219Frame {
  register: number
  data: number
  bits: number
  at: number
}

export interface LitChange {
  lit: boolean
  at: number
  /** What a person read at that moment ('' when it went dark or lit blank). */
  text: string
}

export class Max7219Model implements SimDisplayModel {
  readonly pins: Max7219Pins
  readonly digitCount: number
  /** DIGIT0..DIGIT7 (registers 0x01..0x08). */
  readonly digits = new Uint8Array(8)
  decodeMode = 0
  intensity = 0
  scanLimit = 0
  shutdown = true
  displayTest = false
  connected = true
  private readonly wire: Max7219Wire
  private dropNext = false
  private readonly random: () => number
  private readonly keepWarnings: number
  private readonly keepFrames: number
  private readonly warningLog: string[] = []
  private readonly frameLog: Max7219Frame[] = []
  private readonly litLog: LitChange[] = []
  private readonly now: () => number

  constructor(opts: Max7219ModelOptions) {
    this.pins = opts.pins
    this.digitCount = opts.digits ?? 8
    if (!Number.isInteger(this.digitCount) || this.digitCount < 1 || this.digitCount > 8) {
      throw new RangeError(`a MAX7219 module has 1..8 digits, got ${this.digitCount}`)
    }
    this.random = opts.random ?? Math.random
    this.now = opts.now ?? (() => Date.now())
    this.keepWarnings = opts.keepWarnings ?? 100
    this.keepFrames = opts.keepFrames ?? 1000
    this.wire = new Max7219Wire({ gpio: opts.gpio, pins: opts.pins, chips: 1, connected: () => this.connected, onLatch: (words, bits, at) => this.latch(words[0]!, bits, at) })
    this.powerCycle()
  }

  /** Power-on reset: control registers cleared, shutdown, digit registers random. */
  powerCycle(): void {
    const wasLit = this.lit
    this.decodeMode = 0
    this.intensity = 0
    this.scanLimit = 0
    this.shutdown = true
    this.displayTest = false
    this.wire.reset()
    for (let i = 0; i < this.digits.length; i++) this.digits[i] = Math.floor(this.random() * 256) & 0xff
    this.noteLit(wasLit, this.now())
  }

  /** The module is pulled off its pins: no clock reaches it and it goes dark. */
  unplug(): void {
    const wasLit = this.lit
    this.connected = false
    this.noteLit(wasLit, this.now())
  }

  /** Plugged back in: powers up as a cold chip (shutdown, random digits). */
  replug(): void {
    this.connected = true
    this.powerCycle()
  }

  /** The next latched frame is lost (a glitch on the wires). */
  glitchNextFrame(): void {
    this.dropNext = true
  }

  /** Stops listening to the pins. */
  detach(): void {
    this.wire.detach()
  }

  get warnings(): readonly string[] {
    return this.warningLog
  }

  /** Frames latched so far, oldest first. */
  frames(): readonly Max7219Frame[] {
    return [...this.frameLog]
  }

  /** Every change of `lit` with its time: how a software blink looks from the hall. */
  litChanges(): readonly LitChange[] {
    return [...this.litLog]
  }

  get lit(): boolean {
    return this.connected && (this.displayTest || !this.shutdown)
  }

  view(): DisplayView {
    const lit = this.lit
    const readings = Array.from({ length: this.digitCount }, (_, pos) => {
      const digit = this.digitCount - 1 - pos // leftmost position = highest digit register
      if (this.displayTest) return { char: '8', ambiguous: false, dot: true, segments: 0xff }
      if (digit > this.scanLimit) return { char: ' ', ambiguous: false, dot: false, segments: 0 }
      return decodeMax7219Digit(this.digits[digit] ?? 0, (this.decodeMode & (1 << digit)) !== 0)
    })
    return {
      text: lit ? readings.map((r) => r.char).join('').trim() : '',
      glyphs: readings.map((r) => r.segments),
      colon: false,
      dots: readings.map((r) => lit && r.dot),
      lit,
      blink: 'off',
      brightness: this.intensity,
      ambiguous: lit && readings.some((r) => r.ambiguous),
    }
  }

  private latch(word: number, bits: number, at: number): void {
    if (bits !== 16) this.warn(`frame latched after ${bits} clock(s), expected 16`)
    const register = (word >> 8) & 0x0f
    const data = word & 0xff
    if (this.dropNext) {
      this.dropNext = false
      return
    }
    this.frameLog.push({ register, data, bits, at })
    if (this.frameLog.length > this.keepFrames) this.frameLog.shift()
    const wasLit = this.lit
    if (register >= 0x01 && register <= 0x08) this.digits[register - 1] = data
    else if (register === 0x09) this.decodeMode = data
    else if (register === 0x0a) this.intensity = data & 0x0f
    else if (register === 0x0b) {
      this.scanLimit = data & 0x07
      // Datasheet: scanning 3 digits or fewer overdrives the digit drivers with the usual RSET.
      if (this.scanLimit < 3) this.warn(`scan limit ${this.scanLimit} scans ${this.scanLimit + 1} digit(s): overdrives the digit drivers with the usual RSET`)
    }
    else if (register === 0x0c) this.shutdown = (data & 1) === 0
    else if (register === 0x0f) this.displayTest = (data & 1) === 1
    else if (register !== 0x00) this.warn(`write to undefined register 0x${register.toString(16)}`)
    this.noteLit(wasLit, at)
  }

  private noteLit(wasLit: boolean, at: number): void {
    if (this.lit !== wasLit) this.litLog.push({ lit: this.lit, at, text: this.view().text })
  }

  private warn(message: string): void {
    this.warningLog.push(message)
    if (this.warningLog.length > this.keepWarnings) this.warningLog.shift()
  }
}

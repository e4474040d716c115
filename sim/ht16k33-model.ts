/**
 * HT16K33 behind an Adafruit 4-digit 7-segment or quad alphanumeric
 * (14-segment) backpack, at the byte level (docs/hardware.md §4.2): command
 * decoding, 16 bytes of display RAM with an auto-incrementing pointer, and
 * what the glass shows as a result.
 *
 * RAM powers up random, as on the real chip, so a driver that lights the
 * display without clearing it shows garbage in tests instead of a lucky blank.
 */
import type { BlinkView, DisplayView, SimDisplayModel } from './display-view.ts'
import type { I2cDeviceModel } from './i2c-bus.ts'
import { decodeSeg14Text } from './seg14-decoder.ts'
import { decodeSeg7Text } from './seg7-decoder.ts'

export type { BlinkView, DisplayView } from './display-view.ts'

/** Which Adafruit backpack the chip sits on: how its RAM reads as text. */
export type Ht16k33Backpack = 'seg7' | 'alpha14'

export interface Ht16k33ModelOptions {
  /** Default 'seg7', the 4-digit 7-segment backpack. */
  backpack?: Ht16k33Backpack
  /** Source of the power-on RAM contents; default Math.random. */
  random?: () => number
  /** How many protocol warnings to keep; default 100. */
  keepWarnings?: number
}

const DIGIT_RAM = [0x00, 0x02, 0x06, 0x08] as const
const COLON_RAM = 0x04
const COLON_BIT = 0x02
const BLINKS: readonly BlinkView[] = ['off', '2hz', '1hz', '0.5hz']
const KEY_RAM_SIZE = 6

type Pointer = 'ram' | 'keys' | 'int'

export class Ht16k33Model implements I2cDeviceModel, SimDisplayModel {
  readonly backpack: Ht16k33Backpack
  osc = false
  displayOn = false
  blink = 0
  dim = 15
  readonly ram = new Uint8Array(16)
  ptr = 0
  rowInt = 0
  private pointer: Pointer = 'ram'
  private readonly random: () => number
  private readonly keepWarnings: number
  private readonly warningLog: string[] = []

  constructor(opts: Ht16k33ModelOptions = {}) {
    this.backpack = opts.backpack ?? 'seg7'
    this.random = opts.random ?? Math.random
    this.keepWarnings = opts.keepWarnings ?? 100
    this.powerCycle()
  }

  /** Power-on reset: oscillator and display off, RAM random. Also simulates a brown-out. */
  powerCycle(): void {
    this.osc = false
    this.displayOn = false
    this.blink = 0
    this.dim = 15
    this.ptr = 0
    this.rowInt = 0
    this.pointer = 'ram'
    for (let i = 0; i < this.ram.length; i++) this.ram[i] = Math.floor(this.random() * 256) & 0xff
  }

  get warnings(): readonly string[] {
    return this.warningLog
  }

  write(bytes: Uint8Array): void {
    const cmd = bytes[0]
    if (cmd === undefined) return // address-only probe
    const rest = bytes.subarray(1)
    if (cmd <= 0x0f) {
      this.pointer = 'ram'
      this.ptr = cmd
      for (const b of rest) {
        this.ram[this.ptr] = b
        this.ptr = (this.ptr + 1) & 0x0f
      }
      return
    }
    switch (cmd & 0xf0) {
      case 0x20:
        this.osc = (cmd & 1) === 1
        break
      case 0x80:
        this.displayOn = (cmd & 1) === 1
        this.blink = (cmd >> 1) & 3
        break
      case 0xa0:
        this.rowInt = cmd & 0x03
        break
      case 0xe0:
        this.dim = cmd & 0x0f
        break
      case 0x40:
        if (cmd > 0x47) return this.warn(`unknown command 0x${hex(cmd)}`)
        this.pointer = 'keys'
        break
      case 0x60:
        this.pointer = 'int'
        break
      default:
        return this.warn(`unknown command 0x${hex(cmd)}`)
    }
    if (rest.length > 0) this.warn(`${rest.length} byte(s) after one-byte command 0x${hex(cmd)} ignored`)
  }

  read(length: number): Uint8Array {
    const out = new Uint8Array(length)
    if (this.pointer === 'ram') {
      for (let i = 0; i < length; i++) {
        out[i] = this.ram[this.ptr] ?? 0
        this.ptr = (this.ptr + 1) & 0x0f
      }
    } else if (this.pointer === 'keys' && length > KEY_RAM_SIZE) {
      this.warn(`read of ${length} bytes from the ${KEY_RAM_SIZE}-byte key RAM`)
    }
    // Key scan is not wired on the backpacks: key RAM and the INT flag read 0.
    return out
  }

  get lit(): boolean {
    return this.osc && this.displayOn
  }

  view(): DisplayView {
    const alpha = this.backpack === 'alpha14'
    // 14-segment: character n is the word (RAM 2n+1 << 8) | RAM 2n; no colon.
    const glyphs = alpha
      ? [0, 1, 2, 3].map((n) => (this.ram[2 * n] ?? 0) | ((this.ram[2 * n + 1] ?? 0) << 8))
      : DIGIT_RAM.map((a) => this.ram[a] ?? 0)
    const reading = alpha ? decodeSeg14Text(glyphs) : decodeSeg7Text(glyphs)
    const lit = this.lit
    return {
      text: lit ? reading.text.trim() : '',
      glyphs,
      colon: !alpha && lit && ((this.ram[COLON_RAM] ?? 0) & COLON_BIT) !== 0,
      dots: reading.dots.map((d) => lit && d),
      lit,
      blink: BLINKS[this.blink] ?? 'off',
      brightness: this.dim,
      ambiguous: lit && reading.ambiguous,
    }
  }

  private warn(message: string): void {
    this.warningLog.push(message)
    if (this.warningLog.length > this.keepWarnings) this.warningLog.shift()
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0')
}

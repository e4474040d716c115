/**
 * A chain of MAX7219 chips driving 8×8 LED matrix modules, on three simulated
 * GPIO pins (docs/hardware.md §4.5), clocked by the pin changes SimGpio
 * reports:
 *
 * - on each CLK rising edge every chip shifts its 16-bit register left by one:
 *   chip 0 takes DIN, chip k takes the bit chip k−1 pushed out (its DOUT);
 * - on LOAD/CS rising, every chip latches its register (D11–8 register,
 *   D7–0 data; register 0x00 is the no-op). A latch after other than 16 × N
 *   clocks is a protocol warning: the frames landed in the wrong chips;
 * - power-on: shutdown, controls reset, rows random.
 *
 * pixels() decodes the chips' registers back into the picture a person sees,
 * with the module wiring of edge/hardware/max7219-matrix.ts (FC-16: digit
 * register r is row r−1, D7 the leftmost column; chain position 0 the top
 * row's rightmost module).
 */
import { matrixModuleAt, MATRIX_MODULE_SIZE, type MatrixGeometry } from '../edge/hardware/max7219-matrix.ts'
import { PixelFrame } from '../edge/hardware/pixel-frame.ts'
import type { BitmapFont } from '../edge/hardware/bitmap-font.ts'
import type { DisplayView, SimDisplayModel } from './display-view.ts'
import type { SimGpio } from './gpio.ts'
import { Max7219Wire, type Max7219Pins } from './max7219-wire.ts'
import { ScreenReader, screenBands } from './screen-reader.ts'

export interface Max7219ChainModelOptions extends MatrixGeometry {
  gpio: SimGpio
  pins: Max7219Pins
  /** Reads the picture back as text for view(); without it view().text is ''. */
  font?: BitmapFont
  random?: () => number
  keepWarnings?: number
  keepLatches?: number
}

export interface ChipRegisters {
  rows: Uint8Array
  decodeMode: number
  intensity: number
  scanLimit: number
  shutdown: boolean
  displayTest: boolean
}

/** One LOAD rising edge: the word each chip latched (index 0 nearest DIN) and the clocks since LOAD fell. */
export interface ChainLatch {
  words: number[]
  bits: number
}

export class Max7219ChainModel implements SimDisplayModel {
  readonly geometry: MatrixGeometry
  readonly chips: ChipRegisters[]
  readonly width: number
  readonly height: number
  connected = true
  private readonly wire: Max7219Wire
  private readonly random: () => number
  private readonly font: BitmapFont | undefined
  private reader: ScreenReader | undefined
  private readonly warningLog: string[] = []
  private readonly latchLog: ChainLatch[] = []
  private readonly keepWarnings: number
  private readonly keepLatches: number
  private dropNext = false

  constructor(opts: Max7219ChainModelOptions) {
    this.geometry = { modulesWide: opts.modulesWide, modulesHigh: opts.modulesHigh }
    const n = opts.modulesWide * opts.modulesHigh
    this.width = opts.modulesWide * MATRIX_MODULE_SIZE
    this.height = opts.modulesHigh * MATRIX_MODULE_SIZE
    this.chips = Array.from({ length: n }, () => ({ rows: new Uint8Array(8), decodeMode: 0, intensity: 0, scanLimit: 0, shutdown: true, displayTest: false }))
    this.random = opts.random ?? Math.random
    this.font = opts.font
    this.keepWarnings = opts.keepWarnings ?? 100
    this.keepLatches = opts.keepLatches ?? 2000
    this.wire = new Max7219Wire({ gpio: opts.gpio, pins: opts.pins, chips: n, connected: () => this.connected, onLatch: (words, bits) => this.latch(words, bits) })
    this.powerCycle()
  }

  powerCycle(): void {
    for (const chip of this.chips) {
      Object.assign(chip, { decodeMode: 0, intensity: 0, scanLimit: 0, shutdown: true, displayTest: false })
      for (let r = 0; r < 8; r++) chip.rows[r] = Math.floor(this.random() * 256) & 0xff
    }
    this.wire.reset()
  }

  unplug(): void {
    this.connected = false
  }

  replug(): void {
    this.connected = true
    this.powerCycle()
  }

  glitchNextFrame(): void {
    this.dropNext = true
  }

  detach(): void {
    this.wire.detach()
  }

  get warnings(): readonly string[] {
    return this.warningLog
  }

  /** Latches so far, oldest first. */
  latches(): readonly ChainLatch[] {
    return [...this.latchLog]
  }

  clearLatches(): void {
    this.latchLog.length = 0
  }

  /** Lit while any chip is out of shutdown (each chip switches its own module). */
  get lit(): boolean {
    return this.connected && this.chips.some((c) => c.displayTest || !c.shutdown)
  }

  /** What a person sees, pixel by pixel. */
  pixels(): PixelFrame {
    const frame = new PixelFrame(this.width, this.height)
    if (!this.connected) return frame
    this.chips.forEach((chip, k) => {
      if (chip.shutdown && !chip.displayTest) return
      const { col, row } = matrixModuleAt(k, this.geometry)
      for (let r = 0; r < 8; r++) {
        const byte = chip.displayTest ? 0xff : r > chip.scanLimit ? 0 : chip.rows[r]!
        for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) frame.set(col * 8 + b, row * 8 + r)
      }
    })
    return frame
  }

  view(): DisplayView {
    const lines = this.font && this.lit ? this.textReader(this.font).read(this.pixels(), screenBands(this.height, 'window')) : []
    return {
      text: lines.filter((l) => l !== '').join(' '),
      lines,
      glyphs: [],
      colon: false,
      dots: [],
      lit: this.lit,
      blink: 'off',
      brightness: this.chips[0]?.intensity ?? 0,
      ambiguous: false,
    }
  }

  private latch(words: number[], bits: number): void {
    if (bits !== 16 * this.chips.length) this.warn(`chain latched after ${bits} clock(s), expected ${16 * this.chips.length} (16 per chip)`)
    if (this.dropNext) {
      this.dropNext = false
      return
    }
    this.latchLog.push({ words, bits })
    if (this.latchLog.length > this.keepLatches) this.latchLog.shift()
    words.forEach((word, k) => this.apply(this.chips[k]!, k, (word >> 8) & 0x0f, word & 0xff))
  }

  private apply(chip: ChipRegisters, k: number, register: number, data: number): void {
    if (register >= 0x01 && register <= 0x08) chip.rows[register - 1] = data
    else if (register === 0x09) {
      chip.decodeMode = data
      if (data !== 0) this.warn(`chip ${k}: decode mode 0x${data.toString(16)} on a matrix turns rows into Code B digits`)
    } else if (register === 0x0a) chip.intensity = data & 0x0f
    else if (register === 0x0b) {
      chip.scanLimit = data & 0x07
      if (chip.scanLimit !== 7) this.warn(`chip ${k}: scan limit ${chip.scanLimit} leaves rows ${chip.scanLimit + 2}–8 of its module dark`)
    } else if (register === 0x0c) chip.shutdown = (data & 1) === 0
    else if (register === 0x0f) chip.displayTest = (data & 1) === 1
    else if (register !== 0x00) this.warn(`chip ${k}: write to undefined register 0x${register.toString(16)}`)
  }

  /** Built on first use: matching tables for the whole font cost memory a window that is never looked at need not pay. */
  private textReader(font: BitmapFont): ScreenReader {
    this.reader ??= new ScreenReader(font)
    return this.reader
  }

  private warn(message: string): void {
    this.warningLog.push(message)
    if (this.warningLog.length > this.keepWarnings) this.warningLog.shift()
  }
}

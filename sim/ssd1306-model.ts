/**
 * An SSD1306 or SH1106 OLED controller on the simulated I2C bus
 * (docs/hardware.md §4.7), at the byte level: control bytes (0x00 commands,
 * 0x40 data, Co = 0x80 for one byte then another control byte), the commands
 * with their argument bytes, the display RAM (128 or 132 columns × 8 pages)
 * with the controller's own address pointer, and the picture a person sees.
 *
 * - SSD1306: page addressing at power-on (0x20 sets horizontal/vertical/page);
 *   in horizontal mode the pointer runs along the column range, then the next
 *   page of the page range, wrapping. The panel stays dark without the charge
 *   pump (0x8D 0x14), as a bare module does.
 * - SH1106: page addressing only, 132 columns of which the panel shows 2..129.
 * - power-on: panel off, RAM random, so a driver that lights it before
 *   writing the frame shows noise.
 *
 * pixels() applies the segment remap (0xA0/0xA1) and COM scan direction
 * (0xC0/0xC8): with 0xA1 and 0xC8, RAM column 0 is the left edge and page 0
 * bit 0 the top row, the usual module's upright picture.
 */
import type { BitmapFont } from '../edge/hardware/bitmap-font.ts'
import { PixelFrame } from '../edge/hardware/pixel-frame.ts'
import { OLED_HEIGHT, OLED_PAGES, OLED_WIDTH, SH1106_COLUMN_OFFSET, type OledController } from '../edge/hardware/ssd1306.ts'
import type { DisplayView, SimDisplayModel } from './display-view.ts'
import type { I2cDeviceModel } from './i2c-bus.ts'
import { ScreenReader, screenBands } from './screen-reader.ts'

/** Argument bytes after each command that takes any. */
const ARGS: Readonly<Record<number, number>> = {
  0x81: 1, 0x20: 1, 0x21: 2, 0x22: 2, 0xa8: 1, 0xd3: 1, 0xd5: 1, 0xd9: 1, 0xda: 1, 0xdb: 1, 0x8d: 1, 0xad: 1,
  0x26: 6, 0x27: 6, 0x29: 5, 0x2a: 5, 0xa3: 2,
}

export interface Ssd1306ModelOptions {
  controller: OledController
  /** What the panel is used as, for reading its text (the layouts differ). */
  role?: 'window' | 'officer'
  font?: BitmapFont
  random?: () => number
  keepWarnings?: number
}

export class Ssd1306Model implements I2cDeviceModel, SimDisplayModel {
  readonly controller: OledController
  readonly columns: number
  /** ram[page][column] */
  readonly ram: Uint8Array[]
  displayOn = false
  chargePump = false
  contrast = 0x7f
  addressingMode = 2
  segmentRemap = false
  comReversed = false
  inverted = false
  entireOn = false
  private colStart = 0
  private colEnd: number
  private pageStart = 0
  private pageEnd = OLED_PAGES - 1
  col = 0
  page = 0
  private readonly role: 'window' | 'officer'
  private readonly random: () => number
  private readonly font: BitmapFont | undefined
  private reader: ScreenReader | undefined
  private readonly warningLog: string[] = []
  private readonly keepWarnings: number

  constructor(opts: Ssd1306ModelOptions) {
    this.controller = opts.controller
    this.columns = opts.controller === 'sh1106' ? OLED_WIDTH + 2 * SH1106_COLUMN_OFFSET : OLED_WIDTH
    this.colEnd = this.columns - 1
    this.ram = Array.from({ length: OLED_PAGES }, () => new Uint8Array(this.columns))
    this.role = opts.role ?? 'window'
    this.random = opts.random ?? Math.random
    this.font = opts.font
    this.keepWarnings = opts.keepWarnings ?? 100
    this.powerCycle()
  }

  powerCycle(): void {
    this.displayOn = false
    this.chargePump = this.controller === 'sh1106' // the SH1106's DC-DC is on at reset; the SSD1306's pump is not
    this.contrast = 0x7f
    this.addressingMode = 2
    this.segmentRemap = false
    this.comReversed = false
    this.inverted = false
    this.entireOn = false
    this.colStart = 0
    this.colEnd = this.columns - 1
    this.pageStart = 0
    this.pageEnd = OLED_PAGES - 1
    this.col = 0
    this.page = 0
    for (const page of this.ram) for (let i = 0; i < page.length; i++) page[i] = Math.floor(this.random() * 256) & 0xff
  }

  get warnings(): readonly string[] {
    return this.warningLog
  }

  get lit(): boolean {
    return this.displayOn && this.chargePump
  }

  write(bytes: Uint8Array): void {
    let i = 0
    while (i < bytes.length) {
      const control = bytes[i++]!
      const continuation = (control & 0x80) !== 0
      const isData = (control & 0x40) !== 0
      if ((control & 0x3f) !== 0) this.warn(`control byte 0x${control.toString(16)} has bits set below D/C#`)
      if (continuation) {
        // Co = 1: one byte, then another control byte.
        if (i >= bytes.length) return
        if (isData) this.data(bytes[i++]!)
        else i = this.command(bytes, i)
        continue
      }
      if (isData) {
        while (i < bytes.length) this.data(bytes[i++]!)
      } else {
        while (i < bytes.length) i = this.command(bytes, i)
      }
    }
  }

  read(length: number): Uint8Array {
    // Status byte: D6 = display off. The RAM cannot be read over I2C on these modules.
    return new Uint8Array(length).fill(this.displayOn ? 0x00 : 0x40)
  }

  /** What a person sees. */
  pixels(): PixelFrame {
    const frame = new PixelFrame(OLED_WIDTH, OLED_HEIGHT)
    if (!this.lit) return frame
    for (let y = 0; y < OLED_HEIGHT; y++) {
      const row = this.comReversed ? y : OLED_HEIGHT - 1 - y
      for (let x = 0; x < OLED_WIDTH; x++) {
        const offset = this.controller === 'sh1106' ? SH1106_COLUMN_OFFSET : 0
        const col = this.segmentRemap ? x + offset : this.columns - 1 - offset - x
        const on = this.entireOn || ((this.ram[row >> 3]![col]! >> (row & 7)) & 1) === 1
        frame.set(x, y, on !== this.inverted)
      }
    }
    return frame
  }

  view(): DisplayView {
    const lines = this.font && this.lit ? this.textReader(this.font).read(this.pixels(), screenBands(OLED_HEIGHT, this.role)) : []
    return {
      text: lines.filter((l) => l !== '').join(' '),
      lines,
      glyphs: [],
      colon: false,
      dots: [],
      lit: this.lit,
      blink: 'off',
      brightness: Math.round(this.contrast / 17),
      ambiguous: false,
    }
  }

  private data(byte: number): void {
    this.ram[this.page]![this.col] = byte
    if (this.controller === 'ssd1306' && this.addressingMode === 0) {
      if (this.col >= this.colEnd) {
        this.col = this.colStart
        this.page = this.page >= this.pageEnd ? this.pageStart : this.page + 1
      } else this.col++
      return
    }
    if (this.controller === 'ssd1306' && this.addressingMode === 1) {
      if (this.page >= this.pageEnd) {
        this.page = this.pageStart
        this.col = this.col >= this.colEnd ? this.colStart : this.col + 1
      } else this.page++
      return
    }
    // Page addressing: along the page, wrapping within it.
    this.col = this.col >= this.columns - 1 ? 0 : this.col + 1
  }

  /** Runs the command at bytes[i]; returns the index after its arguments. */
  private command(bytes: Uint8Array, i: number): number {
    const c = bytes[i]!
    const n = this.controller === 'sh1106' && (c === 0x20 || c === 0x21 || c === 0x22 || c === 0x8d) ? 0 : (ARGS[c] ?? 0)
    const args = Array.from(bytes.subarray(i + 1, i + 1 + n))
    if (args.length < n) this.warn(`command 0x${c.toString(16)} cut short: ${n} argument byte(s) expected, ${args.length} sent`)
    const a = (k: number) => args[k] ?? 0
    if (this.controller === 'sh1106' && (c === 0x20 || c === 0x21 || c === 0x22 || c === 0x8d)) {
      this.warn(`0x${c.toString(16)} is an SSD1306 command; an SH1106 does not have it`)
    } else if (c === 0xae || c === 0xaf) this.displayOn = c === 0xaf
    else if (c === 0x81) this.contrast = a(0)
    else if (c === 0x8d) this.chargePump = (a(0) & 0x04) !== 0
    else if (c === 0x20) this.addressingMode = a(0) & 0x03
    else if (c === 0x21) {
      this.colStart = this.col = a(0) & 0x7f
      this.colEnd = a(1) & 0x7f
    } else if (c === 0x22) {
      this.pageStart = this.page = a(0) & 0x07
      this.pageEnd = a(1) & 0x07
    } else if (c >= 0xb0 && c <= 0xb7) this.page = c & 0x07
    else if (c <= 0x0f) this.col = (this.col & 0xf0) | c
    else if (c >= 0x10 && c <= 0x1f) this.col = ((c & 0x0f) << 4) | (this.col & 0x0f)
    else if (c === 0xa0 || c === 0xa1) this.segmentRemap = c === 0xa1
    else if (c === 0xc0 || c === 0xc8) this.comReversed = c === 0xc8
    else if (c === 0xa6 || c === 0xa7) this.inverted = c === 0xa7
    else if (c === 0xa4 || c === 0xa5) this.entireOn = c === 0xa5
    else if (c === 0xad) this.chargePump = (a(0) & 0x01) !== 0
    // Timing, multiplex, offset, start line, COM pins, precharge, VCOMH, scrolling: accepted, no effect on the picture here.
    return i + 1 + n
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

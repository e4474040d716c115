/**
 * SSD1306 and SH1106 128×64 OLED controllers on I2C (docs/hardware.md §4.7),
 * for the officer panel or a small window sign.
 *
 * Every I2C write starts with a control byte: 0x00 means the rest are
 * commands, 0x40 that the rest are display RAM data. The RAM is 8 pages of
 * 8 rows; a data byte is one column of one page, bit 0 the top row.
 *
 * - SSD1306: 128 columns; we use horizontal addressing (0x20 0x00) with the
 *   column range 0x21 0..127 and page range 0x22 0..7 set before each frame,
 *   so the whole 1024 bytes stream in order;
 * - SH1106: 132 columns of RAM of which the panel shows 2..129, and page
 *   addressing only: per page, 0xB0|page, the column's low and high nibble
 *   (0x02, 0x10), then the page's 128 bytes.
 *
 * Segment remap (0xA1) and reverse COM scan (0xC8) put RAM column 0 at the
 * left and page 0 bit 0 at the top on the usual modules. A controller that
 * browns out comes back with the panel off and its RAM random, and still
 * acknowledges, so as with the HT16K33 every `refreshMs` the init and the
 * whole frame are written again; after a NACK the next write starts with the
 * init. Transfers go through I2cDevice (one NACK retry, fault codes).
 */
import type { Logger } from 'pino'
import { DeviceFault } from './device-fault.ts'
import { SerialQueue } from '../shared/serial-queue.ts'
import { I2cDevice } from './i2c-device.ts'
import type { I2cBus } from './i2c-port.ts'
import type { PixelFrame } from './pixel-frame.ts'
import { checkFrameSize, type PixelScreen } from './pixel-screen.ts'
import { checkBrightness } from './text-display.ts'
import { PeriodicRefresh } from './periodic-refresh.ts'

export type OledController = 'ssd1306' | 'sh1106'

export const OLED_CONTROL = { COMMANDS: 0x00, DATA: 0x40 } as const
export const OLED_WIDTH = 128
export const OLED_HEIGHT = 64
export const OLED_PAGES = OLED_HEIGHT / 8
/** SH1106: the panel's column 0 is RAM column 2 of 132. */
export const SH1106_COLUMN_OFFSET = 2
/** Data bytes per I2C write (33 bytes with the control byte), which every I2C adapter takes. */
export const OLED_DATA_CHUNK = 32

const DISPLAY_OFF = 0xae
const DISPLAY_ON = 0xaf
const CONTRAST = 0x81

/** The power-on sequence, panel off at its end: the RAM is cleared before it lights. */
export function oledInitCommands(controller: OledController): number[] {
  const common = [DISPLAY_OFF, 0xd5, 0x80, 0xa8, OLED_HEIGHT - 1, 0xd3, 0x00, 0x40]
  const tail = [0xa1, 0xc8, 0xda, 0x12, 0xd9, 0xf1, 0xdb, 0x40, 0xa4, 0xa6]
  return controller === 'ssd1306'
    ? // charge pump on (0x8D 0x14): without it an SSD1306 module stays dark; horizontal addressing; no scrolling
      [...common, 0x8d, 0x14, 0x20, 0x00, ...tail, 0x2e]
    : // SH1106: DC-DC on (0xAD 0x8B); it has no addressing modes and no 0x20 command
      [...common, 0xad, 0x8b, ...tail]
}

/** The page bytes of `frame`: page p, column x, bit b = pixel (x, 8p + b). */
export function oledPages(frame: PixelFrame): Uint8Array[] {
  return Array.from({ length: OLED_PAGES }, (_, p) =>
    Uint8Array.from({ length: OLED_WIDTH }, (_, x) => {
      let byte = 0
      for (let b = 0; b < 8; b++) if (frame.get(x, p * 8 + b)) byte |= 1 << b
      return byte
    }),
  )
}

export interface Ssd1306Options {
  bus: I2cBus
  /** 0x3C, or 0x3D with the address jumper. */
  address: number
  controller: OledController
  name?: string
  log?: Logger
  /** Rewrite init and frame this often (ms); 0 = only on changes. */
  refreshMs?: number
}

export class Ssd1306Display implements PixelScreen {
  readonly name: string
  readonly width = OLED_WIDTH
  readonly height = OLED_HEIGHT
  readonly controller: OledController
  private readonly device: I2cDevice
  private readonly log: Logger | undefined
  private readonly queue = new SerialQueue()
  private readonly refresh: PeriodicRefresh
  private pages: Uint8Array[] = blankPages()
  private brightness = 15
  private on = true
  private needsInit = true
  private stopped = false

  constructor(opts: Ssd1306Options) {
    if (opts.address !== 0x3c && opts.address !== 0x3d) throw new RangeError(`an SSD1306/SH1106 module answers at 0x3c or 0x3d, got 0x${opts.address.toString(16)}`)
    this.controller = opts.controller
    this.name = opts.name ?? `${opts.controller}@0x${opts.address.toString(16)}`
    this.log = opts.log
    this.refresh = new PeriodicRefresh(opts.refreshMs ?? 0, () => this.enqueue('refresh', () => this.init()), (err) => this.log?.debug({ device: this.name, err }, 'refresh failed'))
    this.device = new I2cDevice({ bus: opts.bus, address: opts.address, name: this.name, log: opts.log })
  }

  start(): Promise<void> {
    this.stopped = false
    const done = this.enqueue('start', () => {
      this.pages = blankPages()
      return this.init()
    })
    this.refresh.start()
    return done
  }

  draw(frame: PixelFrame): Promise<void> {
    checkFrameSize(this, frame)
    const pages = oledPages(frame)
    return this.enqueue('draw', async () => {
      this.pages = pages
      if (this.needsInit) return this.init()
      await this.writeFrame()
    })
  }

  setOn(on: boolean): Promise<void> {
    return this.enqueue('setOn', async () => {
      this.on = on
      if (this.needsInit) return this.init()
      await this.commands([on ? DISPLAY_ON : DISPLAY_OFF])
    })
  }

  setBrightness(level: number): Promise<void> {
    checkBrightness(level)
    return this.enqueue('setBrightness', async () => {
      this.brightness = level
      if (this.needsInit) return this.init()
      await this.commands([CONTRAST, contrastOf(level)])
    })
  }

  watchRefresh(listener: (refresh: Promise<void>) => void): void {
    this.refresh.watch(listener)
  }

  stop(): Promise<void> {
    this.refresh.stop()
    const done = this.enqueue('stop', async () => {
      this.pages = blankPages()
      await this.writeFrame()
      await this.commands([DISPLAY_OFF])
      this.needsInit = true
    })
    this.stopped = true
    return done
  }

  /** Init (panel off), contrast, the whole frame, then the panel on: never a random RAM lit. */
  private async init(): Promise<void> {
    await this.commands([...oledInitCommands(this.controller), CONTRAST, contrastOf(this.brightness)])
    await this.writeFrame()
    if (this.on) await this.commands([DISPLAY_ON])
    this.needsInit = false
  }

  private async writeFrame(): Promise<void> {
    if (this.controller === 'ssd1306') {
      await this.commands([0x21, 0, OLED_WIDTH - 1, 0x22, 0, OLED_PAGES - 1])
      const all = Buffer.concat(this.pages)
      for (let i = 0; i < all.length; i += OLED_DATA_CHUNK) await this.data(all.subarray(i, i + OLED_DATA_CHUNK))
      return
    }
    for (let p = 0; p < OLED_PAGES; p++) {
      await this.commands([0xb0 | p, SH1106_COLUMN_OFFSET & 0x0f, 0x10 | (SH1106_COLUMN_OFFSET >> 4)])
      const page = this.pages[p]!
      for (let i = 0; i < page.length; i += OLED_DATA_CHUNK) await this.data(page.subarray(i, i + OLED_DATA_CHUNK))
    }
  }

  private async commands(bytes: number[]): Promise<void> {
    const buf = Buffer.from([OLED_CONTROL.COMMANDS, ...bytes])
    await this.device.transfer((bus, a) => bus.i2cWrite(a, buf.length, buf))
  }

  private async data(bytes: Uint8Array): Promise<void> {
    const buf = Buffer.alloc(bytes.length + 1)
    buf[0] = OLED_CONTROL.DATA
    buf.set(bytes, 1)
    await this.device.transfer((bus, a) => bus.i2cWrite(a, buf.length, buf))
  }

  private enqueue<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error(`${this.name}: ${what} after stop()`))
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

/** 0..15 → the 0..255 contrast register, 15 the chip's full 0xFF. */
export function contrastOf(level: number): number {
  return level * 17
}

function blankPages(): Uint8Array[] {
  return Array.from({ length: OLED_PAGES }, () => new Uint8Array(OLED_WIDTH))
}

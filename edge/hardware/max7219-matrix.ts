/**
 * A chain of MAX7219 8×8 LED matrix modules as one pixel screen
 * (docs/hardware.md §4.5), e.g. the 64×16 window strip: two rows of eight
 * modules (four FC-16 4-in-1 blocks), sixteen chips on one DIN/CLK/LOAD.
 *
 * The chips are daisy-chained, DOUT to DIN: while LOAD is low every chip
 * passes the bits it is pushed out of on to the next, and LOAD's rising edge
 * latches each chip's last 16 bits. So one write is one 16-bit frame per chip,
 * the farthest chip's first. A chip that has nothing to change gets the no-op
 * register (0x00). The module wiring modelled (FC-16 style, the one
 * sim/max7219-chain-model.ts decodes):
 *
 * - digit register r (1–8) drives the module's pixel row r−1, top first;
 *   data bit D7 is the leftmost column of the row, D0 the rightmost;
 * - chain position 0 (nearest the board's DIN) is the rightmost module of the
 *   top row; positions run leftwards along a row, then on to the right end
 *   of the next row down (each block's input on its right).
 *
 * As with the 7-segment driver (max7219.ts): decode mode written as 0 (no
 * Code B on a matrix), scan limit 7 (all eight rows), rows cleared before the
 * chips leave shutdown, and everything re-sent every `refreshMs` because a
 * MAX7219 can be neither read back nor NACK.
 */
import type { Logger } from 'pino'
import { SerialQueue } from '../shared/serial-queue.ts'
import type { Level } from './gpio-port.ts'
import { MAX7219_REG, max7219LineFault, type Max7219Lines } from './max7219.ts'
import type { PixelFrame } from './pixel-frame.ts'
import { checkFrameSize, type PixelScreen } from './pixel-screen.ts'
import { checkBrightness } from './text-display.ts'
import { PeriodicRefresh } from './periodic-refresh.ts'

export const MATRIX_MODULE_SIZE = 8

/** How the chain's frames reach the chips. */
export interface Max7219ChainTransport {
  readonly description: string
  /**
   * One latch of the whole chain: `words[k]` (register << 8 | data) ends up in
   * chip k, chip 0 being the one nearest DIN. Resolves once latched.
   */
  writeChain(words: readonly number[]): Promise<void>
}

/** Bit-banged over three GpioLines: LOAD low, the farthest chip's 16 bits first, MSB first, LOAD high. */
export class GpioMax7219ChainTransport implements Max7219ChainTransport {
  readonly description: string
  private readonly lines: Max7219Lines

  constructor(lines: Max7219Lines) {
    this.lines = lines
    this.description = `gpio din=${lines.din.name} clk=${lines.clk.name} cs=${lines.cs.name}`
  }

  async writeChain(words: readonly number[]): Promise<void> {
    const { din, clk, cs } = this.lines
    await cs.write(0)
    for (let k = words.length - 1; k >= 0; k--) {
      const word = words[k]! & 0x0fff
      for (let bit = 15; bit >= 0; bit--) {
        await clk.write(0)
        await din.write(((word >> bit) & 1) as Level)
        await clk.write(1)
      }
    }
    await cs.write(1)
  }
}

export interface MatrixGeometry {
  /** Modules across (8 pixels each). */
  modulesWide: number
  /** Modules down (8 pixels each). */
  modulesHigh: number
}

/** Where chain position k sits: module column (0 leftmost) and row (0 top). */
export function matrixModuleAt(k: number, g: MatrixGeometry): { col: number; row: number } {
  return { col: g.modulesWide - 1 - (k % g.modulesWide), row: Math.floor(k / g.modulesWide) }
}

/** The data byte of digit register r+1 of chip k for `frame`: D7 the leftmost pixel. */
export function matrixRowByte(frame: PixelFrame, g: MatrixGeometry, k: number, r: number): number {
  const { col, row } = matrixModuleAt(k, g)
  let byte = 0
  for (let b = 0; b < MATRIX_MODULE_SIZE; b++) {
    if (frame.get(col * MATRIX_MODULE_SIZE + b, row * MATRIX_MODULE_SIZE + r)) byte |= 0x80 >> b
  }
  return byte
}

export interface Max7219MatrixOptions extends MatrixGeometry {
  transport: Max7219ChainTransport
  name?: string
  log?: Logger
  /** Re-send everything this often (ms); 0 = only on changes. */
  refreshMs?: number
}

export class Max7219Matrix implements PixelScreen {
  readonly name: string
  readonly width: number
  readonly height: number
  readonly chips: number
  private readonly geometry: MatrixGeometry
  private readonly transport: Max7219ChainTransport
  private readonly log: Logger | undefined
  private readonly queue = new SerialQueue()
  /** rows[k][r]: what chip k's digit register r+1 should hold. */
  private rows: Uint8Array[]
  /** What was last latched, or null when unknown (start, after a failure): then every row is sent. */
  private sent: Uint8Array[] | null = null
  private brightness = 15
  private on = true
  private readonly refresh: PeriodicRefresh
  private stopped = false

  constructor(opts: Max7219MatrixOptions) {
    for (const [what, n] of [
      ['modulesWide', opts.modulesWide],
      ['modulesHigh', opts.modulesHigh],
    ] as const) {
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new RangeError(`a MAX7219 matrix has 1..16 modules in ${what}, got ${n}`)
    }
    this.geometry = { modulesWide: opts.modulesWide, modulesHigh: opts.modulesHigh }
    this.chips = opts.modulesWide * opts.modulesHigh
    this.width = opts.modulesWide * MATRIX_MODULE_SIZE
    this.height = opts.modulesHigh * MATRIX_MODULE_SIZE
    this.transport = opts.transport
    this.name = opts.name ?? `max7219 matrix ${this.width}×${this.height} (${opts.transport.description})`
    this.log = opts.log
    this.refresh = new PeriodicRefresh(opts.refreshMs ?? 0, () => this.enqueue('refresh', () => this.writeAll()))
    this.rows = this.blankRows()
  }

  start(): Promise<void> {
    this.stopped = false
    this.rows = this.blankRows()
    this.sent = null
    const done = this.enqueue('start', () => this.writeAll())
    this.refresh.start()
    return done
  }

  draw(frame: PixelFrame): Promise<void> {
    checkFrameSize(this, frame)
    const rows = Array.from({ length: this.chips }, (_, k) =>
      Uint8Array.from({ length: MATRIX_MODULE_SIZE }, (_, r) => matrixRowByte(frame, this.geometry, k, r)),
    )
    return this.enqueue('draw', async () => {
      this.rows = rows
      if (this.sent === null) return this.writeAll()
      await this.writeRows()
    })
  }

  setOn(on: boolean): Promise<void> {
    return this.enqueue('setOn', async () => {
      this.on = on
      await this.all(MAX7219_REG.SHUTDOWN, on ? 1 : 0)
    })
  }

  setBrightness(level: number): Promise<void> {
    checkBrightness(level)
    return this.enqueue('setBrightness', async () => {
      this.brightness = level
      await this.all(MAX7219_REG.INTENSITY, level)
    })
  }

  watchRefresh(listener: (refresh: Promise<void>) => void): void {
    this.refresh.watch(listener)
  }

  stop(): Promise<void> {
    this.refresh.stop()
    const done = this.enqueue('stop', async () => {
      this.rows = this.blankRows()
      await this.writeRows()
      await this.all(MAX7219_REG.SHUTDOWN, 0)
    })
    this.stopped = true
    return done
  }

  /** The whole state, in the order that never lights garbage: controls, every row, then out of shutdown. */
  private async writeAll(): Promise<void> {
    this.sent = null
    await this.all(MAX7219_REG.DISPLAY_TEST, 0)
    await this.all(MAX7219_REG.DECODE_MODE, 0)
    await this.all(MAX7219_REG.SCAN_LIMIT, 7)
    await this.all(MAX7219_REG.INTENSITY, this.brightness)
    await this.writeRows()
    await this.all(MAX7219_REG.SHUTDOWN, this.on ? 1 : 0)
  }

  /** One chain write per row that changed anywhere; the chips whose row did not change get a no-op. */
  private async writeRows(): Promise<void> {
    const sent = this.sent
    for (let r = 0; r < MATRIX_MODULE_SIZE; r++) {
      const changed = this.rows.map((row, k) => sent === null || sent[k]![r] !== row[r])
      if (!changed.some(Boolean)) continue
      const words = this.rows.map((row, k) => (changed[k] ? ((MAX7219_REG.DIGIT0 + r) << 8) | row[r]! : MAX7219_REG.NOOP << 8))
      await this.transport.writeChain(words)
    }
    this.sent = this.rows.map((row) => row.slice())
  }

  private all(register: number, data: number): Promise<void> {
    return this.transport.writeChain(Array.from({ length: this.chips }, () => (register << 8) | (data & 0xff)))
  }

  private blankRows(): Uint8Array[] {
    return Array.from({ length: this.chips }, () => new Uint8Array(MATRIX_MODULE_SIZE))
  }

  private enqueue<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error(`${this.name}: ${what} after stop()`))
    return this.queue.run(async () => {
      try {
        return await op()
      } catch (err) {
        this.sent = null
        throw max7219LineFault(this.name, what, err, this.log)
      }
    })
  }
}

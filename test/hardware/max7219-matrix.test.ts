import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { loadHexFont } from '../../edge/hardware/bitmap-font.ts'
import { GpioMax7219ChainTransport, Max7219Matrix } from '../../edge/hardware/max7219-matrix.ts'
import { renderLines, screenLines } from '../../edge/devices/screen-layouts.ts'
import type { ScreenView } from '../../edge/counter/screen-view.ts'
import { SimGpio } from '../../sim/gpio.ts'
import { Max7219ChainModel } from '../../sim/max7219-chain-model.ts'
import { debianGlyphHex, debianGlyphWidth, referenceRows } from '../support/unifont-reference.ts'

const PINS = { din: 'display-din', clk: 'display-clk', cs: 'display-cs' }
const CHIPS = 16

async function rig() {
  const gpio = new SimGpio({
    lines: [
      { name: PINS.din, chip: 'sim', offset: 10, direction: 'out' },
      { name: PINS.clk, chip: 'sim', offset: 11, direction: 'out' },
      { name: PINS.cs, chip: 'sim', offset: 9, direction: 'out' },
    ],
  })
  const font = await loadHexFont()
  const model = new Max7219ChainModel({ gpio, pins: PINS, modulesWide: 8, modulesHigh: 2, font, random: () => 0.99 })
  const open = (name: string, offset: number, initial: 0 | 1 = 0) => gpio.open({ name, chip: 'sim', offset, direction: 'out', initial })
  const lines = { din: await open(PINS.din, 10), clk: await open(PINS.clk, 11), cs: await open(PINS.cs, 9, 1) }
  const driver = new Max7219Matrix({ transport: new GpioMax7219ChainTransport(lines), modulesWide: 8, modulesHigh: 2 })
  return { gpio, model, driver, font, lines }
}

const calling: ScreenView = { mode: 'calling', ticket: 'A012', attention: false, officer: null, pauseReason: null, windowName: null, services: [] }
const all = (word: number) => Array.from({ length: CHIPS }, () => word)

/**
 * The bytes of chip k's row r for 请A012号 on the 64×16 strip, straight from
 * Debian's unifont.hex: the line is exactly 64 px (16 + 4 × 8 + 16), so glyph
 * edges fall on module edges and each module row is two hex digits of a glyph row.
 */
function expectedRowByte(k: number, r: number): number {
  const col = 7 - (k % 8)
  const y = Math.floor(k / 8) * 8 + r
  const rowHex = [...'请A012号'].map((ch) => {
    const hex = debianGlyphHex(ch)
    const digits = debianGlyphWidth(ch) / 4
    return hex.slice(y * digits, (y + 1) * digits)
  }).join('')
  return Number.parseInt(rowHex.slice(col * 2, col * 2 + 2), 16)
}

describe('Max7219Matrix: a 64×16 chain of sixteen MAX7219 matrix modules', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('initialises every chip with one latch per register: test off, no decode, scan limit 7, intensity, rows cleared, then out of shutdown', async () => {
    const { model, driver } = await rig()
    expect(model.lit).toBe(false)
    await driver.start()
    expect(model.latches().map((l) => l.words)).toEqual([
      all(0x0f00),
      all(0x0900),
      all(0x0b07),
      all(0x0a0f),
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((r) => all(r << 8)),
      all(0x0c01),
    ])
    expect(model.latches().every((l) => l.bits === 16 * CHIPS)).toBe(true)
    expect(model.warnings).toEqual([])
    expect(model.lit).toBe(true)
    expect(model.pixels().litCount()).toBe(0)
  })

  it('shows 请A012号 with exactly the bytes of Debian\'s Unifont glyphs, a no-op for every module whose row did not change, and the model decodes the reference picture', async () => {
    const { model, driver, font } = await rig()
    await driver.start()
    model.clearLatches()
    const lines = screenLines(calling, 'window', 16)
    expect(lines).toEqual([{ text: '请A012号', y: 0, scale: 1 }])
    await driver.draw(renderLines(font, lines, 64, 16, 0))

    const expected: number[][] = []
    for (let r = 0; r < 8; r++) {
      const words = Array.from({ length: CHIPS }, (_, k) => {
        const byte = expectedRowByte(k, r)
        return byte === 0 ? 0x0000 : ((r + 1) << 8) | byte // a blank row stays as start left it: no-op
      })
      if (words.some((w) => w !== 0)) expected.push(words)
    }
    expect(model.latches().map((l) => l.words)).toEqual(expected)
    // Spot check against hand-read bytes: 请's top row is 0x0040, so the leftmost module of the top row (chip 7) gets 0x00 → no-op, chip 6 gets 0x40.
    expect(debianGlyphHex('请').slice(0, 4)).toBe('0040')
    expect(expected[0]![7]).toBe(0x0000)
    expect(expected[0]![6]).toBe(0x0140)
    expect(model.pixels().toRows()).toEqual(referenceRows([{ text: '请A012号', y: 0, scale: 1 }], 64, 16))
    expect(model.view()).toMatchObject({ lit: true, text: '请A012号' })
    expect(model.warnings).toEqual([])
  })

  it('re-sends everything on refresh, so a module that lost power comes back', async () => {
    const { model, gpio, font, lines } = await rig()
    const driver = new Max7219Matrix({ transport: new GpioMax7219ChainTransport(lines), modulesWide: 8, modulesHigh: 2, refreshMs: 10_000 })
    await driver.start()
    await driver.draw(renderLines(font, screenLines(calling, 'window', 16), 64, 16, 0))
    model.unplug()
    model.replug()
    expect(model.lit).toBe(false)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(model.pixels().toRows()).toEqual(referenceRows([{ text: '请A012号', y: 0, scale: 1 }], 64, 16))
    await driver.stop()
    expect(model.lit).toBe(false)
    await gpio.stop()
  })
})

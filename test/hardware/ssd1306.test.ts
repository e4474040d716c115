import { describe, expect, it } from 'vitest'
import { loadHexFont } from '../../edge/hardware/bitmap-font.ts'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'
import { oledInitCommands, Ssd1306Display, type OledController } from '../../edge/hardware/ssd1306.ts'
import { renderLines, screenLines } from '../../edge/devices/screen-layouts.ts'
import type { ScreenView } from '../../edge/counter/screen-view.ts'
import { SimI2cBus } from '../../sim/i2c-bus.ts'
import { Ssd1306Model } from '../../sim/ssd1306-model.ts'
import { referenceRows } from '../support/unifont-reference.ts'

const ADDRESS = 0x3c

async function rig(controller: OledController, role: 'window' | 'officer' = 'window') {
  const bus = new SimI2cBus({ bus: 1, keep: 5000 })
  const font = await loadHexFont()
  const model = new Ssd1306Model({ controller, role, font, random: () => 0.7 })
  bus.attach(ADDRESS, model)
  const driver = new Ssd1306Display({ bus, address: ADDRESS, controller })
  return { bus, model, driver, font }
}

const calling: ScreenView = { mode: 'calling', ticket: 'A012', attention: false, officer: null, pauseReason: null, windowName: '3号窗口', services: [] }
/** The calling layout on 128×64, as the reference draws it from Debian's font: 请A012号 at twice the size between two small lines. */
const CALLING_REFERENCE = [
  { text: '3号窗口', y: 0, scale: 1 },
  { text: '请A012号', y: 16, scale: 2 },
  { text: 'Now calling A012', y: 48, scale: 1 },
]

/** Page p's 128 bytes from '#'/'.' rows: bit b of column x is pixel (x, 8p + b). */
function pageBytes(rows: string[], p: number): number[] {
  return Array.from({ length: 128 }, (_, x) => {
    let byte = 0
    for (let b = 0; b < 8; b++) if (rows[p * 8 + b]![x] === '#') byte |= 1 << b
    return byte
  })
}

const writes = (bus: SimI2cBus) => bus.transactions(ADDRESS).filter((t) => t.op === 'write').map((t) => t.bytes)

describe('SSD1306 on I2C: control bytes, init, horizontal addressing', () => {
  it('starts with the init sequence (panel off), the contrast, a blank frame, and only then the panel on', async () => {
    const { bus, model, driver } = await rig('ssd1306')
    await driver.start()
    const w = writes(bus)
    expect(w[0]).toEqual([0x00, 0xae, 0xd5, 0x80, 0xa8, 0x3f, 0xd3, 0x00, 0x40, 0x8d, 0x14, 0x20, 0x00, 0xa1, 0xc8, 0xda, 0x12, 0xd9, 0xf1, 0xdb, 0x40, 0xa4, 0xa6, 0x2e, 0x81, 0xff])
    expect(w[1]).toEqual([0x00, 0x21, 0, 127, 0x22, 0, 7])
    expect(w.slice(2, 34).every((t) => t.length === 33 && t[0] === 0x40 && t.slice(1).every((b) => b === 0))).toBe(true)
    expect(w[34]).toEqual([0x00, 0xaf])
    expect(w).toHaveLength(35)
    expect(model.lit).toBe(true)
    expect(model.pixels().litCount()).toBe(0)
    expect(model.warnings).toEqual([])
  })

  it('writes 请A012号 as the exact page bytes of Debian\'s Unifont glyphs, and the model decodes the reference picture', async () => {
    const { bus, model, driver, font } = await rig('ssd1306')
    await driver.start()
    bus.clearTransactions()
    const lines = screenLines(calling, 'window', 64)
    expect(lines).toEqual(CALLING_REFERENCE)
    await driver.draw(renderLines(font, lines, 128, 64, 0))
    const reference = referenceRows(CALLING_REFERENCE, 128, 64)
    const stream = Array.from({ length: 8 }, (_, p) => pageBytes(reference, p)).flat()
    const expected = [[0x00, 0x21, 0, 127, 0x22, 0, 7]]
    for (let i = 0; i < 1024; i += 32) expected.push([0x40, ...stream.slice(i, i + 32)])
    expect(writes(bus)).toEqual(expected)
    expect(model.pixels().toRows()).toEqual(reference)
    expect(model.view()).toMatchObject({ lit: true, lines: ['3号窗口', '请A012号', 'Now calling A012'] })
  })

  it('a NACK is a fault; the next write starts with the whole init, and the panel shows the picture again', async () => {
    const { bus, model, driver, font } = await rig('ssd1306')
    await driver.start()
    const frame = renderLines(font, screenLines(calling, 'window', 64), 128, 64, 0)
    bus.injectFault(ADDRESS, 'absent')
    const err = await driver.draw(frame).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DeviceFault)
    expect((err as DeviceFault).code).toBe('nack')
    model.powerCycle() // it browned out meanwhile: off, RAM random
    bus.injectFault(ADDRESS, 'none')
    bus.clearTransactions()
    await driver.draw(frame)
    expect(writes(bus)[0]!.slice(0, 3)).toEqual([0x00, ...oledInitCommands('ssd1306').slice(0, 2)])
    expect(model.pixels().toRows()).toEqual(referenceRows(CALLING_REFERENCE, 128, 64))
  })
})

describe('SH1106: 132-column RAM at offset 2, page addressing', () => {
  it('writes each page with its page and column commands and the same glyph bytes; the model shows the reference picture', async () => {
    const { bus, model, driver, font } = await rig('sh1106', 'officer')
    await driver.start()
    expect(writes(bus)[0]).toEqual([0x00, 0xae, 0xd5, 0x80, 0xa8, 0x3f, 0xd3, 0x00, 0x40, 0xad, 0x8b, 0xa1, 0xc8, 0xda, 0x12, 0xd9, 0xf1, 0xdb, 0x40, 0xa4, 0xa6, 0x81, 0xff])
    bus.clearTransactions()
    const view: ScreenView = { ...calling, mode: 'serving', officer: { id: '031245', name: '李娜' } }
    const lines = screenLines(view, 'officer', 64)
    const reference = [
      { text: '3号窗口 A012', y: 0, scale: 1 },
      { text: '姓名 李娜', y: 16, scale: 1 },
      { text: '警号 031245', y: 32, scale: 1 },
      { text: '办理 Serving', y: 48, scale: 1 },
    ]
    expect(lines).toEqual(reference)
    await driver.draw(renderLines(font, lines, 128, 64, 0))
    const rows = referenceRows(reference, 128, 64)
    const expected: number[][] = []
    for (let p = 0; p < 8; p++) {
      expected.push([0x00, 0xb0 | p, 0x02, 0x10])
      const bytes = pageBytes(rows, p)
      for (let i = 0; i < 128; i += 32) expected.push([0x40, ...bytes.slice(i, i + 32)])
    }
    expect(writes(bus)).toEqual(expected)
    // The two columns either side of the panel were never written: still the power-on noise.
    expect(model.ram[0]![0]).toBe(Math.floor(0.7 * 256))
    expect(model.pixels().toRows()).toEqual(rows)
    expect(model.view().lines).toEqual(['3号窗口 A012', '姓名 李娜', '警号 031245', '办理 Serving'])
    expect(model.warnings).toEqual([])
  })
})

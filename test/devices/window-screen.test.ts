import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ScreenView } from '../../edge/counter/screen-view.ts'
import { DeviceHealthTracker, type DeviceFaultReport } from '../../edge/devices/device-health.ts'
import { renderLines, screenLines, SCROLL_GAP_PX } from '../../edge/devices/screen-layouts.ts'
import { WindowScreen } from '../../edge/devices/window-screen.ts'
import { loadHexFont, type BitmapFont } from '../../edge/hardware/bitmap-font.ts'
import { GpioMax7219ChainTransport, Max7219Matrix } from '../../edge/hardware/max7219-matrix.ts'
import { measureText } from '../../edge/hardware/pixel-text.ts'
import { Ssd1306Display } from '../../edge/hardware/ssd1306.ts'
import { SimGpio } from '../../sim/gpio.ts'
import { SimI2cBus } from '../../sim/i2c-bus.ts'
import { Max7219ChainModel } from '../../sim/max7219-chain-model.ts'
import { Ssd1306Model } from '../../sim/ssd1306-model.ts'
import { referenceRows } from '../support/unifont-reference.ts'

const PINS = { din: 'display-din', clk: 'display-clk', cs: 'display-cs' }
let font: BitmapFont

const view = (v: Partial<ScreenView>): ScreenView => ({ mode: 'idle', ticket: null, attention: false, officer: null, pauseReason: null, windowName: null, services: [], ...v })

/** A pino logger whose lines the test can read. */
function capturingLog() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    },
  })
  return { log: pino({ level: 'warn' }, stream), lines }
}

function healthRecorder() {
  const health = new DeviceHealthTracker()
  const reports: Array<{ device: string; fault: DeviceFaultReport | null }> = []
  health.attach({ deviceHealth: (device, fault) => reports.push({ device, fault }) })
  return { health, reports }
}

async function stripRig() {
  const gpio = new SimGpio({
    lines: [
      { name: PINS.din, chip: 'sim', offset: 10, direction: 'out' },
      { name: PINS.clk, chip: 'sim', offset: 11, direction: 'out' },
      { name: PINS.cs, chip: 'sim', offset: 9, direction: 'out' },
    ],
  })
  const model = new Max7219ChainModel({ gpio, pins: PINS, modulesWide: 8, modulesHigh: 2, font, random: () => 0.5 })
  const open = (name: string, offset: number, initial: 0 | 1 = 0) => gpio.open({ name, chip: 'sim', offset, direction: 'out', initial })
  const lines = { din: await open(PINS.din, 10), clk: await open(PINS.clk, 11), cs: await open(PINS.cs, 9, 1) }
  const { log, lines: logged } = capturingLog()
  const { health, reports } = healthRecorder()
  const screen = new WindowScreen({
    driver: new Max7219Matrix({ transport: new GpioMax7219ChainTransport(lines), modulesWide: 8, modulesHigh: 2 }),
    font,
    role: 'window',
    ticketChars: 6,
    device: 'display',
    health,
    log,
  })
  return { gpio, model, screen, logged, reports }
}

function oledRig(role: 'window' | 'officer' = 'window', refreshMs?: number) {
  const bus = new SimI2cBus({ bus: 1 })
  const model = new Ssd1306Model({ controller: 'ssd1306', role, font, random: () => 0.3 })
  bus.attach(0x3c, model)
  const { log, lines: logged } = capturingLog()
  const { health, reports } = healthRecorder()
  const screen = new WindowScreen({
    driver: new Ssd1306Display({ bus, address: 0x3c, controller: 'ssd1306', ...(refreshMs !== undefined ? { refreshMs } : {}) }),
    font,
    role,
    ticketChars: 8,
    device: role === 'window' ? 'display' : 'officer-panel',
    health,
    log,
  })
  return { bus, model, screen, logged, reports }
}

describe('WindowScreen: the layouts of a window, drawn on pixel screens', () => {
  beforeEach(async () => {
    font ??= await loadHexFont()
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it.each([
    ['calling', '请A012号', '请A012号', view({ mode: 'calling', ticket: 'A012' })],
    ['evaluating', '请评价 Please rate', '请评价 P', view({ mode: 'evaluating', ticket: 'A012' })],
    ['paused', '暂停服务 休息 break Paused', '暂停服务', view({ mode: 'paused', pauseReason: 'break' })],
    ['closed', '窗口关闭 Closed', '窗口关闭', view({ mode: 'closed' })],
  ])('the 64×16 strip, %s: "%s" as Debian\'s Unifont draws it ("%s" before it scrolls)', async (_mode, line, visible, v) => {
    const { model, screen, gpio } = await stripRig()
    await screen.start()
    await screen.screen(v)
    expect(screenLines(v, 'window', 16)).toEqual([{ text: line, y: 0, scale: 1 }])
    expect(model.view().text).toBe(visible)
    expect(model.pixels().toRows()).toEqual(referenceRows([{ text: line, y: 0, scale: 1 }], 64, 16))
    expect(screen.status().scrolling).toBe(line !== visible)
    await screen.stop()
    await gpio.stop()
  })

  it('on the 128×64 OLED: paused with its reason, idle with the window\'s name and services, and the officer panel with name and 警号', async () => {
    const { model, screen } = oledRig()
    await screen.start()
    await screen.screen(view({ mode: 'paused', pauseReason: 'break', windowName: '3号窗口' }))
    expect(model.view().lines).toEqual(['3号窗口', '暂停服务', '休息 break'])
    await screen.screen(view({ mode: 'idle', windowName: '3号窗口', services: ['户籍', '出入境'] }))
    expect(model.view().lines).toEqual(['3号窗口', '3号窗口', '户籍、出入境'])
    await screen.screen(view({ mode: 'idle' })) // no name known yet: a neutral text, never blank
    expect(model.view().lines).toEqual(['窗口 Window', '欢迎', '欢迎 Welcome'])

    const panel = oledRig('officer')
    await panel.screen.start()
    await panel.screen.screen(view({ mode: 'calling', ticket: 'B101', officer: { id: '031245', name: '李娜' }, windowName: '3号窗口' }))
    expect(panel.model.view().lines).toEqual(['3号窗口 B101', '姓名 李娜', '警号 031245', '叫号 Calling'])
    expect(panel.model.pixels().toRows()).toEqual(
      referenceRows(
        [
          { text: '3号窗口 B101', y: 0, scale: 1 },
          { text: '姓名 李娜', y: 16, scale: 1 },
          { text: '警号 031245', y: 32, scale: 1 },
          { text: '叫号 Calling', y: 48, scale: 1 },
        ],
        128,
        64,
      ),
    )
    await panel.screen.screen(view({ mode: 'closed' }))
    expect(panel.model.view().lines).toEqual(['窗口 Window', '未签到', 'Not signed in', '关闭 Closed'])
  })

  it('scrolls a line longer than the screen on the runtime\'s timers, two pixels a tick, and stops when it fits again', async () => {
    const { model, screen, gpio } = await stripRig()
    await screen.start()
    const serving = view({ mode: 'serving', ticket: 'A012' })
    const lines = screenLines(serving, 'window', 16)
    expect(lines[0]!.text).toBe('A012 办理中 Serving')
    expect(measureText(font, lines[0]!.text)).toBeGreaterThan(64)
    await screen.screen(serving)
    expect(screen.status().scrolling).toBe(true)
    expect(model.pixels().equals(renderLines(font, lines, 64, 16, 0))).toBe(true)
    await vi.advanceTimersByTimeAsync(100)
    expect(model.pixels().equals(renderLines(font, lines, 64, 16, 2))).toBe(true)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(model.pixels().equals(renderLines(font, lines, 64, 16, 22))).toBe(true)
    // One whole pass (text, then the gap) brings the start back.
    const period = measureText(font, lines[0]!.text) + SCROLL_GAP_PX
    await vi.advanceTimersByTimeAsync((period / 2) * 100 - 1_100)
    expect(model.pixels().equals(renderLines(font, lines, 64, 16, 0))).toBe(true)
    await screen.screen(view({ mode: 'calling', ticket: 'A013' }))
    expect(screen.status().scrolling).toBe(false)
    expect(model.view().text).toBe('请A013号')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(model.view().text).toBe('请A013号')
    await screen.stop()
    await gpio.stop()
  })

  it('blinks a fresh call by switching the chips off and on, and lights every pixel to identify', async () => {
    const { model, screen, gpio } = await stripRig()
    await screen.start()
    await screen.screen(view({ mode: 'calling', ticket: 'A012', attention: true }))
    expect(model.lit).toBe(true)
    await vi.advanceTimersByTimeAsync(500)
    expect(model.lit).toBe(false)
    await vi.advanceTimersByTimeAsync(500)
    expect(model.view().text).toBe('请A012号')
    await screen.attention(false)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(model.lit).toBe(true)
    await screen.identify(2)
    expect(model.pixels().litCount()).toBe(64 * 16)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(model.lit).toBe(true)
    expect(model.view().text).toBe('请A012号')
    await screen.stop()
    await gpio.stop()
  })

  it('a character the font lacks is a box on the screen and one warning, however often it is drawn', async () => {
    const { model, screen, logged } = oledRig()
    await screen.start()
    await screen.screen(view({ mode: 'idle', windowName: 'Ж窗口' }))
    await screen.screen(view({ mode: 'closed', windowName: 'Ж窗口' }))
    await screen.screen(view({ mode: 'idle', windowName: 'Ж窗口' }))
    expect(screen.missingGlyphs()).toEqual(['Ж'])
    const warnings = logged.filter((l) => typeof l.msg === 'string' && (l.msg as string).includes('U+0416'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ char: 'Ж', codePoint: 'U+0416' })
    // The box takes the character's place: the rest of the line is still there, shifted by a fullwidth cell.
    const rows = model.pixels().toRows()
    const w = 16 + 32
    const x = Math.floor((128 - w) / 2)
    expect(rows[1]!.slice(x + 1, x + 15)).toBe('#'.repeat(14))
    expect(rows[14]!.slice(x + 1, x + 15)).toBe('#'.repeat(14))
    expect(model.view().lines![0]).toBe('窗口')
  })

  it('a NACK is a fault reported once; the screen re-sends its picture on its own and reports the recovery', async () => {
    const { bus, model, screen, reports } = oledRig()
    await screen.start()
    await screen.screen(view({ mode: 'calling', ticket: 'A012', windowName: '3号窗口' }))
    bus.injectFault(0x3c, 'absent')
    await expect(screen.screen(view({ mode: 'serving', ticket: 'A012', windowName: '3号窗口' }))).rejects.toMatchObject({ code: 'nack' })
    await vi.advanceTimersByTimeAsync(12_000)
    expect(reports.filter((r) => r.fault !== null)).toHaveLength(1)
    expect(screen.status().fault?.code).toBe('nack')
    model.powerCycle()
    bus.injectFault(0x3c, 'none')
    await vi.advanceTimersByTimeAsync(5_000)
    expect(screen.status().fault).toBeNull()
    expect(reports.at(-1)).toEqual({ device: 'display', fault: null })
    expect(model.view().lines).toEqual(['3号窗口', 'A012', '办理中 Serving'])
  })

  it('unplugged while its picture stays (a service under way): a fault at the next refresh, not at the next change; plugged back, the same picture by itself', async () => {
    const { bus, model, screen, reports } = oledRig('window', 2_000)
    await screen.start()
    await screen.screen(view({ mode: 'serving', ticket: 'A012', windowName: '3号窗口' }))
    bus.injectFault(0x3c, 'absent') // the cable is pulled; nothing asks the screen to change
    await vi.advanceTimersByTimeAsync(2_000)
    expect(reports).toEqual([{ device: 'display', fault: expect.objectContaining({ code: 'nack' }) }])
    // What the dashboard draws: no picture on a dark screen.
    expect(screen.shows()).toMatchObject({ text: null, picture: null, fault: { code: 'nack' } })
    model.powerCycle()
    bus.injectFault(0x3c, 'none')
    await vi.advanceTimersByTimeAsync(2_000)
    expect(model.view().lines).toEqual(['3号窗口', 'A012', '办理中 Serving'])
    expect(reports.at(-1)).toEqual({ device: 'display', fault: null })
    expect(screen.shows()).toMatchObject({ fault: null, text: expect.stringContaining('A012') })
    await screen.stop()
  })
})

import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CallDisplay } from '../../edge/devices/call-display.ts'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'
import { GpioMax7219Transport, Max7219Display, MAX7219_REG, type Max7219Transport } from '../../edge/hardware/max7219.ts'
import { encodeSeg7 } from '../../edge/hardware/seg7-font.ts'
import { SimGpio } from '../../sim/gpio.ts'
import { Max7219Model } from '../../sim/max7219-model.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'

const log = pino({ level: 'silent' })
const PINS = { din: 'display-din', clk: 'display-clk', cs: 'display-cs' }

async function rig(opts: { digits?: number; refreshMs?: number; random?: () => number } = {}) {
  const digits = opts.digits ?? 4
  const gpio = new SimGpio({
    lines: [
      { name: PINS.din, chip: 'sim', offset: 10, direction: 'out' },
      { name: PINS.clk, chip: 'sim', offset: 11, direction: 'out' },
      { name: PINS.cs, chip: 'sim', offset: 8, direction: 'out' },
    ],
  })
  const model = new Max7219Model({ gpio, pins: PINS, digits, random: opts.random ?? (() => 0.99) })
  const open = (name: string, offset: number, initial: 0 | 1 = 0) =>
    gpio.open({ name, chip: 'sim', offset, direction: 'out', initial })
  const lines = { din: await open(PINS.din, 10), clk: await open(PINS.clk, 11), cs: await open(PINS.cs, 8, 1) }
  const driver = new Max7219Display({
    transport: new GpioMax7219Transport(lines),
    digits,
    log,
    ...(opts.refreshMs !== undefined ? { refreshMs: opts.refreshMs } : {}),
  })
  return { gpio, model, driver, lines }
}

describe('Max7219Display bit-banged onto the simulated shift register', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('starts with test off, decode mode 0, scan limit, intensity, cleared digits, and only then leaves shutdown', async () => {
    const { model, driver } = await rig()
    expect(model.view()).toMatchObject({ lit: false, text: '' })
    await driver.start()
    expect(model.frames().map((f) => [f.register, f.data])).toEqual([
      [MAX7219_REG.DISPLAY_TEST, 0],
      [MAX7219_REG.DECODE_MODE, 0],
      [MAX7219_REG.SCAN_LIMIT, 3],
      [MAX7219_REG.INTENSITY, 15],
      [4, 0],
      [3, 0],
      [2, 0],
      [1, 0],
      [MAX7219_REG.SHUTDOWN, 1],
    ])
    expect(model.frames().every((f) => f.bits === 16)).toBe(true)
    expect(model.warnings).toEqual([])
    expect(model.litChanges().map((c) => [c.lit, c.text])).toEqual([[true, '']]) // the random digits never showed
    expect(model.view()).toMatchObject({ lit: true, text: '', brightness: 15, ambiguous: false })
  })

  it.each([1, 2, 3])('scans at least 4 digits on a %i-digit module and blanks the ones not wired (issue 19.6)', async (digits) => {
    const { model, driver } = await rig({ digits })
    await driver.start()
    await driver.show('7'.padStart(digits, '4'))
    expect(model.scanLimit).toBe(3)
    // Scanned but not wired: registers above the module's digits are written blank, never left random.
    for (let d = digits; d < 4; d++) expect(model.digits[d]).toBe(0)
    expect(model.view()).toMatchObject({ lit: true, text: '7'.padStart(digits, '4') })
    expect(model.warnings).toEqual([])
  })

  it('shows a call number a person reads as written, B and D apart from 8 and 0', async () => {
    const { model, driver } = await rig()
    await driver.start()
    await driver.show('B045')
    expect(model.view().text).toBe('B045')
    expect(model.view().glyphs).toEqual([...encodeSeg7('B045', 4)])
    await driver.show('D80')
    expect(model.view().text).toBe('D80')
    expect(model.view().glyphs[0]).toBe(0)
  })

  it('writes decode mode itself, so a chip left in Code B by an earlier program still shows segments', async () => {
    const { model, driver } = await rig()
    model.decodeMode = 0xff
    model.shutdown = false
    await driver.start()
    await driver.show('A023')
    expect(model.decodeMode).toBe(0)
    expect(model.view().text).toBe('A023')
  })

  it('drives all eight digits of an 8-digit module, leftmost character in the highest register', async () => {
    const { model, driver } = await rig({ digits: 8 })
    await driver.start()
    await driver.show('A0231234')
    expect(model.view().text).toBe('A0231234')
    expect(model.scanLimit).toBe(7)
    expect(model.digits[7]).toBe(0x77) // 'A' in MAX7219 order (D6..D0 = A..G)
    await driver.show('12')
    expect(model.view().glyphs.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0])
  })

  it('refuses a text it cannot show, before anything changes', async () => {
    const { model, driver } = await rig()
    await driver.start()
    await driver.show('A023')
    const before = model.frames().length
    expect(() => driver.show('K100')).toThrow(/'K'/)
    expect(() => driver.show('A0234')).toThrow(/4 positions/)
    expect(model.frames().length).toBe(before)
    expect(model.view().text).toBe('A023')
  })

  it('sets the intensity', async () => {
    const { model, driver } = await rig()
    await driver.start()
    await driver.setBrightness(3)
    expect(model.view().brightness).toBe(3)
    expect(() => driver.setBrightness(16)).toThrow(RangeError)
  })

  it('blinks by switching shutdown on a timer, since the chip has no blink', async () => {
    const { model, driver } = await rig()
    await driver.start()
    await driver.show('A023')
    const t0 = Date.now()
    const seen = model.litChanges().length
    await driver.setBlink('1hz')
    await vi.advanceTimersByTimeAsync(2_000)
    await driver.setBlink('off')
    const changes = model.litChanges().slice(seen)
    expect(changes.map((c) => [c.lit, c.at - t0])).toEqual([
      [false, 500],
      [true, 1_000],
      [false, 1_500],
      [true, 2_000],
    ])
    await vi.advanceTimersByTimeAsync(2_000)
    expect(model.view()).toMatchObject({ lit: true, text: 'A023' })
  })

  it('comes back by itself after the module is unplugged and replugged (it cannot NACK, so it is refreshed)', async () => {
    const { model, driver } = await rig({ refreshMs: 10_000 })
    await driver.start()
    await driver.show('C101')
    model.unplug()
    expect(model.view().lit).toBe(false)
    model.replug()
    expect(model.view()).toMatchObject({ lit: false })
    await vi.advanceTimersByTimeAsync(10_000)
    expect(model.view()).toMatchObject({ lit: true, text: 'C101' })
    await driver.stop()
  })

  it('repairs a lost frame or a brown-out with the next show, which rewrites everything', async () => {
    const { model, driver } = await rig()
    await driver.start()
    model.glitchNextFrame()
    await driver.setBrightness(3)
    expect(model.view().brightness).toBe(15)
    await driver.show('A001')
    expect(model.view()).toMatchObject({ text: 'A001', brightness: 3 })
    model.powerCycle()
    expect(model.view().lit).toBe(false)
    await driver.show('A002')
    expect(model.view()).toMatchObject({ lit: true, text: 'A002', brightness: 3 })
  })

  it('blanks and shuts the chip down on stop', async () => {
    const { model, driver } = await rig()
    await driver.start()
    await driver.show('A023')
    await driver.stop()
    expect(model.view()).toMatchObject({ lit: false, text: '' })
    expect([...model.digits.subarray(0, 4)]).toEqual([0, 0, 0, 0])
    await expect(driver.show('1')).rejects.toThrow(/after stop/)
  })

  it('reports a line that fails as an io fault', async () => {
    const { driver, lines } = await rig()
    await driver.start()
    await lines.clk.close()
    await expect(driver.show('A1')).rejects.toSatisfy((e) => e instanceof DeviceFault && e.code === 'io')
  })
})

describe('Max7219Model', () => {
  it('flags a frame with the wrong number of clocks', async () => {
    const { model, lines } = await rig()
    const sloppy: Max7219Transport = {
      description: 'sloppy',
      async writeRegister(register, data) {
        const frame = (register << 8) | data
        await lines.cs.write(0)
        for (let bit = 14; bit >= 0; bit--) {
          await lines.clk.write(0)
          await lines.din.write(((frame >> bit) & 1) as 0 | 1)
          await lines.clk.write(1)
        }
        await lines.cs.write(1)
      },
    }
    await sloppy.writeRegister(MAX7219_REG.SHUTDOWN, 1)
    expect(model.warnings).toEqual(['frame latched after 15 clock(s), expected 16'])
  })

  it('reads Code B digits and the display test', async () => {
    const { model } = await rig()
    model.shutdown = false
    model.scanLimit = 3
    model.decodeMode = 0x0f
    model.digits.set([0x0d, 0x0a, 0x01, 0x0e]) // DIGIT0..3 = L - 1 P, right to left
    expect(model.view().text).toBe('P1-L')
    model.displayTest = true
    expect(model.view()).toMatchObject({ text: '8888', dots: [true, true, true, true] })
  })
})

describe('CallDisplay on an 8-digit MAX7219', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('identifies with dashes across all eight digits, blinking, then restores the ticket', async () => {
    const { model, driver } = await rig({ digits: 8 })
    const display = new CallDisplay({ driver, device: 'display', health: new DeviceHealthTracker(), log })
    await display.start()
    await display.show('A023')
    await display.identify(2)
    expect(model.view().text).toBe('--------')
    await vi.advanceTimersByTimeAsync(250)
    expect(model.view().lit).toBe(false)
    await vi.advanceTimersByTimeAsync(1_750)
    expect(model.view()).toMatchObject({ lit: true, text: 'A023' })
    await vi.advanceTimersByTimeAsync(1_000)
    expect(model.view().lit).toBe(true)
    await display.stop()
  })
})

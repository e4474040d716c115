import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CallDisplay } from '../../edge/devices/call-display.ts'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'
import { Ht16k33Alpha } from '../../edge/hardware/ht16k33-alpha.ts'
import { encodeSeg14, SEG14_CHARSET } from '../../edge/hardware/seg14-font.ts'
import { Ht16k33Model } from '../../sim/ht16k33-model.ts'
import { SimI2cBus } from '../../sim/i2c-bus.ts'
import { decodeSeg14 } from '../../sim/seg14-decoder.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'

const log = pino({ level: 'silent' })

function rig() {
  const bus = new SimI2cBus()
  const model = new Ht16k33Model({ backpack: 'alpha14', random: () => 0.99 })
  bus.attach(0x70, model)
  const driver = new Ht16k33Alpha({ bus, address: 0x70, log })
  return { bus, model, driver }
}

describe('Ht16k33Alpha on the simulated quad alphanumeric backpack', () => {
  it('clears the random power-on RAM before it lights the display', async () => {
    const { bus, model, driver } = rig()
    expect(model.view().glyphs.every((g) => g !== 0)).toBe(true)
    await driver.start()
    expect(bus.transactions().map((t) => t.bytes)).toEqual([
      [0x21],
      [0x00, ...new Array<number>(16).fill(0)],
      [0x81],
      [0xef],
    ])
    expect(model.view()).toMatchObject({ lit: true, text: '', glyphs: [0, 0, 0, 0], colon: false })
  })

  it('writes each character as a little-endian word at RAM 2n', async () => {
    const { bus, model, driver } = rig()
    await driver.start()
    bus.clearTransactions()
    await driver.show('K042')
    // The RAM frame between the setup commands every show() re-sends (a reset chip acknowledges in standby).
    expect(bus.transactions()).toEqual([
      { address: 0x70, op: 'write', bytes: [0x21] },
      { address: 0x70, op: 'write', bytes: [0x00, 0x70, 0x24, 0x3f, 0x0c, 0xe6, 0x00, 0xdb, 0x00, 0, 0, 0, 0, 0, 0, 0, 0] },
      { address: 0x70, op: 'write', bytes: [0x81] },
      { address: 0x70, op: 'write', bytes: [0xef] },
    ])
    expect(model.view().text).toBe('K042')
  })

  it('shows K, M, V, W, X and Z with their own glyphs, which read back as those letters', async () => {
    const { model, driver } = rig()
    await driver.start()
    for (const text of ['KMVW', 'X12Z', 'W007']) {
      await driver.show(text)
      const view = model.view()
      expect(view.text).toBe(text)
      expect(view.glyphs).toEqual([...encodeSeg14(text, 4)])
      expect(view.ambiguous).toBe(false)
    }
  })

  it('keeps the letters a 7-segment display confuses apart from the digits', async () => {
    const { model, driver } = rig()
    await driver.start()
    for (const [letters, digits] of [
      ['B', '8'],
      ['D', '0'],
      ['O', '0'],
      ['S', '5'],
      ['Z', '2'],
      ['I', '1'],
    ] as const) {
      await driver.show(`${letters}${digits}`)
      expect(model.view().text).toBe(`${letters}${digits}`)
      const [, , a, b] = model.view().glyphs
      expect(a).not.toBe(b)
    }
  })

  it('right-aligns, leaves no stale characters and shows lower case as upper case', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    await driver.show('k7')
    expect(model.view().text).toBe('K7')
    expect(model.view().glyphs.slice(0, 2)).toEqual([0, 0])
  })

  it('refuses a text it cannot show, before anything changes', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    expect(() => driver.show('A#12')).toThrow(/'#'/)
    expect(() => driver.show('A0234')).toThrow(/4 positions/)
    expect(driver.canShow('A#12')).toBe(false)
    expect(driver.canShow('WXYZ')).toBe(true)
    expect(model.view().text).toBe('A023')
  })

  it('offers digits, every letter and the dash to the counter', () => {
    expect(SEG14_CHARSET).toBe('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-')
  })

  it('retries a NACK once, and reports a display that stays away as absent', async () => {
    const { bus, model, driver } = rig()
    await driver.start()
    bus.injectFault(0x70, 'nack-once')
    await driver.show('M100')
    expect(model.view().text).toBe('M100')
    bus.injectFault(0x70, 'absent')
    const err = await driver.show('M101').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DeviceFault)
    expect(err).toMatchObject({ code: 'nack' })
  })
})

describe('the 14-segment font', () => {
  it('matches the Adafruit glyphs recorded in docs/hardware.md §4.2', () => {
    const recorded: Record<string, number> = {
      '0': 0x0c3f, '1': 0x0006, '2': 0x00db, '3': 0x008f, '4': 0x00e6, '5': 0x2069, '6': 0x00fd,
      '7': 0x0007, '8': 0x00ff, '9': 0x00ef, A: 0x00f7, B: 0x128f, C: 0x0039, D: 0x120f, E: 0x00f9,
      F: 0x0071, H: 0x00f6, K: 0x2470, L: 0x0038, N: 0x2136, P: 0x00f3, R: 0x20f3, S: 0x00ed,
      T: 0x1201, U: 0x003e, '-': 0x00c0, ' ': 0x0000,
    }
    for (const [ch, word] of Object.entries(recorded)) expect([ch, encodeSeg14(ch, 1)[0]]).toEqual([ch, word])
  })

  it('gives every character it offers a pattern the oracle reads back as that character', () => {
    for (const ch of SEG14_CHARSET) {
      const reading = decodeSeg14(encodeSeg14(ch, 1)[0] ?? 0)
      expect([ch, reading.char, reading.ambiguous]).toEqual([ch, ch, false])
    }
    expect(decodeSeg14(0x3fff).char).toBe('?')
    expect(decodeSeg14(0x4000 | 0x0006)).toEqual({ char: '1', ambiguous: false, dot: true })
  })
})

describe('CallDisplay on the 14-segment backpack', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('shows a K ticket and identifies with four dashes', async () => {
    const { model, driver } = rig()
    const display = new CallDisplay({ driver, device: 'display', health: new DeviceHealthTracker(), log })
    await display.start()
    expect(display.charset).toContain('K')
    await display.show('K042')
    expect(model.view().text).toBe('K042')
    await display.identify(1)
    expect(model.view()).toMatchObject({ text: '----', blink: '2hz' })
    await vi.advanceTimersByTimeAsync(1_000)
    expect(model.view()).toMatchObject({ text: 'K042', blink: 'off' })
    await display.stop()
  })
})

import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'
import { Ht16k33Seg7 } from '../../edge/hardware/ht16k33.ts'
import { encodeSeg7 } from '../../edge/hardware/seg7-font.ts'
import { Ht16k33Model } from '../../sim/ht16k33-model.ts'
import { SimI2cBus } from '../../sim/i2c-bus.ts'

const log = pino({ level: 'silent' })

function rig(random: () => number = Math.random, refreshMs = 0) {
  const bus = new SimI2cBus()
  const model = new Ht16k33Model({ random })
  bus.attach(0x70, model)
  const driver = new Ht16k33Seg7({ bus, address: 0x70, log, refreshMs })
  return { bus, model, driver }
}

async function fault(p: Promise<unknown>): Promise<DeviceFault> {
  try {
    await p
  } catch (err) {
    if (err instanceof DeviceFault) return err
    throw err
  }
  throw new Error('expected a DeviceFault')
}

describe('Ht16k33Seg7 on the simulated backpack', () => {
  it("starts the Adafruit way: oscillator, clear, display on, full brightness; a blank, lit display", async () => {
    const { bus, model, driver } = rig()
    await driver.start()
    expect(bus.transactions().map((t) => t.bytes)).toEqual([
      [0x21],
      [0x00, ...new Array<number>(16).fill(0)],
      [0x81],
      [0xef],
    ])
    expect(model.view()).toMatchObject({ lit: true, text: '', glyphs: [0, 0, 0, 0], colon: false, blink: 'off', brightness: 15 })
  })

  it('shows a call number a person reads as written', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    const view = model.view()
    expect(view.text).toBe('A023')
    expect(view.glyphs).toEqual([...encodeSeg7('A023', 4)])
    expect(view.ambiguous).toBe(false)
  })

  it('leaves no stale digits when a shorter number follows a longer one', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    await driver.show('7')
    expect(model.view().text).toBe('7')
    expect(model.view().glyphs).toEqual([0, 0, 0, 0x07])
    await driver.show('')
    expect(model.view()).toMatchObject({ lit: true, text: '', glyphs: [0, 0, 0, 0] })
  })

  it('keeps B apart from 8 and D apart from 0', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.show('B8D0')
    expect(model.view().text).toBe('B8D0')
    expect(model.view().glyphs).toEqual([0x7c, 0x7f, 0x5e, 0x3f])
    await driver.show('B045')
    expect(model.view().text).not.toBe('8045')
    expect(model.view().text).toBe('B045')
  })

  it('always rewrites the colon byte, so power-on garbage there never lights', async () => {
    const { model, driver } = rig(() => 0.99) // every RAM byte 0xFD: colon bit set
    await driver.start()
    await driver.show('12')
    expect(model.view().colon).toBe(false)
    expect(model.ram.every((b, i) => [6, 8].includes(i) || b === 0)).toBe(true)
  })

  it('sets blink, brightness and on/off', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    await driver.setBlink('1hz')
    expect(model.view().blink).toBe('1hz')
    await driver.setBrightness(3)
    expect(model.view().brightness).toBe(3)
    await driver.setOn(false)
    expect(model.view()).toMatchObject({ lit: false, text: '' })
    await driver.setOn(true)
    expect(model.view()).toMatchObject({ lit: true, text: 'A023', blink: '1hz' })
    expect(() => driver.setBrightness(16)).toThrow(RangeError)
  })

  it('applies queued calls in order even when nobody awaits between them', async () => {
    const { model, driver } = rig()
    await driver.start()
    const calls = [driver.show('1'), driver.show('22'), driver.show('A333')]
    await Promise.all(calls)
    expect(model.view().text).toBe('A333')
  })

  it('refuses text it cannot show before touching the bus', async () => {
    const { bus, driver } = rig()
    await driver.start()
    bus.clearTransactions()
    expect(() => driver.show('K1')).toThrow(/'K'/)
    expect(() => driver.show('A0234')).toThrow(RangeError)
    expect(bus.transactions()).toEqual([])
  })

  it('blanks the RAM and enters standby on stop', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    await driver.stop()
    expect(model.view()).toMatchObject({ lit: false, glyphs: [0, 0, 0, 0] })
    expect(model.osc).toBe(false)
    await expect(driver.show('1')).rejects.toThrow(/after stop/)
  })

  it('retries a transaction once after a NACK and carries on', async () => {
    const { bus, model, driver } = rig()
    await driver.start()
    bus.injectFault(0x70, 'nack-once')
    await driver.show('A023')
    expect(model.view().text).toBe('A023')
  })

  it("reports a display that never answered as 'absent' after exactly one retry, naming the device", async () => {
    const lines: Array<{ msg: string }> = []
    const capture = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) })
    const bus = new SimI2cBus()
    const driver = new Ht16k33Seg7({ bus, address: 0x70, log: capture })
    const f = await fault(driver.start())
    expect(lines.filter((l) => l.msg === 'no acknowledge, retrying once')).toHaveLength(1)
    expect(f).toMatchObject({ code: 'absent', device: 'ht16k33@0x70' })
    expect(f.message).toContain('ht16k33@0x70')
    expect(f.cause).toMatchObject({ errno: 121, code: '' })
  })

  it("reports a display that stops answering as 'nack', and re-initialises it when it is back", async () => {
    const { bus, model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    bus.injectFault(0x70, 'absent')
    expect(await fault(driver.show('A024'))).toMatchObject({ code: 'nack' })
    // It browned out while away: oscillator off, RAM random.
    model.powerCycle()
    bus.injectFault(0x70, 'none')
    await driver.show('A025')
    expect(model.view()).toMatchObject({ lit: true, text: 'A025', colon: false })
    expect(model.ram.every((b, i) => [0, 2, 6, 8].includes(i) || b === 0)).toBe(true)
  })

  it("reports a missing bus as 'bus-missing' without retrying", async () => {
    const { bus, driver } = rig()
    bus.setBusMissing(true)
    expect(await fault(driver.start())).toMatchObject({ code: 'bus-missing' })
  })

  it('verifies the RAM against what it wrote, catching a brown-out', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    expect(await driver.verify()).toBe(true)
    model.powerCycle()
    expect(await driver.verify()).toBe(false)
  })
})

describe('an HT16K33 backpack that resets with no NACK to say so (issue 19.1)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('is dark after a power cycle on a quiet bus, and lit with the right number by the next show', async () => {
    const { bus, model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    model.powerCycle()
    expect(model.view()).toMatchObject({ lit: false, text: '' })
    bus.clearTransactions()
    await driver.show('A024')
    // Nothing failed on the bus: the setup went out with the RAM because show() always sends both.
    expect(bus.transactions().map((t) => t.bytes[0])).toEqual([0x21, 0x00, 0x81, 0xef])
    expect(model.view()).toMatchObject({ lit: true, text: 'A024', blink: 'off', brightness: 15 })
  })

  it('keeps the blink and brightness it was given across the reset', async () => {
    const { model, driver } = rig()
    await driver.start()
    await driver.setBrightness(4)
    await driver.setBlink('1hz')
    model.powerCycle()
    await driver.show('B045')
    expect(model.view()).toMatchObject({ lit: true, text: 'B045', blink: '1hz', brightness: 4 })
  })

  it('lights an idle display again within one refresh period', async () => {
    vi.useFakeTimers()
    const { model, driver } = rig(Math.random, 5_000)
    await driver.start()
    await driver.show('A023')
    model.powerCycle()
    await vi.advanceTimersByTimeAsync(4_999)
    expect(model.view().lit).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(model.view()).toMatchObject({ lit: true, text: 'A023', ambiguous: false })
    await driver.stop()
    const after = model.view()
    await vi.advanceTimersByTimeAsync(20_000)
    expect(model.view()).toEqual(after)
    expect(after.lit).toBe(false)
  })

  it('never answers verify() true while the glass is dark', async () => {
    const { bus, model, driver } = rig()
    await driver.start()
    await driver.show('A023')
    // Something else on the bus put the chip in standby (a technician's i2cset, a second program): RAM intact.
    await bus.sendByte(0x70, 0x20)
    expect(model.view().lit).toBe(false)
    expect(await driver.verify()).toBe(true)
    expect(model.view()).toMatchObject({ lit: true, text: 'A023' })
  })

  it('answers false after a power cycle without lighting the random RAM, and the next refresh repairs it', async () => {
    vi.useFakeTimers()
    const { model, driver } = rig(() => 0.7, 5_000)
    await driver.start()
    await driver.show('A023')
    model.powerCycle()
    expect(await driver.verify()).toBe(false)
    expect(model.view().lit).toBe(false)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(model.view()).toMatchObject({ lit: true, text: 'A023' })
    expect(await driver.verify()).toBe(true)
    await driver.stop()
  })
})

import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CallDisplay } from '../../edge/devices/call-display.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { Ht16k33Seg7 } from '../../edge/hardware/ht16k33.ts'
import { Ht16k33Model } from '../../sim/ht16k33-model.ts'
import { SimI2cBus } from '../../sim/i2c-bus.ts'

const log = pino({ level: 'silent' })

function rig(refreshMs?: number) {
  const bus = new SimI2cBus()
  const model = new Ht16k33Model()
  bus.attach(0x70, model)
  const faults: Array<string | null> = []
  const health = new DeviceHealthTracker()
  health.attach({ deviceHealth: (device, f) => faults.push(device === 'display' ? (f?.code ?? null) : `${device}?`) })
  const display = new CallDisplay({ driver: new Ht16k33Seg7({ bus, address: 0x70, log, ...(refreshMs !== undefined ? { refreshMs } : {}) }), device: 'display', health, log })
  return { bus, model, display, faults }
}

describe('CallDisplay', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('shows a ticket, blanks for null, and blinks for attention', async () => {
    const { model, display } = rig()
    await display.start()
    expect(model.view()).toMatchObject({ lit: true, text: '' })
    await display.show('A023')
    await display.attention(true)
    expect(model.view()).toMatchObject({ text: 'A023', blink: '1hz' })
    await display.attention(false)
    expect(model.view().blink).toBe('off')
    await display.show(null)
    expect(model.view().text).toBe('')
  })

  it('ends attention when the ticket goes away', async () => {
    const { model, display } = rig()
    await display.start()
    await display.show('A023')
    await display.attention(true)
    await display.show(null)
    expect(model.view()).toMatchObject({ text: '', blink: 'off' })
    expect(display.status().attention).toBe(false)
  })

  it('refuses a ticket it cannot show and leaves the current one up', async () => {
    const { model, display } = rig()
    await display.start()
    await display.show('A023')
    await expect(display.show('K100')).rejects.toThrow(/K100/)
    await expect(display.show('A0234')).rejects.toThrow(RangeError)
    expect(model.view().text).toBe('A023')
    expect(display.canShow('B101')).toBe(true)
  })

  it('identifies with blinking dashes, then restores what it was told to show meanwhile', async () => {
    const { model, display } = rig()
    await display.start()
    await display.show('A023')
    await display.identify(5)
    expect(model.view()).toMatchObject({ text: '----', blink: '2hz' })
    await display.show('A024')
    await display.attention(true)
    expect(model.view().text).toBe('----')
    await vi.advanceTimersByTimeAsync(5_000)
    expect(model.view()).toMatchObject({ text: 'A024', blink: '1hz' })
    expect(display.status().identifying).toBe(false)
  })

  it('reports a display that does not answer, and brings it back by itself when it does', async () => {
    const { bus, model, display, faults } = rig()
    bus.injectFault(0x70, 'absent')
    await expect(display.start()).rejects.toMatchObject({ code: 'absent' })
    await expect(display.show('A023')).rejects.toMatchObject({ code: 'absent' })
    expect(faults).toEqual(['absent'])
    expect(display.status()).toMatchObject({ ticket: 'A023', fault: { code: 'absent' } })
    bus.injectFault(0x70, 'none')
    await vi.advanceTimersByTimeAsync(5_000)
    expect(model.view()).toMatchObject({ lit: true, text: 'A023' })
    expect(faults).toEqual(['absent', null])
    expect(display.status().fault).toBeNull()
  })

  it('unplugged while its number stays up (a service under way): a fault at the next refresh, not at the next call; plugged back, the same number by itself', async () => {
    const { bus, model, display, faults } = rig(2_000)
    await display.start()
    await display.show('A023')
    await display.attention(true)
    bus.detach(0x70) // the cable is pulled; nothing asks the display to change
    await vi.advanceTimersByTimeAsync(2_000)
    expect(faults).toEqual(['nack'])
    // What the dashboard draws: no number on a dark display.
    expect(display.shows()).toMatchObject({ text: null, fault: { code: 'nack' } })
    model.powerCycle() // plugged back: standby, random RAM
    bus.attach(0x70, model)
    expect(model.view().lit).toBe(false)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(model.view()).toMatchObject({ lit: true, text: 'A023', blink: '1hz' })
    expect(faults).toEqual(['nack', null])
    expect(display.shows()).toMatchObject({ text: 'A023', fault: null })
    await display.stop()
  })

  it('blanks on stop', async () => {
    const { model, display } = rig()
    await display.start()
    await display.show('A023')
    await display.stop()
    expect(model.view()).toMatchObject({ lit: false, text: '', glyphs: [0, 0, 0, 0] })
  })
})

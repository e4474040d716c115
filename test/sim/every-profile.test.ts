import { readdirSync } from 'node:fs'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { loadBoardProfile, type Score } from '../../boards/profile-schema.ts'
import { profileLines } from '../../boards/profile-lines.ts'
import { lineSpecFor } from '../../edge/hardware/profile-line-spec.ts'
import { buildWindowDevices } from '../../edge/devices/build-devices.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { Relay } from '../../edge/hardware/relay.ts'
import { encodeSeg14 } from '../../edge/hardware/seg14-font.ts'
import { encodeSeg7 } from '../../edge/hardware/seg7-font.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { referenceRows } from '../support/unifont-reference.ts'

const log = pino({ level: 'silent' })
const now = () => Date.now()
const PROFILES = readdirSync(BOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort()

describe('every board profile boots in the simulator', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it.each(PROFILES)('%s: the display shows the call, a key press counts, outputs start inactive', async (id) => {
    const profile = await loadBoardProfile(id, BOARDS_DIR)
    const hw = new SimWindowHardware(profile)
    expect(hw.view().lit).toBe(false)
    const health = new DeviceHealthTracker()
    // A Modbus module's first poll takes line time: the clock runs while the devices are built.
    let built = false
    const building = buildWindowDevices({ profile, gpio: hw.backend, bus: hw.bus, now, log, health }).finally(() => (built = true))
    building.catch(() => undefined) // awaited below, once the clock has run
    for (let i = 0; !built && i < 20; i++) await vi.advanceTimersByTimeAsync(0)
    for (let ms = 0; !built && ms < 5_000; ms++) await vi.advanceTimersByTimeAsync(1)
    const devices = await building
    expect(health.faults()).toEqual([])
    expect(hw.view()).toMatchObject({ lit: true, text: '' })
    expect(devices.display.width).toBe(profile.display.digits)
    if (hw.max7219 !== undefined) {
      // johnny-five's LedControl announces itself with intensity 3 in its init; our driver never writes that.
      const viaJ5 = hw.max7219.frames().some((f) => f.register === 0x0a && f.data === 3)
      expect(viaJ5).toBe(profile.adapter === 'johnny-five')
    }

    await devices.display.show('A023')
    const view = hw.view()
    const pixels = hw.screenPixels()
    if (pixels !== undefined) {
      // A pixel screen shows the call as 请A023号, read off the pixels the chips hold, as Debian's Unifont draws it.
      expect(view.text).toBe('请A023号')
      const big = pixels.height >= 64
      const line = { text: '请A023号', y: big ? 16 : 0, scale: big ? 2 : 1 }
      const lines = big ? [{ text: '窗口 Window', y: 0, scale: 1 }, line, { text: 'Now calling A023', y: 48, scale: 1 }] : [line]
      expect(pixels.toRows()).toEqual(referenceRows(lines, pixels.width, pixels.height))
    } else {
      expect(view.text).toBe('A023')
      expect(view.ambiguous).toBe(false)
      const expected =
        profile.display.driver === 'ht16k33-alpha'
          ? [...encodeSeg14('A023', 4)]
          : [...encodeSeg7('A023', profile.display.digits)]
      expect(view.glyphs).toEqual(expected)
    }
    if (profile.officerPanel !== undefined) expect(hw.panel()?.view.lit).toBe(true)

    // Only the 14-segment backpack and the pixel screens have a K; the others refuse it rather than show something else.
    expect(devices.display.canShow('K042')).toBe(profile.display.driver === 'ht16k33-alpha' || pixels !== undefined)
    if (devices.display.canShow('K042')) {
      await devices.display.show('K042')
      expect(hw.view().text).toBe(pixels !== undefined ? '请K042号' : 'K042')
    } else {
      await expect(devices.display.show('K042')).rejects.toThrow(RangeError)
      expect(hw.view().text).toBe('A023')
    }

    const presses: Score[] = []
    devices.evaluator.onPress((score) => presses.push(score))
    const first = Object.keys(profile.keys)[0] as Score
    void hw.press(first, { bounce: [1, 2] })
    // The press (80 ms), its release seen (up to a poll and a transaction late on a Modbus module), and
    // the evaluator's settle after the release before it decides.
    await vi.advanceTimersByTimeAsync(400)
    expect(presses).toEqual([first])

    if (profile.outputs.statusLamp !== undefined) {
      expect(hw.output('statusLamp')).toBe(false)
      await devices.lamps.status?.on()
      expect(hw.output('statusLamp')).toBe(true)
    }
    if (hw.relay !== undefined) {
      expect(hw.relay.closed).toBe(false)
      expect(hw.relay.changes()).toEqual([])
      // The devices open the relay on the backend they run on (johnny-five's pins for the kit).
      const relay = devices.nvrRelay!
      expect(hw.relay.changes()).toEqual([])
      const nvr = hw.nvr(500, 250)
      const alarm = relay.pulse(20)
      await vi.advanceTimersByTimeAsync(2_000)
      await alarm
      const held = hw.relay.closures().map((c) => (c.to ?? 0) - c.from)
      const minHoldMs = profile.outputs.nvrRelay!.minHoldMs
      if (hw.modbus.size === 0) expect(held).toEqual([minHoldMs])
      else {
        // On a Modbus coil the opening frame may wait for a poll in flight: never shorter, a transaction or two longer.
        expect(held).toHaveLength(1)
        expect(held[0]).toBeGreaterThanOrEqual(minHoldMs)
        expect(held[0]).toBeLessThan(minHoldMs + 100)
      }
      expect(nvr.alarms()).toHaveLength(1)
      nvr.stop()
    }

    const stopping = devices.stop()
    await vi.advanceTimersByTimeAsync(1_000)
    await stopping
    expect(hw.view()).toMatchObject({ lit: false, text: '' })
    if (profile.officerPanel !== undefined) expect(hw.panel()?.view.lit).toBe(false)
    expect(hw.gpio.lineNames().filter((n) => hw.gpio.isOpen(n))).toEqual([])
    for (const m of hw.modbus.values()) expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => m.coil(i))).toEqual([false, false, false, false, false, false, false, false])
    await hw.stop()
  })
})

describe('display faults on a simulated window', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('an HT16K33 that is unplugged and replugged comes back cold and is shown the call again', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('rpi4-ht16k33', BOARDS_DIR), { random: () => 0.99 })
    const faults: Array<string | null> = []
    const health = new DeviceHealthTracker()
    health.attach({ deviceHealth: (device, f) => faults.push(f === null ? `${device}:ok` : `${device}:${f.code}`) })
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health })
    await devices.display.show('A023')
    hw.unplugDisplay()
    await expect(devices.display.show('A024')).rejects.toMatchObject({ code: 'nack' })
    hw.replugDisplay()
    expect(hw.view()).toMatchObject({ lit: false })
    await vi.advanceTimersByTimeAsync(5_000)
    expect(hw.view()).toMatchObject({ lit: true, text: 'A024', glyphs: [...encodeSeg7('A024', 4)] })
    expect(faults).toEqual(['display:nack', 'display:ok'])
    await devices.stop()
  })

  it('absorbs a single NACK without a fault', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('rpi5-ht16k33-alpha', BOARDS_DIR))
    const faults: string[] = []
    const health = new DeviceHealthTracker()
    health.attach({ deviceHealth: (d) => faults.push(d) })
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health })
    hw.displayFault('nack-once')
    await devices.display.show('W007')
    expect(hw.view().text).toBe('W007')
    expect(faults).toEqual([])
    await devices.stop()
  })

  it('starts with the I2C bus missing, reports bus-missing, and shows the call once the bus is there', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('beaglebone-black-ht16k33', BOARDS_DIR))
    hw.setI2cBusMissing(true)
    const health = new DeviceHealthTracker()
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health })
    expect(health.faults()).toEqual([{ device: 'display', code: 'bus-missing', message: expect.stringMatching(/^display \(ht16k33@0x70, i2c-2\)/) }])
    await expect(devices.display.show('C7')).rejects.toMatchObject({ code: 'bus-missing' })
    hw.setI2cBusMissing(false)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(hw.view()).toMatchObject({ lit: true, text: 'C7' })
    await devices.stop()
  })

  it('an HT16K33 whose bus fails with EIO mid-call: fault io, dark on the dashboard; the call made meanwhile shown once it answers, never the old one', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('rpi4-ht16k33', BOARDS_DIR))
    const health = new DeviceHealthTracker()
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health })
    await devices.display.show('A023')
    hw.displayFault('eio')
    await expect(devices.display.show('A024')).rejects.toMatchObject({ code: 'io' })
    expect(health.faults()).toEqual([{ device: 'display', code: 'io', message: expect.stringMatching(/EIO/) }])
    expect(devices.display.shows()).toMatchObject({ text: null, fault: { code: 'io' } })
    hw.displayFault('none')
    await vi.advanceTimersByTimeAsync(5_000)
    expect(hw.view()).toMatchObject({ lit: true, text: 'A024' })
    expect(health.faults()).toEqual([])
    await devices.stop()
  })

  it('a MAX7219 whose lines fail with EIO while its number stays up: fault io at the next refresh; healed, the number again', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('orangepi-zero2-max7219', BOARDS_DIR))
    const health = new DeviceHealthTracker()
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health })
    await devices.display.show('B101')
    hw.displayFault('eio') // nothing asks the display to change
    await vi.advanceTimersByTimeAsync(10_000)
    expect(health.faults()).toEqual([{ device: 'display', code: 'io', message: expect.stringMatching(/EIO/) }])
    expect(devices.display.shows()).toMatchObject({ text: null, fault: { code: 'io' } })
    hw.display.powerCycle() // what the failed writes left on the chip is not to be trusted
    hw.displayFault('none')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(hw.view()).toMatchObject({ lit: true, text: 'B101' })
    expect(health.faults()).toEqual([])
    await devices.stop()
  })

  it('a MAX7219 module unplugged and replugged is repaired by the periodic refresh', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('orangepi-zero2-max7219', BOARDS_DIR))
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health: new DeviceHealthTracker() })
    await devices.display.show('B101')
    hw.displayFault('absent')
    expect(hw.view().lit).toBe(false)
    hw.displayFault('none')
    expect(hw.view().lit).toBe(false) // cold chip: shutdown
    await vi.advanceTimersByTimeAsync(10_000)
    expect(hw.view()).toMatchObject({ lit: true, text: 'B101' })
    await devices.stop()
  })
})

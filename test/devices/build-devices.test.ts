import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { loadBoardProfile, parseBoardProfile } from '../../boards/profile-schema.ts'
import { WindowScreen } from '../../edge/devices/window-screen.ts'
import { referenceRows } from '../support/unifont-reference.ts'
import { buildWindowDevices } from '../../edge/devices/build-devices.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const log = pino({ level: 'silent' })
const now = () => Date.now()

describe('buildWindowDevices on a simulated window', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('builds display, evaluator and lamps from the profile and drives the simulated hardware', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('sim-window', BOARDS_DIR))
    const health = new DeviceHealthTracker()
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health })
    // Every device is registered as it is built, under the name it reports by.
    expect(health.snapshot()).toEqual({
      'key-satisfied': 'ok',
      'key-neutral': 'ok',
      'key-dissatisfied': 'ok',
      'status-lamp': 'ok',
      'evaluator-lamp': 'ok',
      'photo-capture': 'ok',
      'fingerprint-capture': 'ok',
      'officer-call-next': 'ok',
      'officer-recall': 'ok',
      'officer-no-show': 'ok',
      'officer-pause': 'ok',
      'officer-help': 'ok',
      'nvr-relay': 'ok',
      display: 'ok',
    })
    expect(hw.view()).toMatchObject({ lit: true, text: '' })

    await devices.display.show('A023')
    expect(hw.view().text).toBe('A023')

    const presses: string[] = []
    devices.evaluator.onPress((score) => presses.push(score))
    await devices.evaluator.setOpen(true)
    expect(hw.output('evaluatorLamp')).toBe(true)
    void hw.press('dissatisfied', { bounce: [1, 3] })
    await vi.advanceTimersByTimeAsync(200)
    expect(presses).toEqual(['dissatisfied'])

    await devices.lamps.status?.on()
    expect(hw.output('statusLamp')).toBe(true)

    await devices.stop()
    expect(hw.gpio.lineNames().some((n) => hw.gpio.isOpen(n))).toBe(false)
    expect(hw.output('statusLamp')).toBe(false)
    expect(hw.view()).toMatchObject({ lit: false, text: '' })
    await hw.stop()
  })

  it('comes up with a missing display, reports it, and shows the call once it is back', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('sim-window', BOARDS_DIR))
    hw.displayFault('absent')
    const health = new DeviceHealthTracker()
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health })
    // Nothing is attached yet (as while the runtime loads its journal): the report is kept, not lost.
    expect(health.faults()).toEqual([{ device: 'display', code: 'absent', message: expect.stringMatching(/0x70.*i2c-1/) }])
    expect(health.snapshot().display).toBe('absent')
    const told: string[] = []
    health.attach({ deviceHealth: (device, f) => told.push(`${device}:${f?.code ?? 'ok'}`) })
    expect(told).toEqual(['display:absent'])
    await expect(devices.display.show('B101')).rejects.toMatchObject({ code: 'absent' })
    hw.displayFault('none')
    await vi.advanceTimersByTimeAsync(5_000)
    expect(hw.view()).toMatchObject({ lit: true, text: 'B101' })
    expect(told).toEqual(['display:absent', 'display:ok'])
    expect(health.snapshot().display).toBe('ok')
    await devices.stop()
  })

  it('builds the Raspberry Pi 4 profile the same way (on simulated pins)', async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('rpi4-ht16k33', BOARDS_DIR))
    const devices = await buildWindowDevices({ profile: hw.profile, gpio: hw.gpio, bus: hw.bus, now, log, health: new DeviceHealthTracker() })
    const presses: string[] = []
    devices.evaluator.onPress((score) => presses.push(score))
    void hw.press('satisfied')
    await vi.advanceTimersByTimeAsync(200)
    expect(presses).toEqual(['satisfied'])
    await devices.stop()
  })

  it('closes what it opened when a line cannot be opened', async () => {
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    const hw = new SimWindowHardware(profile)
    const wrong = { ...profile, outputs: { ...profile.outputs, statusLamp: { chip: 'sim-gpio', offset: 27, activeLow: false } } }
    await expect(buildWindowDevices({ profile: wrong, gpio: hw.gpio, bus: hw.bus, now, log, health: new DeviceHealthTracker() })).rejects.toThrow(/'status-lamp'.*offset 27/)
    expect(hw.gpio.lineNames().some((n) => hw.gpio.isOpen(n))).toBe(false)
  })
})

describe('buildWindowDevices with pixel screens', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('an SH1106 OLED as the window sign: the call twice the size, as Debian\'s Unifont draws it; the officer panel registered as its own device', async () => {
    const base = await loadBoardProfile('sim-window-matrix', BOARDS_DIR)
    const profile = parseBoardProfile(
      { ...base, display: { driver: 'sh1106', address: '0x3D' }, officerPanel: { driver: 'ssd1306', address: '0x3C' } },
      'sim-window-oled',
    )
    const hw = new SimWindowHardware(profile)
    const health = new DeviceHealthTracker()
    const devices = await buildWindowDevices({ profile, gpio: hw.gpio, bus: hw.bus, now, log, health })
    expect(health.snapshot()).toMatchObject({ display: 'ok', 'officer-panel': 'ok' })
    expect(devices.display).toBeInstanceOf(WindowScreen)
    expect(devices.display.width).toBe(8)
    await devices.display.show('A012')
    expect(hw.oled!.view().lines).toEqual(['窗口 Window', '请A012号', 'Now calling A012'])
    expect(hw.screenPixels()!.toRows()).toEqual(
      referenceRows(
        [
          { text: '窗口 Window', y: 0, scale: 1 },
          { text: '请A012号', y: 16, scale: 2 },
          { text: 'Now calling A012', y: 48, scale: 1 },
        ],
        128,
        64,
      ),
    )
    await devices.stop()
    expect(hw.view().lit).toBe(false)
    expect(hw.panel()!.view.lit).toBe(false)
  })
})

import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { loadBoardProfile, parseBoardProfile } from '../../boards/profile-schema.ts'
import { profileLines } from '../../boards/profile-lines.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { lineSpecFor } from '../../edge/hardware/profile-line-spec.ts'
import { RoutedGpioBackend } from '../../edge/hardware/routed-gpio-backend.ts'
import { I2cBusBackend } from '../../edge/hardware/i2c-bus-backend.ts'
import { ChardevBackend } from '../../edge/hardware/chardev-backend.ts'
import { OnoffBackend } from '../../edge/hardware/onoff-backend.ts'
import { openBoardBackends } from '../../edge/hardware/open-board.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const log = pino({ level: 'silent' })

describe('openBoardBackends', () => {
  it('gives an onoff board sysfs GPIO and i2c-bus on the profile bus, without touching hardware yet', async () => {
    const b = await openBoardBackends(await loadBoardProfile('beaglebone-black-ht16k33', BOARDS_DIR), log)
    expect(b.gpio).toBeInstanceOf(OnoffBackend)
    expect(b.bus).toBeInstanceOf(I2cBusBackend)
    expect((b.bus as I2cBusBackend).devicePath).toBe('/dev/i2c-2')
    await b.stop()
  })

  it('gives a board whose profile asks for the character device the chardev backend', async () => {
    const profile = await loadBoardProfile('orangepi-zero2-max7219', BOARDS_DIR)
    const b = await openBoardBackends(profile, log)
    expect(b.gpio).toBeInstanceOf(ChardevBackend)
    await b.stop()
    const sysfs = await openBoardBackends(parseBoardProfile({ ...profile, gpio: { backend: 'sysfs' } }, 'x'), log)
    expect(sysfs.gpio).toBeInstanceOf(OnoffBackend)
    await sysfs.stop()
  })

  it('gives a board without I2C a bus that fails as missing, naming the profile', async () => {
    const b = await openBoardBackends(await loadBoardProfile('orangepi-zero2-max7219', BOARDS_DIR), log)
    await expect(b.bus.sendByte(0x70, 0x21)).rejects.toMatchObject({ code: 'ENOENT', message: /'orangepi-zero2-max7219' has no I2C bus/ })
    expect(await b.bus.scan()).toEqual([])
    await b.stop()
  })

  it('connects the johnny-five adapter to the Firmata board on the profile port, and says which port failed', async () => {
    const kit = await loadBoardProfile('firmata-uno-max7219', BOARDS_DIR)
    await expect(openBoardBackends({ ...kit, serialPort: '/dev/ttyNOPE1' }, log)).rejects.toThrow(/Firmata on \/dev\/ttyNOPE1/)
  })

  it('leaves simulated profiles to the simulator', async () => {
    await expect(openBoardBackends(await loadBoardProfile('sim-window', BOARDS_DIR), log)).rejects.toThrow(/simulated/)
  })
})

describe('openBoardBackends with Modbus modules', () => {
  it('routes modbus: lines to an RTU master on the profile port; a port that is not there is the module fault io, and the board still comes up', async () => {
    const base = await loadBoardProfile('rpi4-ht16k33', BOARDS_DIR)
    const profile = parseBoardProfile(
      {
        ...base,
        modbus: { port: '/dev/ttyNOPE9', modules: [{ slave: 1 }] },
        keys: { ...base.keys, satisfied: 'modbus:1/di/0' },
      },
      'x',
    )
    const b = await openBoardBackends(profile, log)
    expect(b.gpio).toBeInstanceOf(RoutedGpioBackend)
    const health = new DeviceHealthTracker()
    b.gpio.attachHealth?.(health)
    const key = await b.gpio.open(lineSpecFor(profileLines(profile).find((l) => l.name === 'satisfied')!))
    // The module never answered: its first read is idle, the next ones fail; the fault names the port.
    expect(await key.read()).toBe(0)
    await expect(key.read()).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/\/dev\/ttyNOPE9/) })
    expect(health.faults()).toEqual([{ device: 'modbus-1', code: 'io', message: expect.stringMatching(/^serial line \/dev\/ttyNOPE9: .*on \/dev\/ttyNOPE9$/) }])
    await key.close()
    await b.stop()
  })
})

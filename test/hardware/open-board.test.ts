import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { I2cBusBackend } from '../../edge/hardware/i2c-bus-backend.ts'
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

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'
import { Ht16k33Seg7 } from '../../edge/hardware/ht16k33.ts'
import { I2cBusBackend } from '../../edge/hardware/i2c-bus-backend.ts'
import { isBusMissing, isDeviceAbsent } from '../../edge/hardware/i2c-errors.ts'
import type { I2cBus } from '../../edge/hardware/i2c-port.ts'
import { Ht16k33Model } from '../../sim/ht16k33-model.ts'
import { SimI2cBus } from '../../sim/i2c-bus.ts'

const log = pino({ level: 'silent' })

describe('I2cBusBackend', () => {
  let dev: string
  beforeEach(async () => {
    dev = await mkdtemp(join(tmpdir(), 'dev-'))
  })
  afterEach(async () => {
    await rm(dev, { recursive: true, force: true })
  })

  function rig(opts: { node?: boolean } = {}) {
    const sim = new SimI2cBus({ bus: 1 })
    const model = new Ht16k33Model({ random: () => 0 })
    sim.attach(0x70, model)
    const opened: number[] = []
    const backend = new I2cBusBackend({
      bus: 1,
      devDir: dev,
      log,
      open: async (n) => {
        opened.push(n)
        return sim
      },
    })
    const makeNode = () => writeFile(join(dev, 'i2c-1'), '')
    return { sim, model, backend, opened, makeNode, ready: opts.node === false ? Promise.resolve() : makeNode() }
  }

  it('opens the bus on the first transfer, once', async () => {
    const { backend, opened, ready, model } = rig()
    await ready
    expect(opened).toEqual([])
    await backend.sendByte(0x70, 0x21)
    await backend.sendByte(0x70, 0x81)
    expect(opened).toEqual([1])
    expect(model.lit).toBe(true)
  })

  it('names the missing /dev/i2c-N and how to enable it, in the ENOENT shape', async () => {
    const { backend, opened, makeNode, model } = rig({ node: false })
    const err = await backend.sendByte(0x70, 0x21).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, path: join(dev, 'i2c-1') })
    expect((err as Error).message).toMatch(/i2c-1 does not exist: I2C bus 1 is not enabled.*raspi-config.*dtparam=i2c_arm=on/)
    expect(isBusMissing(err)).toBe(true)
    expect(opened).toEqual([])
    expect(await backend.scan()).toEqual([])
    await makeNode() // the technician enabled the bus
    await backend.sendByte(0x70, 0x21)
    expect(model.osc).toBe(true)
  })

  it("passes NACKs through in i2c-bus's own shapes, without retrying", async () => {
    const { backend, ready } = rig()
    await ready
    const plain = await backend.i2cWrite(0x71, 1, Buffer.from([0])).catch((e: unknown) => e)
    expect(plain).toMatchObject({ code: 'EREMOTEIO', errno: -121 })
    const smbus = await backend.sendByte(0x71, 0x21).catch((e: unknown) => e)
    expect(smbus).toMatchObject({ code: '', errno: 121 })
    expect([isDeviceAbsent(plain), isDeviceAbsent(smbus)]).toEqual([true, true])
  })

  it('leaves the one retry to the driver: a single NACK fails here, and is absorbed by Ht16k33Seg7', async () => {
    const { backend, sim, model, ready } = rig()
    await ready
    sim.injectFault(0x70, 'nack-once')
    await expect(backend.sendByte(0x70, 0x21)).rejects.toMatchObject({ errno: 121 })
    sim.injectFault(0x70, 'nack-once')
    const driver = new Ht16k33Seg7({ bus: backend, address: 0x70, log })
    await driver.start()
    await driver.show('A1')
    expect(model.view().text).toBe('A1')
  })

  it('makes a display on a missing bus a bus-missing fault that carries the hint', async () => {
    const { backend } = rig({ node: false })
    const driver = new Ht16k33Seg7({ bus: backend, address: 0x70, log })
    const err = await driver.start().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DeviceFault)
    expect(err).toMatchObject({ code: 'bus-missing', message: /dtparam=i2c_arm=on/ })
  })

  it('adds the i2c group hint to EACCES and keeps its code', async () => {
    await writeFile(join(dev, 'i2c-1'), '')
    const denied = Object.assign(new Error("EACCES: permission denied, open '/dev/i2c-1'"), { code: 'EACCES', errno: -13 })
    const bus = { sendByte: () => Promise.reject(denied) } as unknown as I2cBus
    const backend = new I2cBusBackend({ bus: 1, devDir: dev, open: async () => bus })
    await expect(backend.sendByte(0x70, 1)).rejects.toMatchObject({ code: 'EACCES', message: /i2c group/ })
  })

  it('closes the bus it opened', async () => {
    const { backend, sim, ready } = rig()
    await ready
    await backend.close() // never opened: nothing to do
    await backend.receiveByte(0x70)
    await backend.close()
    await expect(sim.receiveByte(0x70)).rejects.toThrow(/closed/)
  })
})

describe('the real i2c-bus (contract)', () => {
  it('opens lazily and fails the first transfer on a missing bus with ENOENT, which classifies as bus-missing', async () => {
    const i2c = await import('i2c-bus')
    const bus = await i2c.openPromisified(99)
    const err = await bus.sendByte(0x70, 0x21).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ENOENT' })
    expect(isBusMissing(err)).toBe(true)
    await bus.close()
  })

  it('is what the backend opens by default', async () => {
    const backend = new I2cBusBackend({ bus: 99 })
    await expect(backend.sendByte(0x70, 0x21)).rejects.toMatchObject({ code: 'ENOENT', message: /\/dev\/i2c-99 does not exist/ })
  })
})

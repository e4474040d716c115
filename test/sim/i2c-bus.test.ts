import type { PromisifiedBus } from 'i2c-bus'
import { describe, expect, it } from 'vitest'
import type { I2cBus } from '../../edge/hardware/i2c-port.ts'
import { isBusMissing, isDeviceAbsent } from '../../edge/hardware/i2c-errors.ts'
import { Ht16k33Model } from '../../sim/ht16k33-model.ts'
import { SimI2cBus } from '../../sim/i2c-bus.ts'

// The real bus must fit the port unchanged (checked by tsc).
export function realBusFitsThePort(bus: PromisifiedBus): I2cBus {
  return bus
}

function busWithDisplay() {
  const bus = new SimI2cBus()
  const model = new Ht16k33Model({ random: () => 0 })
  bus.attach(0x70, model)
  return { bus, model }
}

async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p
  } catch (err) {
    return err as Record<string, unknown>
  }
  throw new Error('expected a rejection')
}

describe('SimI2cBus transactions (docs/hardware.md §4.1)', () => {
  it('turns each call into the bytes the device sees', async () => {
    const { bus } = busWithDisplay()
    await bus.sendByte(0x70, 0x21)
    await bus.writeByte(0x70, 0x02, 0x5b)
    await bus.writeI2cBlock(0x70, 0x04, 2, Buffer.from([1, 2, 3]))
    await bus.i2cWrite(0x70, 3, Buffer.from([0x00, 0x77, 0x00, 0xff]))
    expect(await bus.readByte(0x70, 0x00)).toBe(0x77)
    const block = Buffer.alloc(4)
    await bus.readI2cBlock(0x70, 0x02, 4, block)
    expect([...block]).toEqual([0x5b, 0, 1, 2])
    expect(bus.transactions(0x70)).toEqual([
      { address: 0x70, op: 'write', bytes: [0x21] },
      { address: 0x70, op: 'write', bytes: [0x02, 0x5b] },
      { address: 0x70, op: 'write', bytes: [0x04, 1, 2] },
      { address: 0x70, op: 'write', bytes: [0x00, 0x77, 0x00] },
      { address: 0x70, op: 'write', bytes: [0x00] },
      { address: 0x70, op: 'read', bytes: [0x77] },
      { address: 0x70, op: 'write', bytes: [0x02] },
      { address: 0x70, op: 'read', bytes: [0x5b, 0, 1, 2] },
    ])
  })

  it('scans like i2c-bus: answering addresses only, and [] on a missing bus', async () => {
    const { bus } = busWithDisplay()
    bus.attach(0x71, new Ht16k33Model())
    bus.injectFault(0x71, 'absent')
    expect(await bus.scan()).toEqual([0x70])
    bus.setBusMissing(true)
    expect(await bus.scan()).toEqual([])
  })

  it('rejects the plain-I2C path like fs.write/fs.read: EREMOTEIO, errno -121', async () => {
    const bus = new SimI2cBus()
    const w = await rejection(bus.i2cWrite(0x70, 1, Buffer.from([0x21])))
    expect(w).toMatchObject({ code: 'EREMOTEIO', errno: -121, syscall: 'write', message: 'EREMOTEIO: remote I/O error, write' })
    const r = await rejection(bus.i2cRead(0x70, 1, Buffer.alloc(1)))
    expect(r).toMatchObject({ code: 'EREMOTEIO', errno: -121, syscall: 'read' })
    expect(isDeviceAbsent(w) && isDeviceAbsent(r)).toBe(true)
  })

  it('rejects the SMBus path like Nan::ErrnoException: empty code, errno +121', async () => {
    const bus = new SimI2cBus()
    const e = await rejection(bus.sendByte(0x70, 0x21))
    expect(e).toMatchObject({ code: '', errno: 121, syscall: 'sendByte', message: ', Remote I/O error' })
    expect(await rejection(bus.writeByte(0x70, 0, 0))).toMatchObject({ code: '', syscall: 'writeByte' })
    expect(await rejection(bus.readI2cBlock(0x70, 0, 2, Buffer.alloc(2)))).toMatchObject({ errno: 121, syscall: 'readI2cBlock' })
    expect(isDeviceAbsent(e)).toBe(true)
    expect(isBusMissing(e)).toBe(false)
  })

  it('classifies ENXIO (i2c-gpio adapters) as absent too', () => {
    expect(isDeviceAbsent({ errno: 6, code: '' })).toBe(true)
    expect(isDeviceAbsent({ errno: -6, code: 'ENXIO' })).toBe(true)
    expect(isDeviceAbsent({ errno: -13, code: 'EACCES' })).toBe(false)
    expect(isDeviceAbsent(new Error('plain'))).toBe(false)
  })

  it('NACKs once on nack-once, then answers again', async () => {
    const { bus, model } = busWithDisplay()
    bus.injectFault(0x70, 'nack-once')
    await expect(bus.sendByte(0x70, 0x21)).rejects.toMatchObject({ errno: 121 })
    await bus.sendByte(0x70, 0x21)
    expect(model.osc).toBe(true)
  })

  it('fails every transfer with EIO on eio, in both shapes, not as a NACK, until healed', async () => {
    const { bus, model } = busWithDisplay()
    bus.injectFault(0x70, 'eio')
    const w = await rejection(bus.i2cWrite(0x70, 1, Buffer.from([0x21])))
    expect(w).toMatchObject({ code: 'EIO', errno: -5, syscall: 'write', message: 'EIO: i/o error, write' })
    const e = await rejection(bus.sendByte(0x70, 0x21))
    expect(e).toMatchObject({ code: 'EIO', errno: 5, syscall: 'sendByte' })
    expect(await rejection(bus.sendByte(0x70, 0x21))).toMatchObject({ code: 'EIO' })
    expect([isDeviceAbsent(w), isDeviceAbsent(e), isBusMissing(e), model.osc]).toEqual([false, false, false, false])
    bus.injectFault(0x70, 'none')
    await bus.sendByte(0x70, 0x21)
    expect(model.osc).toBe(true)
  })

  it('reports a missing bus like fs.open on /dev/i2c-N', async () => {
    const bus = new SimI2cBus({ bus: 3 })
    bus.setBusMissing(true)
    const e = await rejection(bus.sendByte(0x70, 0x21))
    expect(e).toMatchObject({
      code: 'ENOENT',
      errno: -2,
      syscall: 'open',
      path: '/dev/i2c-3',
      message: "ENOENT: no such file or directory, open '/dev/i2c-3'",
    })
    expect(isBusMissing(e)).toBe(true)
    expect(isDeviceAbsent(e)).toBe(false)
  })

  it('checks arguments the way i2c-bus does', async () => {
    const { bus } = busWithDisplay()
    await expect(bus.sendByte(0x80, 0)).rejects.toThrow(/Invalid I2C address/)
    await expect(bus.writeI2cBlock(0x70, 0, 33, Buffer.alloc(33))).rejects.toThrow(/block length/)
    await expect(bus.i2cWrite(0x70, 4, Buffer.alloc(2))).rejects.toThrow(/at least 4 bytes/)
    await bus.close()
    await expect(bus.sendByte(0x70, 0x21)).rejects.toThrow(/closed/)
  })
})

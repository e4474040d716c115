/**
 * The simulated DI/DO module, spoken to byte by byte over the simulated
 * RS-485 line: what it answers to good frames, and what it does with a bad
 * CRC, another address, an unknown function, an address it does not have.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { frameHex, readBitsRequest, withCrc, writeMultipleCoilsRequest, writeSingleCoilRequest } from '../../edge/hardware/modbus-rtu.ts'
import type { SerialSettings } from '../../edge/hardware/serial-line.ts'
import { ModbusDioModel } from '../../sim/modbus-dio-model.ts'
import { SimRs485Line } from '../../sim/serial-line.ts'

const SETTINGS: SerialSettings = { baudRate: 9600, parity: 'none', stopBits: 1 }
const bytes = (hex: string) => Buffer.from(hex.replace(/ /g, ''), 'hex')

async function rig() {
  const line = new SimRs485Line({ path: 'sim', settings: SETTINGS, chunkBytes: 3 })
  const module = new ModbusDioModel({ slave: 1, inputs: 8, coils: 8, settings: SETTINGS, named: [{ name: 'satisfied', kind: 'di', offset: 0 }, { name: 'nvr-relay', kind: 'coil', offset: 0 }] })
  line.attach(module)
  await module.ready
  const rx: Buffer[] = []
  await line.master.open()
  line.master.onData((c) => rx.push(c))
  /** Sends a frame and returns what came back within 100 ms, as hex ('' for silence). */
  const ask = async (frame: Buffer): Promise<string> => {
    rx.length = 0
    await line.master.write(frame)
    await vi.advanceTimersByTimeAsync(100)
    return frameHex(Buffer.concat(rx))
  }
  return { line, module, ask }
}

describe('the simulated Modbus DI/DO module', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reads its inputs and coils, writes one coil and many', async () => {
    const { module, ask } = await rig()
    module.terminals.setActive('satisfied', true)
    module.terminals.setActive('di-2', true)
    expect(await ask(readBitsRequest(1, 0x02, 0, 8))).toBe(frameHex(withCrc(bytes('01 02 01 05'))))
    expect(await ask(writeSingleCoilRequest(1, 0, true))).toBe('01 05 00 00 ff 00 8c 3a')
    expect(module.coil(0)).toBe(true)
    expect(module.terminals.isActive('nvr-relay')).toBe(true)
    expect(await ask(writeMultipleCoilsRequest(1, 0, [0, 1, 1]))).toBe(frameHex(withCrc(bytes('01 0f 00 00 00 03'))))
    expect([0, 1, 2, 3].map((i) => module.coil(i))).toEqual([false, true, true, false])
    expect(await ask(readBitsRequest(1, 0x01, 0, 8))).toBe(frameHex(withCrc(bytes('01 01 01 06'))))
  })

  it('drops a frame with a bad CRC and one for another slave, without a word', async () => {
    const { module, ask } = await rig()
    const bad = readBitsRequest(1, 0x02, 0, 8)
    bad[7]! ^= 0x01
    expect(await ask(bad)).toBe('')
    expect(await ask(readBitsRequest(2, 0x02, 0, 8))).toBe('')
    expect(module.stats).toMatchObject({ droppedCrc: 1, otherAddress: 1, answered: 0 })
  })

  it('answers an unknown function with exception 01, an address beyond it with 02, a bad value with 03, a dead coil driver with 04', async () => {
    const { module, ask } = await rig()
    expect(await ask(withCrc(bytes('01 03 00 00 00 0a')))).toBe(frameHex(withCrc(bytes('01 83 01'))))
    expect(await ask(readBitsRequest(1, 0x02, 4, 8))).toBe(frameHex(withCrc(bytes('01 82 02'))))
    expect(await ask(withCrc(bytes('01 05 00 00 12 34')))).toBe(frameHex(withCrc(bytes('01 85 03'))))
    module.terminals.failWrites('nvr-relay')
    expect(await ask(writeSingleCoilRequest(1, 0, true))).toBe(frameHex(withCrc(bytes('01 85 04'))))
    expect(module.stats.exceptions).toBe(4)
  })

  it('carries out a broadcast write and does not answer it', async () => {
    const { module, ask } = await rig()
    expect(await ask(withCrc(bytes('00 05 00 03 ff 00')))).toBe('')
    expect(module.coil(3)).toBe(true)
  })

  it('unplugged: silent and its relays drop; plugged back: cold, every coil off; corruptCrc: a wrong CRC', async () => {
    const { module, ask } = await rig()
    await ask(writeSingleCoilRequest(1, 0, true))
    await module.unplug()
    expect(module.coil(0)).toBe(false)
    expect(await ask(readBitsRequest(1, 0x02, 0, 8))).toBe('')
    await module.plug()
    expect(await ask(readBitsRequest(1, 0x01, 0, 8))).toBe(frameHex(withCrc(bytes('01 01 01 00'))))
    module.corruptCrc(1)
    const answer = await ask(readBitsRequest(1, 0x02, 0, 8))
    expect(answer).not.toBe(frameHex(withCrc(bytes('01 02 01 00'))))
    expect(answer.slice(0, 11)).toBe('01 02 01 00')
    expect(await ask(readBitsRequest(1, 0x02, 0, 8))).toBe(frameHex(withCrc(bytes('01 02 01 00'))))
  })

  it('takes the time the bytes take on the wire: nothing before the request and 3.5 characters of silence are over', async () => {
    const { line, ask } = await rig()
    const got: Buffer[] = []
    line.master.onData((c) => got.push(c))
    await line.master.write(readBitsRequest(1, 0x02, 0, 8))
    // 8 bytes at 9600 8N1 are 8.3 ms, then 3.6 ms of silence, then the module's turnaround.
    await vi.advanceTimersByTimeAsync(12)
    expect(got).toEqual([])
    await vi.advanceTimersByTimeAsync(50)
    expect(Buffer.concat(got)).toHaveLength(6)
    expect(await ask(readBitsRequest(1, 0x02, 0, 8))).toHaveLength(17)
  })
})

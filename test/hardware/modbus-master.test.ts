/**
 * The RTU master against the simulated module on the simulated line: real
 * frames both ways, the module's faults injected as in a hall.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ModbusError, ModbusRtuMaster } from '../../edge/hardware/modbus-master.ts'
import type { SerialSettings } from '../../edge/hardware/serial-line.ts'
import { ModbusDioModel } from '../../sim/modbus-dio-model.ts'
import { SimRs485Line } from '../../sim/serial-line.ts'

const SETTINGS: SerialSettings = { baudRate: 9600, parity: 'none', stopBits: 1 }

async function rig(opts: { retries?: number } = {}) {
  const line = new SimRs485Line({ path: '/dev/ttyUSB0', settings: SETTINGS, chunkBytes: 1 })
  const module = new ModbusDioModel({ slave: 1, inputs: 8, coils: 4, settings: SETTINGS })
  line.attach(module)
  await module.ready
  const master = new ModbusRtuMaster({ line: line.master, settings: SETTINGS, timeoutMs: 100, retries: opts.retries ?? 1 })
  await master.start()
  return { line, module, master }
}

/** Runs a transaction while the faked clock moves, and returns its outcome. */
async function settle<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  const outcome = p.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  )
  await vi.advanceTimersByTimeAsync(1_000)
  return outcome
}

describe('the Modbus RTU master', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reads inputs and coils and writes coils, reassembling answers that arrive a byte at a time', async () => {
    const { module, master } = await rig()
    module.terminals.setActive('di-1', true)
    module.terminals.setActive('di-7', true)
    expect(await settle(master.readDiscreteInputs(1, 0, 8))).toEqual({ ok: [0, 1, 0, 0, 0, 0, 0, 1] })
    expect(await settle(master.writeSingleCoil(1, 2, true))).toEqual({ ok: undefined })
    expect(module.coil(2)).toBe(true)
    expect(await settle(master.writeMultipleCoils(1, 0, [1, 1, 0, 0]))).toEqual({ ok: undefined })
    expect(await settle(master.readCoils(1, 0, 4))).toEqual({ ok: [1, 1, 0, 0] })
    expect(master.stats).toMatchObject({ requests: 4, timeouts: 0, badFrames: 0, retries: 0 })
  })

  it('queues transactions: one at a time on the half-duplex line, in order', async () => {
    const { line, master } = await rig()
    const a = master.writeSingleCoil(1, 0, true)
    const b = master.readCoils(1, 0, 4)
    const both = await settle(Promise.all([a, b]))
    expect(both).toEqual({ ok: [undefined, [1, 0, 0, 0]] })
    // Request, answer, request, answer: never two requests before an answer.
    expect(line.traffic.map((t) => t.from)).toEqual(['master', 'slave', 'master', 'slave'])
  })

  it('a module that does not answer: a timeout after each try, then ModbusError timeout', async () => {
    const { module, master } = await rig({ retries: 2 })
    await module.unplug()
    const out = await settle(master.readDiscreteInputs(1, 0, 8))
    expect(out).toEqual({ err: expect.any(ModbusError) })
    const err = (out as { err: ModbusError }).err
    expect(err).toMatchObject({ kind: 'timeout', slave: 1, code: 'EIO' })
    expect(err.message).toMatch(/slave 1 did not answer within 100 ms \(3 tries\)/)
    expect(master.stats).toMatchObject({ requests: 3, timeouts: 3, retries: 2 })
    // Plugged back, the next transaction simply works.
    await module.plug()
    expect(await settle(master.readCoils(1, 0, 4))).toEqual({ ok: [0, 0, 0, 0] })
  })

  it('a wrong CRC is tried again; too many are a crc fault', async () => {
    const { module, master } = await rig({ retries: 1 })
    module.corruptCrc(1)
    expect(await settle(master.readDiscreteInputs(1, 0, 8))).toEqual({ ok: [0, 0, 0, 0, 0, 0, 0, 0] })
    expect(master.stats).toMatchObject({ badFrames: 1, retries: 1 })
    module.corruptCrc(2)
    const out = await settle(master.readDiscreteInputs(1, 0, 8))
    expect((out as { err: ModbusError }).err).toMatchObject({ kind: 'crc', message: expect.stringMatching(/bad CRC.*\(2 tries\)/) })
  })

  it('an exception is the module\'s answer: not tried again', async () => {
    const { master } = await rig({ retries: 3 })
    const out = await settle(master.readDiscreteInputs(1, 4, 8))
    expect((out as { err: ModbusError }).err).toMatchObject({ kind: 'exception', exception: 2, message: expect.stringMatching(/illegal data address/) })
    expect(master.stats).toMatchObject({ requests: 1, exceptions: 1, retries: 0 })
  })

  it('the USB adapter pulled out: io errors; plugged back, the line opens again on the next transaction', async () => {
    const { line, master } = await rig()
    line.setAdapterPresent(false)
    const out = await settle(master.readCoils(1, 0, 4))
    expect((out as { err: ModbusError }).err).toMatchObject({ kind: 'io', message: expect.stringMatching(/\/dev\/ttyUSB0: ENOENT/) })
    line.setAdapterPresent(true)
    expect(await settle(master.readCoils(1, 0, 4))).toEqual({ ok: [0, 0, 0, 0] })
    await master.stop()
    await expect(master.readCoils(1, 0, 4)).rejects.toMatchObject({ kind: 'io', message: expect.stringMatching(/stopped/) })
  })
})

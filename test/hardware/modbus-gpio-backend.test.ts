/**
 * Keys, lamps and the relay on Modbus lines, through the drivers that run
 * them on GPIO (keys.ts, output.ts), over the real master and a simulated
 * module on a simulated RS-485 line, under fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import type { LineSpec } from '../../edge/hardware/gpio-port.ts'
import { KeyInput } from '../../edge/hardware/keys.ts'
import { ModbusGpioBackend } from '../../edge/hardware/modbus-gpio-backend.ts'
import { ModbusRtuMaster } from '../../edge/hardware/modbus-master.ts'
import { Lamp } from '../../edge/hardware/output.ts'
import type { SerialSettings } from '../../edge/hardware/serial-line.ts'
import { ModbusDioModel } from '../../sim/modbus-dio-model.ts'
import { SimRs485Line } from '../../sim/serial-line.ts'

const SETTINGS: SerialSettings = { baudRate: 9600, parity: 'none', stopBits: 1 }
const now = () => Date.now()
const KEY: LineSpec = { name: 'satisfied', chip: 'modbus:1/di', offset: 0, direction: 'in', edge: 'both' }
const LAMP: LineSpec = { name: 'evaluator-lamp', chip: 'modbus:1/coil', offset: 1, direction: 'out', initial: 0 }

function rig() {
  const line = new SimRs485Line({ path: 'sim', settings: SETTINGS })
  const module = new ModbusDioModel({ slave: 1, inputs: 8, coils: 8, settings: SETTINGS, named: [{ name: 'satisfied', kind: 'di', offset: 0 }, { name: 'evaluator-lamp', kind: 'coil', offset: 1 }] })
  line.attach(module)
  const master = new ModbusRtuMaster({ line: line.master, settings: SETTINGS, timeoutMs: 100, retries: 1 })
  const backend = new ModbusGpioBackend({ master, modules: [{ slave: 1, inputs: 8, coils: 8 }], pollMs: 40, verifyMs: 1_000 })
  const health = new DeviceHealthTracker()
  const reports: string[] = []
  health.attach({ deviceHealth: (device, f) => reports.push(f === null ? `${device}:ok` : `${device}:${f.code}`) })
  backend.attachHealth(health)
  return { line, module, master, backend, health, reports }
}

/** Awaits what needs line time while the faked clock runs. */
async function run<T>(p: Promise<T>): Promise<T> {
  let done = false
  const settled = p.finally(() => (done = true))
  // Handled by the caller once the clock has run; not an unhandled rejection meanwhile.
  settled.catch(() => undefined)
  for (let ms = 0; !done && ms < 5_000; ms++) await vi.advanceTimersByTimeAsync(1)
  return settled
}

describe('lines on a Modbus DI/DO module', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('a key on a discrete input: polled presses, contact bounce absorbed, one press per push', async () => {
    const { module, backend, health } = rig()
    const key = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health, line: await run(backend.open(KEY)), now })
    await key.start()
    const presses: number[] = []
    key.on('press', (p) => presses.push(p.at))
    for (let i = 0; i < 3; i++) {
      void module.terminals.press('satisfied', { holdMs: 100, bounce: [1, 2, 3], releaseBounce: [1, 2] })
      await vi.advanceTimersByTimeAsync(400)
    }
    expect(presses).toHaveLength(3)
    expect(health.faults()).toEqual([])
    key.stop()
    await run(backend.stop())
  })

  it('the chatter rule still holds: a floating input sampled every 40 ms is muted and reported', async () => {
    const { module, backend, health, reports } = rig()
    const key = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health, line: await run(backend.open(KEY)), now, chatterEdges: 20 })
    await key.start()
    // A level that flips every 45 ms: each poll (every 40 ms) sees most flips, 22 edges a second.
    let level = false
    const noise = setInterval(() => module.terminals.setActive('satisfied', (level = !level)), 45)
    await vi.advanceTimersByTimeAsync(1_500)
    clearInterval(noise)
    expect(reports).toContain('key-satisfied:chatter')
    key.stop()
    await run(backend.stop())
  })

  it('a lamp on a coil; a module that resets between two polls gets its coils back from the readback', async () => {
    const { module, backend, health } = rig()
    const lamp = new Lamp({ line: await run(backend.open(LAMP)), device: 'evaluator-lamp', health })
    await run(lamp.on())
    expect(module.coil(1)).toBe(true)
    // Power off and on again inside one poll period: no poll missed, the coils lost.
    await module.unplug()
    await module.plug()
    expect(module.coil(1)).toBe(false)
    await vi.advanceTimersByTimeAsync(1_100)
    expect(module.coil(1)).toBe(true)
    expect(health.faults()).toEqual([])
    await run(lamp.off())
    await run(backend.stop())
  })

  it('a module absent at start: the board comes up, modbus-1 absent, the key io; it appears: all clear, the coil image written', async () => {
    const { module, backend, health, reports } = rig()
    await module.unplug()
    const key = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health, line: await run(backend.open(KEY)), now })
    await key.start()
    const lamp = new Lamp({ line: await run(backend.open(LAMP)), device: 'evaluator-lamp', health })
    await expect(run(lamp.on())).rejects.toMatchObject({ code: 'EIO' })
    await vi.advanceTimersByTimeAsync(1_500)
    expect(reports).toEqual(['modbus-1:absent', 'evaluator-lamp:io', 'key-satisfied:io'])
    await module.plug()
    await vi.advanceTimersByTimeAsync(1_500)
    expect(reports.slice(3).sort()).toEqual(['key-satisfied:ok', 'modbus-1:ok'])
    // The failed write left the coil as it was (off); the lamp's next write works and clears it.
    expect(module.coil(1)).toBe(false)
    await run(lamp.on())
    expect(module.coil(1)).toBe(true)
    expect(health.faults()).toEqual([])
    key.stop()
    await run(backend.stop())
  })

  it('a coil whose driver failed: the module answers exception 04, the module and the lamp report it, its inputs stay readable', async () => {
    const { module, backend, health } = rig()
    const keyLine = await run(backend.open(KEY))
    const lamp = new Lamp({ line: await run(backend.open(LAMP)), device: 'evaluator-lamp', health })
    module.terminals.failWrites('evaluator-lamp')
    await expect(run(lamp.on())).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/slave device failure \(exception 4\)/) })
    expect(health.faults().map((f) => `${f.device}:${f.code}`)).toEqual(['modbus-1:exception', 'evaluator-lamp:io'])
    await keyLine.read()
    module.terminals.setActive('satisfied', true)
    await vi.advanceTimersByTimeAsync(100)
    expect(await keyLine.read()).toBe(1)
    module.terminals.failWrites('evaluator-lamp', null)
    await vi.advanceTimersByTimeAsync(1_000)
    await run(lamp.on())
    expect(health.faults()).toEqual([])
    await run(backend.stop())
  })

  it('a noisy line: answers with a bad CRC are tried again; too many are the module fault crc, cleared by the next good answer', async () => {
    const { module, backend, health, reports } = rig()
    const key = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health, line: await run(backend.open(KEY)), now })
    await key.start()
    module.corruptCrc(1)
    await vi.advanceTimersByTimeAsync(200)
    expect(reports).toEqual([])
    module.corruptCrc(2)
    await vi.advanceTimersByTimeAsync(200)
    expect(reports).toEqual(['modbus-1:crc'])
    await vi.advanceTimersByTimeAsync(1_000)
    expect(reports.at(-1)).toBe('modbus-1:ok')
    key.stop()
    await run(backend.stop())
  })

  it('refuses lines it cannot have, naming them', async () => {
    const { backend } = rig()
    await expect(backend.open({ ...KEY, chip: 'modbus:2/di' })).rejects.toThrow(/no Modbus module 2 on sim/)
    await expect(backend.open({ ...KEY, offset: 8 })).rejects.toThrow(/module 1 has 8 inputs, not 8/)
    await expect(backend.open({ ...KEY, direction: 'out' })).rejects.toThrow(/an output cannot be a Modbus di/)
    await expect(backend.open({ ...KEY, chip: 'sim-gpio' })).rejects.toThrow(/not a Modbus line/)
    const k = await run(backend.open(KEY))
    await expect(backend.open(KEY)).rejects.toMatchObject({ code: 'EBUSY' })
    await expect(k.write(1)).rejects.toMatchObject({ code: 'EPERM' })
    await run(backend.stop())
  })
})

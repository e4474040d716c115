import Firmata from 'firmata'
import type { Io } from 'johnny-five'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'
import type { LineSpec } from '../../edge/hardware/gpio-port.ts'
import { openJ5Board, type J5Context } from '../../edge/hardware/j5-board.ts'
import { J5GpioBackend } from '../../edge/hardware/j5-gpio-backend.ts'
import { J5Max7219Transport } from '../../edge/hardware/j5-max7219.ts'
import { KeyInput } from '../../edge/hardware/keys.ts'
import { Max7219Display } from '../../edge/hardware/max7219.ts'
import { Relay } from '../../edge/hardware/relay.ts'
import { FakeFirmataBoard } from '../support/fake-firmata.ts'
import { eventually } from '../support/probe.ts'

const log = pino({ level: 'silent' })

/**
 * The portable window's real path (johnny-five → firmata → serialport) needs
 * an Arduino; without one, what can be checked is that a wrong port fails
 * fast with the port named, through the real libraries. (This file runs
 * without IS_TEST_MODE, as the runtime does.)
 */
describe('the Firmata path', () => {
  it('fails with the port named when the serial port does not exist', async () => {
    await expect(openJ5Board({ serialPort: '/dev/ttyNOPE0', timeoutMs: 5_000 })).rejects.toThrow(
      /johnny-five board \(Firmata on \/dev\/ttyNOPE0\): .*cannot open \/dev\/ttyNOPE0/,
    )
  })
})

/**
 * The same path against a board that speaks Firmata byte for byte at the end
 * of the serial transport (test/support/fake-firmata.ts): what the kit does
 * at start and when its USB cable is pulled (issue 19.5).
 */
describe('the Firmata kit against a StandardFirmata board on the wire', () => {
  const opened: J5Context[] = []
  afterEach(async () => {
    for (const j5 of opened.splice(0)) await j5.close()
  })

  async function kit(setup: (board: FakeFirmataBoard) => void = () => undefined) {
    const board = new FakeFirmataBoard()
    setup(board)
    const j5 = await openJ5Board({ io: new Firmata(board) as unknown as Io, log, timeoutMs: 5_000 })
    opened.push(j5)
    const gpio = new J5GpioBackend({ j5, log, firstReportMs: 1_000 })
    return { board, j5, gpio }
  }
  const key = (name: string, offset: number): LineSpec => ({ name, chip: 'firmata', offset, direction: 'in', activeLow: true, bias: 'pull-up', edge: 'both' })

  it('reads an idle active-low key as released and a held one as held from the moment it is open', async () => {
    const { board, gpio } = await kit((b) => b.drive(3, 0)) // 'neutral' held to ground at start
    const satisfied = await gpio.open(key('satisfied', 2))
    const neutral = await gpio.open(key('neutral', 3))
    expect(board.mode(2)).toBe(11) // PULLUP
    expect(await satisfied.read()).toBe(0)
    expect(await neutral.read()).toBe(1)
    board.drive(3, undefined)
    await eventually(async () => (await neutral.read()) === 0, 5_000, 'the release reported')
  })

  it('refuses to open a key the board never reports, rather than guess its level', async () => {
    const { board, gpio } = await kit()
    board.reportsInputs = false
    await expect(gpio.open(key('satisfied', 2))).rejects.toMatchObject({ code: 'EIO', message: /did not report pin 2/ })
  })

  it('turns an unplugged USB cable into faults on the relay, the keys and the display, and tells its owner once', async () => {
    const { board, j5, gpio } = await kit()
    const health = new DeviceHealthTracker({ log })
    const relay = new Relay({ line: await gpio.open({ name: 'nvr-relay', chip: 'firmata', offset: 15, direction: 'out', initial: 0 }), device: 'nvr-relay', health, minHoldMs: 0 })
    const satisfied = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health, line: await gpio.open(key('satisfied', 2)), now: () => Date.now(), reconcileMs: 20, log })
    await satisfied.start()
    const display = new Max7219Display({ transport: await J5Max7219Transport.create(j5, { data: 12, clock: 11, cs: 10 }, 8), digits: 8, log })
    await display.start()
    await relay.pulse(10)
    expect(board.outputLevel(15)).toBe(0)
    const losses: Error[] = []
    j5.onLost((err) => losses.push(err))

    board.unplug()
    await eventually(() => losses.length === 1, 5_000, 'the loss reported to the owner')
    expect(losses[0]).toMatchObject({ code: 'ENODEV', message: /disconnected|closed/ })
    expect(j5.lost).toBe(losses[0])

    await expect(relay.close()).rejects.toMatchObject({ code: 'ENODEV' })
    await expect(display.show('A001')).rejects.toBeInstanceOf(DeviceFault)
    await eventually(() => health.faults().length === 2, 5_000, 'the key and the relay report')
    expect(health.faults().map((f) => [f.device, f.code]).sort()).toEqual([
      ['key-satisfied', 'io'],
      ['nvr-relay', 'io'],
    ])
    satisfied.stop()
    await display.stop().catch(() => undefined)
    await relay.stop().catch(() => undefined)
    expect(losses).toHaveLength(1)
  })
})

import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

vi.hoisted(() => {
  // johnny-five reads this when it is first loaded: it adds Board.purge and
  // LedControl.purge and skips its connect timeout (docs/hardware.md §3.3).
  process.env.IS_TEST_MODE = '1'
})

import type { LineSpec } from '../../edge/hardware/gpio-port.ts'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'
import { loadJohnnyFive, openJ5Board, type J5Context } from '../../edge/hardware/j5-board.ts'
import { electricalLineSpec, J5GpioBackend } from '../../edge/hardware/j5-gpio-backend.ts'
import { J5IoPlugin } from '../../edge/hardware/j5-io-plugin.ts'
import { J5Max7219Transport } from '../../edge/hardware/j5-max7219.ts'
import { KeyInput } from '../../edge/hardware/keys.ts'
import { Max7219Display } from '../../edge/hardware/max7219.ts'
import { encodeSeg7 } from '../../edge/hardware/seg7-font.ts'
import { SimGpio } from '../../sim/gpio.ts'
import { Ht16k33Model } from '../../sim/ht16k33-model.ts'
import { SimI2cBus } from '../../sim/i2c-bus.ts'
import { Max7219Model } from '../../sim/max7219-model.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'

const log = pino({ level: 'silent' })
const PINS = { din: 'display-din', clk: 'display-clk', cs: 'display-cs' }

/** A Firmata-kit-like board on the simulator: pins by Arduino number, wired as the profile says. */
const WIRING = [
  { name: 'satisfied', chip: 'firmata', offset: 2, activeLow: true, direction: 'in' as const },
  { name: 'status-lamp', chip: 'firmata', offset: 13, activeLow: false, direction: 'out' as const },
  { name: 'nvr-relay', chip: 'firmata', offset: 15, activeLow: true, direction: 'out' as const },
  { name: PINS.din, chip: 'firmata', offset: 12, direction: 'out' as const },
  { name: PINS.clk, chip: 'firmata', offset: 11, direction: 'out' as const },
  { name: PINS.cs, chip: 'firmata', offset: 10, direction: 'out' as const },
]

const contexts: J5Context[] = []

async function rig(opts: { random?: () => number } = {}) {
  const gpio = new SimGpio({ lines: WIRING })
  const bus = new SimI2cBus()
  const ht16k33 = new Ht16k33Model({ random: opts.random ?? (() => 0.5) })
  bus.attach(0x70, ht16k33)
  const max7219 = new Max7219Model({ gpio, pins: PINS, digits: 8, random: opts.random ?? (() => 0.99) })
  const lines: LineSpec[] = WIRING.map((w) =>
    electricalLineSpec({
      name: w.name,
      chip: w.chip,
      offset: w.offset,
      direction: w.direction,
      activeLow: w.activeLow ?? false,
      ...(w.direction === 'in' ? { edge: 'both' as const } : { initial: 0 as const, ...(w.name === PINS.cs ? { initial: 1 as const } : {}) }),
    }),
  )
  const plugin = new J5IoPlugin({ gpio, bus, lines, log })
  const j5 = await openJ5Board({ io: plugin, log })
  contexts.push(j5)
  return { gpio, bus, ht16k33, max7219, plugin, j5 }
}

describe('johnny-five components on our ports through the IO plugin', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close()
    const five = await loadJohnnyFive()
    five.LedControl.purge?.()
    five.Board.purge?.()
    vi.useRealTimers()
  })

  it('connects like an IO plugin must: connect, then ready, every line open', async () => {
    const { plugin, gpio, j5 } = await rig()
    expect(j5.board.isReady).toBe(true)
    expect(plugin.isReady).toBe(true)
    expect(gpio.lineNames().every((n) => gpio.isOpen(n))).toBe(true)
    expect(plugin.normalize('satisfied')).toBe(2)
    expect(plugin.pins[2]?.supportedModes).toEqual([0, 11])
    expect(plugin.pins[3]?.supportedModes).toEqual([])
  })

  it("runs J5's HT16K33 Led.Digits on our I2C bus, with the init bytes johnny-five is known to send", async () => {
    const { j5, bus, ht16k33 } = await rig()
    const digits = new j5.five.Led.Digits({ board: j5.board, controller: 'HT16K33', address: 0x70 })
    await j5.io.flush!()
    expect(bus.transactions(0x70).map((t) => t.bytes)).toEqual([[0x21], [0x81], [0xef], [0x00, ...new Array<number>(16).fill(0)]])
    // ... and the print() traps that make us use our own driver: '-' dropped, B shown as 8.
    digits.print('A-12')
    await j5.io.flush!()
    expect(ht16k33.view().text).toBe('A12')
    digits.print('B045')
    await j5.io.flush!()
    expect(ht16k33.view().text).toBe('8045')
  })

  it("runs J5's MAX7219 Led.Digits on simulated pins: the model latches johnny-five's known init frames", async () => {
    const { j5, max7219 } = await rig()
    new j5.five.Led.Digits({ board: j5.board, pins: { data: 12, clock: 11, cs: 10 } })
    await j5.io.flush!()
    expect(max7219.frames().map((f) => [f.register, f.data])).toEqual([
      [0x0a, 3],
      [0x0b, 7],
      [0x0c, 1],
      [0x0f, 0],
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((r) => [r, 0]),
      [0x0c, 1],
    ])
    expect(max7219.warnings).toEqual([])
    // It never writes decode mode: it relies on the power-on 0.
    expect(max7219.frames().some((f) => f.register === 0x09)).toBe(false)
  })

  it("runs J5's Button on a simulated key, pull-up request and all", async () => {
    const { j5, gpio } = await rig()
    const button = new j5.five.Button({ board: j5.board, pin: 'satisfied', isPullup: true })
    const events: string[] = []
    button.on('press', () => events.push('press'))
    button.on('release', () => events.push('release'))
    await vi.advanceTimersByTimeAsync(20)
    void gpio.press('satisfied', { holdMs: 100, bounce: [1, 2] })
    await vi.advanceTimersByTimeAsync(200)
    expect(events).toEqual(['press', 'release'])
  })

  it('drives our MAX7219 display through johnny-five: decode mode written, B apart from 8, no garbage on a cold chip', async () => {
    const { j5, max7219 } = await rig()
    max7219.decodeMode = 0xff // a chip left in Code B by an earlier program
    const display = new Max7219Display({ transport: await J5Max7219Transport.create(j5, { data: 12, clock: 11, cs: 10 }, 8), digits: 8, log })
    await display.start()
    await display.show('B045')
    expect(max7219.view()).toMatchObject({ lit: true, text: 'B045', glyphs: [...encodeSeg7('B045', 8)] })
    expect(max7219.decodeMode).toBe(0)
    // Every moment the chip lit up, it showed nothing but blanks or the call.
    expect(max7219.litChanges().filter((c) => c.lit).map((c) => c.text)).toEqual(expect.arrayContaining(['']))
    expect(max7219.litChanges().every((c) => c.text === '' || c.text === 'B045')).toBe(true)
    expect(max7219.warnings).toEqual([])
    await display.stop()
  })

  it('runs our key and output drivers on johnny-five pins, applying activeLow on electrical levels', async () => {
    const { j5, gpio } = await rig()
    const backend = new J5GpioBackend({ j5, log })
    const key = await backend.open({ name: 'satisfied', chip: 'firmata', offset: 2, direction: 'in', activeLow: true, edge: 'both', bias: 'pull-up' })
    const relay = await backend.open({ name: 'nvr-relay', chip: 'firmata', offset: 15, direction: 'out', activeLow: true, initial: 0 })
    expect(gpio.isActive('nvr-relay')).toBe(false)
    expect(gpio.history('nvr-relay').filter((c) => c.active)).toEqual([])
    await relay.write(1)
    expect(gpio.level('nvr-relay')).toBe(0)
    const k = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health: new DeviceHealthTracker(), line: key, now: () => Date.now(), reconcileMs: 0 })
    const presses: number[] = []
    k.on('press', (p) => presses.push(p.at))
    await k.start()
    void gpio.press('satisfied', { holdMs: 80, bounce: [1, 2, 3] })
    await vi.advanceTimersByTimeAsync(200)
    expect(presses).toHaveLength(1)
    k.stop()
    await backend.stop()
    expect(gpio.isActive('nvr-relay')).toBe(false)
  })

  it('retries one NACK and reports a device that stays away, at flush()', async () => {
    const { plugin, bus, ht16k33 } = await rig()
    bus.injectFault(0x70, 'nack-once')
    plugin.i2cWrite(0x70, [0x21])
    await plugin.flush()
    expect(ht16k33.osc).toBe(true)
    plugin.i2cWrite(0x71, [0x21])
    const err = await plugin.flush().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DeviceFault)
    expect(err).toMatchObject({ code: 'absent' })
    await plugin.flush() // reported once
  })

  it('reads I2C for johnny-five, once and continuously', async () => {
    const { plugin, ht16k33 } = await rig()
    ht16k33.ram.fill(0).set([0x3f, 0, 0x06], 0)
    const once: number[][] = []
    plugin.i2cReadOnce(0x70, 0x00, 3, (bytes: number[]) => once.push(bytes))
    await plugin.flush()
    expect(once).toEqual([[0x3f, 0, 0x06]])
    const reads: number[][] = []
    plugin.i2cRead(0x70, 2, (bytes: number[]) => reads.push(bytes))
    await vi.advanceTimersByTimeAsync(45)
    expect(reads.length).toBe(3)
  })

  it('refuses a mode that does not match the wiring, naming the line', async () => {
    const { plugin } = await rig()
    expect(() => plugin.pinMode(2, plugin.MODES.OUTPUT)).toThrow(/pin 2 \('satisfied'\) is wired as an input/)
    expect(() => plugin.digitalWrite(4, 1)).toThrow(/no line on pin 4/)
    expect(() => plugin.analogRead()).toThrow(/analog/)
  })

  it("offers a simulated window's models to johnny-five as one IO object", async () => {
    const hw = new SimWindowHardware(await loadBoardProfile('firmata-uno-max7219', BOARDS_DIR))
    const j5 = await openJ5Board({ io: hw.johnnyFiveIo(), log })
    contexts.push(j5)
    const button = new j5.five.Button({ board: j5.board, pin: 2, invert: true })
    const presses: number[] = []
    button.on('press', () => presses.push(Date.now()))
    const digits = new j5.five.Led.Digits({ board: j5.board, pins: { data: 12, clock: 11, cs: 10 } })
    digits.print('1234')
    await j5.io.flush!()
    expect(hw.view()).toMatchObject({ lit: true, text: '1234' })
    await vi.advanceTimersByTimeAsync(20)
    void hw.press('satisfied')
    await vi.advanceTimersByTimeAsync(200)
    expect(presses).toHaveLength(1)
  })
})

import { rmSync } from 'node:fs'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Level, LineSpec } from '../../edge/hardware/gpio-port.ts'
import { KeyInput } from '../../edge/hardware/keys.ts'
import { OnoffBackend } from '../../edge/hardware/onoff-backend.ts'
import { SysfsGpioUnavailableError } from '../../edge/hardware/sysfs-gpiochips.ts'
import { FakeSysfs, type EdgeDelivery } from '../support/fake-sysfs.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'

const log = pino({ level: 'silent' })
/** A Pi 4 on kernel 6.6+: pinctrl-bcm2711 at base 512. */
const BASE = 512
const key = (offset: number, extra: Partial<LineSpec> = {}): LineSpec => ({
  name: `key-${offset}`,
  chip: 'pinctrl-bcm2711',
  offset,
  direction: 'in',
  activeLow: true,
  edge: 'both',
  ...extra,
})
const output = (offset: number, activeLow: boolean, extra: Partial<LineSpec> = {}): LineSpec => ({
  name: `out-${offset}`,
  chip: 'pinctrl-bcm2711',
  offset,
  direction: 'out',
  activeLow,
  ...extra,
})

let fakes: FakeSysfs[] = []
function pi4(opts: { edgeDelivery?: EdgeDelivery; claimed?: number[]; noIrq?: number[] } = {}) {
  const sysfs = new FakeSysfs(
    [
      { label: 'pinctrl-bcm2711', base: BASE, ngpio: 58, noIrq: opts.noIrq ?? [] },
      { label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
    ],
    { edgeDelivery: opts.edgeDelivery ?? 'irq', claimed: opts.claimed ?? [] },
  )
  fakes.push(sysfs)
  const backend = new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log, pollMs: 10, verifyMs: 200 })
  return { sysfs, backend }
}

describe('OnoffBackend on a fake sysfs tree', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
    for (const f of fakes) f.cleanup()
    fakes = []
  })

  it('exports base + offset, never the bare BCM number', async () => {
    const { sysfs, backend } = pi4()
    sysfs.drive(BASE + 5, 1) // pull-up
    await backend.open(key(5))
    expect(sysfs.exports).toEqual([517])
    expect(sysfs.attr(517, 'direction')).toBe('in')
    expect(sysfs.attr(517, 'active_low')).toBe('1')
    expect(sysfs.attr(517, 'edge')).toBe('both')
  })

  it('the fake kernel refuses a bare BCM number as a 6.6 kernel does', () => {
    const { sysfs } = pi4()
    expect(() => new sysfs.Gpio(17, 'out')).toThrow(/EINVAL/)
  })

  it('reads an active-low key as pressed when its pin is pulled low', async () => {
    const { sysfs, backend } = pi4()
    sysfs.drive(BASE + 6, 1)
    const line = await backend.open(key(6))
    expect(await line.read()).toBe(0)
    sysfs.drive(BASE + 6, 0)
    expect(await line.read()).toBe(1)
  })

  it('starts an active-low relay released: the pin goes high and never low', async () => {
    const { sysfs, backend } = pi4()
    sysfs.drive(BASE + 4, 1) // GPIO4 boots pulled up
    const relay = await backend.open(output(4, true))
    expect(sysfs.levels(BASE + 4)).toEqual([1])
    expect(sysfs.attr(BASE + 4, 'direction')).toBe('out')
    await relay.write(1)
    expect(sysfs.level(BASE + 4)).toBe(0)
    await relay.write(0)
    expect(sysfs.levels(BASE + 4)).toEqual([1, 0, 1])
  })

  it("would have clicked the relay with onoff's 'out' (the trap the adapter avoids)", () => {
    const { sysfs } = pi4()
    sysfs.drive(BASE + 4, 1)
    new sysfs.Gpio(BASE + 4, 'out', undefined, { activeLow: true })
    expect(sysfs.levels(BASE + 4)).toEqual([1, 0])
  })

  it('starts an active-high output low, and honours an initial active level', async () => {
    const { sysfs, backend } = pi4()
    await backend.open(output(17, false))
    expect(sysfs.levels(BASE + 17)).toEqual([0])
    await backend.open(output(22, false, { initial: 1 }))
    expect(sysfs.levels(BASE + 22)).toEqual([1])
  })

  it('refuses to write an input', async () => {
    const { backend } = pi4()
    const line = await backend.open(key(13))
    await expect(line.write(1)).rejects.toMatchObject({ code: 'EPERM', message: /key-13/ })
  })

  it('delivers edges from interrupts, filtered by the edge asked for', async () => {
    const { sysfs, backend } = pi4()
    sysfs.drive(BASE + 5, 1)
    sysfs.drive(BASE + 6, 1)
    const both = await backend.open(key(5))
    const rising = await backend.open(key(6, { edge: 'rising' }))
    const seen: Array<[string, Level]> = []
    both.watch((v) => seen.push(['both', v]))
    rising.watch((v) => seen.push(['rising', v]))
    sysfs.drive(BASE + 5, 0)
    sysfs.drive(BASE + 6, 0)
    await vi.advanceTimersByTimeAsync(0)
    sysfs.drive(BASE + 5, 1)
    sysfs.drive(BASE + 6, 1)
    await vi.advanceTimersByTimeAsync(0)
    sysfs.drive(BASE + 6, 0)
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([
      ['both', 1],
      ['rising', 1],
      ['both', 0],
      ['rising', 1],
    ])
  })

  it('polls when watch() is refused (EPERM)', async () => {
    const { sysfs, backend } = pi4({ edgeDelivery: 'eperm' })
    sysfs.drive(BASE + 5, 1)
    const line = await backend.open(key(5))
    const seen: Level[] = []
    line.watch((v) => seen.push(v))
    sysfs.drive(BASE + 5, 0)
    await vi.advanceTimersByTimeAsync(10)
    expect(seen).toEqual([1])
  })

  it('polls a line that has no edge file (a bank without interrupts)', async () => {
    const { sysfs, backend } = pi4({ noIrq: [5] })
    sysfs.drive(BASE + 5, 1)
    const line = await backend.open(key(5))
    expect(sysfs.exports).toEqual([517])
    const seen: Level[] = []
    line.watch((v) => seen.push(v))
    sysfs.drive(BASE + 5, 0)
    await vi.advanceTimersByTimeAsync(10)
    sysfs.drive(BASE + 5, 1)
    await vi.advanceTimersByTimeAsync(10)
    expect(seen).toEqual([1, 0])
  })

  it('finds edges the interrupts never delivered, and switches to polling after two', async () => {
    const { sysfs, backend } = pi4({ edgeDelivery: 'silent' })
    sysfs.drive(BASE + 5, 1)
    const line = await backend.open(key(5))
    const seen: Array<[Level, number]> = []
    const t0 = Date.now()
    line.watch((v) => seen.push([v, Date.now() - t0]))
    sysfs.drive(BASE + 5, 0)
    await vi.advanceTimersByTimeAsync(200)
    sysfs.drive(BASE + 5, 1)
    await vi.advanceTimersByTimeAsync(200)
    expect(seen).toEqual([
      [1, 200],
      [0, 400],
    ])
    sysfs.drive(BASE + 5, 0)
    await vi.advanceTimersByTimeAsync(10)
    expect(seen[2]).toEqual([1, 410])
  })

  it('runs a debounced key on top: one press from a bouncing contact', async () => {
    const { sysfs, backend } = pi4()
    sysfs.drive(BASE + 5, 1)
    const k = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health: new DeviceHealthTracker(), line: await backend.open(key(5)), now: () => Date.now(), reconcileMs: 0 })
    const presses: number[] = []
    k.on('press', (p) => presses.push(p.at))
    await k.start()
    for (const level of [0, 1, 0, 1, 0] as const) {
      sysfs.drive(BASE + 5, level)
      await vi.advanceTimersByTimeAsync(1)
    }
    await vi.advanceTimersByTimeAsync(100)
    expect(presses).toHaveLength(1)
    k.stop()
  })

  it('leaves an output inactive and unexported on close', async () => {
    const { sysfs, backend } = pi4()
    const relay = await backend.open(output(4, true))
    await relay.write(1)
    await relay.close()
    expect(sysfs.level(BASE + 4)).toBe(1)
    expect(sysfs.isExported(BASE + 4)).toBe(false)
    await expect(relay.write(1)).rejects.toMatchObject({ code: 'EBADF' })
    const again = await backend.open(output(4, true))
    await backend.stop()
    expect(sysfs.isExported(BASE + 4)).toBe(false)
    await expect(again.read()).rejects.toMatchObject({ code: 'EBADF' })
  })

  it('explains a line a kernel driver holds', async () => {
    const { backend } = pi4({ claimed: [BASE + 4] })
    await expect(backend.open(output(4, false))).rejects.toThrow(/line 'out-4' \(pinctrl-bcm2711:4 = sysfs gpio516\): .*in use by a kernel driver/)
  })

  it('names the chips it found when a profile has the wrong label', async () => {
    const { backend } = pi4()
    await expect(backend.open({ ...key(5), chip: 'pinctrl-rp1' })).rejects.toThrow(/no gpiochip labelled 'pinctrl-rp1'.*pinctrl-bcm2711/)
  })

  it('fails with what to do where the kernel has no /sys/class/gpio', async () => {
    const { sysfs } = pi4()
    rmSync(sysfs.root, { recursive: true })
    const backend = new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log })
    const err = await backend.open(key(5)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SysfsGpioUnavailableError)
    expect((err as Error).message).toMatch(/CONFIG_GPIO_SYSFS/)
  })

  it('will not point the real onoff at another root', () => {
    expect(() => new OnoffBackend({ sysfsRoot: '/tmp/gpio' })).toThrow(/onoff always works on \/sys\/class\/gpio/)
  })

  it('loads the real onoff as the default Gpio class (ESM named export of a CommonJS module)', async () => {
    const { Gpio } = await import('onoff')
    expect(typeof Gpio).toBe('function')
    expect(typeof Gpio.accessible).toBe('boolean')
  })
})

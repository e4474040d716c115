import { rmSync } from 'node:fs'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Level, LineSpec } from '../../edge/hardware/gpio-port.ts'
import { OnoffBackend } from '../../edge/hardware/onoff-backend.ts'
import { SysfsGpioUnavailableError } from '../../edge/hardware/sysfs-gpiochips.ts'
import { FakeSysfs, type EdgeDelivery } from '../support/fake-sysfs.ts'

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

// The device tests onoff shares with the chardev adapter are in gpio-adapters.test.ts;
// these are what only sysfs has: numbers, exported files, interrupts that may not come.
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

  it("would have clicked the relay with onoff's 'out' (the trap the adapter avoids)", () => {
    const { sysfs } = pi4()
    sysfs.drive(BASE + 4, 1)
    new sysfs.Gpio(BASE + 4, 'out', undefined, { activeLow: true })
    expect(sysfs.levels(BASE + 4)).toEqual([1, 0])
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

  it('fails with what to do where the kernel has no /sys/class/gpio', async () => {
    const { sysfs } = pi4()
    rmSync(sysfs.root, { recursive: true })
    const backend = new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log })
    const err = await backend.open(key(5)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SysfsGpioUnavailableError)
    expect((err as Error).message).toMatch(/CONFIG_GPIO_SYSFS/)
  })

  it('refuses a line that asks for kernel debounce, which sysfs cannot give', async () => {
    const { backend } = pi4()
    await expect(backend.open(key(5, { debounceUs: 5000 }))).rejects.toMatchObject({ code: 'EINVAL', message: /key-5.*debounce.*chardev/ })
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

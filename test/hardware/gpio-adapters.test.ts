/**
 * The device tests both Linux GPIO adapters must pass, each on its kernel
 * stand-in (test/support/gpio-rigs.ts): onoff over sysfs and the GPIO
 * character device. What only one of them can do is in onoff-backend.test.ts
 * and chardev-backend.test.ts.
 */
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import type { Level, LineSpec } from '../../edge/hardware/gpio-port.ts'
import { KeyInput } from '../../edge/hardware/keys.ts'
import { GPIO_RIGS, type GpioRig, type RigKind, type RigOptions } from '../support/gpio-rigs.ts'

const log = pino({ level: 'silent' })
const PI = 'pinctrl-bcm2711'
const key = (offset: number, extra: Partial<LineSpec> = {}): LineSpec => ({
  name: `key-${offset}`,
  chip: PI,
  offset,
  direction: 'in',
  activeLow: true,
  edge: 'both',
  ...extra,
})
const output = (offset: number, activeLow: boolean, extra: Partial<LineSpec> = {}): LineSpec => ({
  name: `out-${offset}`,
  chip: PI,
  offset,
  direction: 'out',
  activeLow,
  ...extra,
})

describe.each(GPIO_RIGS)('the $name adapter', (kind: RigKind) => {
  let rigs: GpioRig[] = []
  /** A Pi 4 on kernel 6.6+: pinctrl-bcm2711 at sysfs base 512, and the firmware's expander. */
  const pi4 = (opts: RigOptions = {}) => {
    const rig = kind.make(
      [
        { label: PI, base: 512, lines: 58 },
        { label: 'raspberrypi-exp-gpio', base: 570, lines: 8 },
      ],
      log,
      opts,
    )
    rigs.push(rig)
    return rig
  }
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
    for (const r of rigs) r.cleanup()
    rigs = []
  })

  it('reads an active-low key as pressed when its pin is pulled low', async () => {
    const rig = pi4()
    rig.drive(PI, 6, 1)
    const line = await rig.backend.open(key(6))
    expect(await line.read()).toBe(0)
    rig.drive(PI, 6, 0)
    expect(await line.read()).toBe(1)
  })

  it('starts an active-low relay released: the pin goes high and never low', async () => {
    const rig = pi4()
    rig.drive(PI, 4, 1) // GPIO4 boots pulled up
    const relay = await rig.backend.open(output(4, true))
    expect(rig.levels(PI, 4)).toEqual([1])
    await relay.write(1)
    expect(rig.level(PI, 4)).toBe(0)
    await relay.write(0)
    expect(rig.levels(PI, 4)).toEqual([1, 0, 1])
  })

  it('starts an active-high output low, and honours an initial active level', async () => {
    const rig = pi4()
    await rig.backend.open(output(17, false))
    expect(rig.levels(PI, 17)).toEqual([0])
    await rig.backend.open(output(22, false, { initial: 1 }))
    expect(rig.levels(PI, 22)).toEqual([1])
  })

  it('refuses to write an input', async () => {
    const rig = pi4()
    const line = await rig.backend.open(key(13))
    await expect(line.write(1)).rejects.toMatchObject({ code: 'EPERM', message: /key-13/ })
  })

  it('refuses a line opened twice under one name, and an offset outside the chip', async () => {
    const rig = pi4()
    await rig.backend.open(key(5))
    await expect(rig.backend.open(key(5))).rejects.toMatchObject({ code: 'EBUSY', message: /key-5/ })
    await expect(rig.backend.open(key(58))).rejects.toThrow(/offset 58 is outside .*'pinctrl-bcm2711', which has 58 lines/)
  })

  it('delivers edges, filtered by the edge asked for', async () => {
    const rig = pi4()
    rig.drive(PI, 5, 1)
    rig.drive(PI, 6, 1)
    const both = await rig.backend.open(key(5))
    const rising = await rig.backend.open(key(6, { edge: 'rising' }))
    const seen: Array<[string, Level]> = []
    both.watch((v) => seen.push(['both', v]))
    rising.watch((v) => seen.push(['rising', v]))
    rig.drive(PI, 5, 0)
    rig.drive(PI, 6, 0)
    await vi.advanceTimersByTimeAsync(0)
    rig.drive(PI, 5, 1)
    rig.drive(PI, 6, 1)
    await vi.advanceTimersByTimeAsync(0)
    rig.drive(PI, 6, 0)
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([
      ['both', 1],
      ['rising', 1],
      ['both', 0],
      ['rising', 1],
    ])
  })

  it('stops calling a watcher once it unwatches', async () => {
    const rig = pi4()
    rig.drive(PI, 5, 1)
    const line = await rig.backend.open(key(5))
    const seen: Level[] = []
    const unwatch = line.watch((v) => seen.push(v))
    rig.drive(PI, 5, 0)
    await vi.advanceTimersByTimeAsync(0)
    unwatch()
    rig.drive(PI, 5, 1)
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([1])
    expect(await line.read()).toBe(0)
  })

  it('runs a debounced key on top: one press from a bouncing contact', async () => {
    const rig = pi4()
    rig.drive(PI, 5, 1)
    const k = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health: new DeviceHealthTracker(), line: await rig.backend.open(key(5)), now: () => Date.now(), reconcileMs: 0 })
    const presses: number[] = []
    k.on('press', (p) => presses.push(p.at))
    await k.start()
    for (const level of [0, 1, 0, 1, 0] as const) {
      rig.drive(PI, 5, level)
      await vi.advanceTimersByTimeAsync(1)
    }
    await vi.advanceTimersByTimeAsync(100)
    expect(presses).toHaveLength(1)
    k.stop()
  })

  it('leaves an output inactive and released on close, and stop() closes the rest', async () => {
    const rig = pi4()
    const relay = await rig.backend.open(output(4, true))
    await relay.write(1)
    await relay.close()
    expect(rig.level(PI, 4)).toBe(1)
    expect(rig.held(PI, 4)).toBe(false)
    await expect(relay.write(1)).rejects.toMatchObject({ code: 'EBADF' })
    const again = await rig.backend.open(output(4, true))
    const lamp = await rig.backend.open(output(17, false))
    await lamp.write(1)
    await rig.backend.stop()
    expect([rig.held(PI, 4), rig.held(PI, 17), rig.level(PI, 17)]).toEqual([false, false, 0])
    await expect(again.read()).rejects.toMatchObject({ code: 'EBADF' })
  })

  it('explains a line a kernel driver holds', async () => {
    const rig = pi4({ claimed: [[PI, 4]] })
    await expect(rig.backend.open(output(4, false))).rejects.toThrow(/line 'out-4' \(pinctrl-bcm2711:4 = [^)]*\): .*in use by .*EBUSY/)
  })

  it('a line held by another program at start: the technician reads, in Chinese and then English, what is wrong and what to check', async () => {
    const rig = pi4({ claimed: [[PI, 4]] })
    const err = (await rig.backend.open(output(4, false)).catch((e: unknown) => e)) as Error
    // The board's start fails with this message (counter-edge edge prints it): the line, then 中文 / English, then the kernel's code.
    const [zh, en, ...more] = err.message.split(' / ')
    expect(more).toEqual([])
    expect(zh).toMatch(/^line 'out-4' \([^)]*\): .*已被.*占用：检查 config\.txt 的设备树覆盖层/)
    expect(en).toMatch(/in use by .* \(EBUSY: /)
  })

  it('names the chips it found when a profile has the wrong label', async () => {
    const rig = pi4()
    // A board given another board's profile: said in Chinese, then English.
    await expect(rig.backend.open({ ...key(5), chip: 'pinctrl-rp1' })).rejects.toThrow(/没有标签为 'pinctrl-rp1' 的 GPIO 芯片.*pinctrl-bcm2711.*板型可能与本板不符.* \/ .*no gpiochip labelled 'pinctrl-rp1'.*pinctrl-bcm2711/)
  })

  it("finds a BeagleBone bank by its parent device when the label names none ('gpio-32-63')", async () => {
    const rig = kind.make(
      [
        { label: 'gpio-0-31', device: '44e07000.gpio', base: 512, lines: 32 },
        { label: 'gpio-32-63', device: '4804c000.gpio', base: 544, lines: 32 },
      ],
      log,
    )
    rigs.push(rig)
    rig.drive('4804c000.gpio', 28, 1)
    const line = await rig.backend.open({ ...key(28), chip: '4804c000.gpio' })
    expect(await line.read()).toBe(0)
    const lamp = await rig.backend.open(output(17, false, { chip: '4804c000.gpio', initial: 1 }))
    expect(rig.level('gpio-32-63', 17)).toBe(1)
    await lamp.close()
  })
})

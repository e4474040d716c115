/**
 * What the chardev adapter does that sysfs cannot: bias, kernel debounce,
 * timestamped edges, lines the kernel releases when the process dies. Run on
 * the kernel model in test/support/fake-gpio-cdev.ts (this machine has no
 * gpio-sim); the device tests it shares with onoff are in
 * gpio-adapters.test.ts.
 */
import { execFile } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ChardevBackend } from '../../edge/hardware/chardev-backend.ts'
import { GpioCdevUnavailableError } from '../../edge/hardware/gpio-cdev-sys.ts'
import type { EdgeStamp, Level, LineSpec } from '../../edge/hardware/gpio-port.ts'
import * as uapi from '../../edge/hardware/gpio-uapi.ts'
import { FakeGpioCdev } from '../support/fake-gpio-cdev.ts'

const log = pino({ level: 'silent' })
/** An Orange Pi Zero 2: one controller for every bank, offset = bank * 32 + pin. */
const H616 = '300b000.pinctrl'
const key = (offset: number, extra: Partial<LineSpec> = {}): LineSpec => ({
  name: `key-${offset}`,
  chip: H616,
  offset,
  direction: 'in',
  activeLow: true,
  edge: 'both',
  ...extra,
})

function orangePi() {
  const kernel = new FakeGpioCdev([
    { label: H616, device: '300b000.pinctrl', lines: 288, claimed: { 234: 'spi1 CS0' } },
    { label: '7022000.pinctrl', device: '7022000.pinctrl', lines: 32 },
  ])
  return { kernel, backend: new ChardevBackend({ sys: kernel, log }) }
}

describe('the chardev adapter, beyond what sysfs can do', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("requests the profile's pull-up: a key with nothing on the board reads released, where sysfs read it pressed", async () => {
    const { kernel, backend } = orangePi()
    const pulled = await backend.open(key(69, { bias: 'pull-up' }))
    const floating = await backend.open(key(72))
    expect([await pulled.read(), kernel.level(0, 69)]).toEqual([0, 1])
    // No bias asked, no resistor fitted: the pin floats low and the active-low key reads held.
    expect(await floating.read()).toBe(1)
    kernel.drive(0, 69, 0) // the contact closes to ground
    expect(await pulled.read()).toBe(1)
    kernel.release(0, 69) // and opens again: the pull-up brings it back
    expect(await pulled.read()).toBe(0)
    expect(kernel.flags(0, 69)! & uapi.LINE_FLAG.BIAS_PULL_UP).toBe(uapi.LINE_FLAG.BIAS_PULL_UP)
  })

  it('asks for pull-down and for no bias as the profile says', async () => {
    const { kernel, backend } = orangePi()
    await backend.open(key(70, { bias: 'pull-down', activeLow: false }))
    await backend.open(key(71, { bias: 'none' }))
    expect(kernel.level(0, 70)).toBe(0)
    expect(kernel.flags(0, 70)! & (uapi.LINE_FLAG.BIAS_PULL_DOWN | uapi.LINE_FLAG.BIAS_PULL_UP)).toBe(uapi.LINE_FLAG.BIAS_PULL_DOWN)
    expect(kernel.flags(0, 71)! & uapi.LINE_FLAG.BIAS_DISABLED).toBe(uapi.LINE_FLAG.BIAS_DISABLED)
  })

  it('gives each edge with the time the kernel saw it', async () => {
    const { kernel, backend } = orangePi()
    const line = await backend.open(key(69, { bias: 'pull-up' }))
    const seen: Array<[Level, EdgeStamp | undefined]> = []
    line.watch((v, stamp) => seen.push([v, stamp]))
    const t0 = BigInt(Date.now())
    kernel.drive(0, 69, 0)
    await vi.advanceTimersByTimeAsync(7)
    kernel.drive(0, 69, 1)
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([
      [1, { kernelNs: t0 * 1_000_000n }],
      [0, { kernelNs: (t0 + 7n) * 1_000_000n }],
    ])
  })

  it('lets the kernel debounce a contact: one edge per settled change, the bounces never reach us', async () => {
    const { kernel, backend } = orangePi()
    const line = await backend.open(key(69, { bias: 'pull-up', debounceUs: 5000 }))
    expect(kernel.debounceUs(0, 69)).toBe(5000)
    const seen: Level[] = []
    line.watch((v) => seen.push(v))
    for (const level of [0, 1, 0, 1, 0] as const) {
      kernel.drive(0, 69, level)
      await vi.advanceTimersByTimeAsync(1)
    }
    expect(seen).toEqual([])
    await vi.advanceTimersByTimeAsync(5)
    expect(seen).toEqual([1])
    kernel.drive(0, 69, 1)
    await vi.advanceTimersByTimeAsync(2)
    kernel.drive(0, 69, 0) // a bounce on release that settles where it was: no edge
    await vi.advanceTimersByTimeAsync(10)
    expect(seen).toEqual([1])
  })

  it('refuses debounce on an output before asking the kernel', async () => {
    const { backend } = orangePi()
    await expect(backend.open({ name: 'lamp', chip: H616, offset: 74, direction: 'out', debounceUs: 1000 })).rejects.toMatchObject({ code: 'EINVAL', message: /lamp.*only inputs/ })
  })

  it('stays right when the kernel dropped events (a full buffer), and a gap in sequence numbers is read again', async () => {
    const { kernel, backend } = orangePi()
    const line = await backend.open(key(69, { bias: 'pull-up' }))
    const seen: Level[] = []
    line.watch((v) => seen.push(v))
    // 41 edges before the process gets to read: the kernel's buffer of 16 keeps the newest.
    for (let i = 0; i < 41; i++) kernel.drive(0, 69, i % 2 === 0 ? 0 : 1)
    await vi.advanceTimersByTimeAsync(0)
    expect(kernel.overflows).toBeGreaterThan(0)
    expect(await line.read()).toBe(1)
    expect(seen.at(-1)).toBe(1)
    kernel.release(0, 69)
    await vi.advanceTimersByTimeAsync(0)
    expect(seen.at(-1)).toBe(0)
  })

  it('holds each line by a file descriptor the kernel releases when the process dies, however it dies', async () => {
    const { kernel, backend } = orangePi()
    const relay = await backend.open({ name: 'nvr-relay', chip: H616, offset: 232, direction: 'out' })
    await backend.open(key(69, { bias: 'pull-up' }))
    await relay.write(1)
    expect(kernel.holder(0, 232)).toBe('counter-edge:nvr-relay')
    const other = new ChardevBackend({ sys: kernel, log })
    await expect(other.open({ name: 'nvr-relay', chip: H616, offset: 232, direction: 'out' })).rejects.toThrow(
      /line 'nvr-relay' .*in use by 'counter-edge:nvr-relay'.*EBUSY/,
    )
    kernel.processDies() // kill -9, a watchdog kill, an OOM kill: no stop() ran
    expect([kernel.holder(0, 232), kernel.holder(0, 69), kernel.openFds()]).toEqual([undefined, undefined, 0])
    // Nothing is left exported to get in the way of the next run.
    const next = await other.open({ name: 'nvr-relay', chip: H616, offset: 232, direction: 'out' })
    expect(kernel.level(0, 232)).toBe(0)
    await next.close()
  })

  it('leaves no file descriptor open: chips are closed after each request, lines on close', async () => {
    const { kernel, backend } = orangePi()
    await backend.open(key(69))
    await backend.open({ name: 'lamp', chip: H616, offset: 74, direction: 'out' })
    expect(kernel.openFds()).toBe(2)
    await backend.stop()
    expect(kernel.openFds()).toBe(0)
  })

  it('names the kernel driver holding a line', async () => {
    const { backend } = orangePi()
    await expect(backend.open({ name: 'status-lamp', chip: H616, offset: 234, direction: 'out' })).rejects.toThrow(/status-lamp.*\/dev\/gpiochip0 line 234.*in use by 'spi1 CS0'/)
  })

  it('says what to do on a kernel without GPIO character devices', async () => {
    const backend = new ChardevBackend({ sys: new FakeGpioCdev([]), log })
    const err = await backend.open(key(69)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GpioCdevUnavailableError)
    expect((err as Error).message).toMatch(/no \/dev\/gpiochip\*.*CONFIG_GPIO_CDEV.*gpio\.backend 'sysfs'/)
  })

  it('sends the kernel the bytes of uAPI v2: the request as decoded by the kernel side', () => {
    const buf = uapi.encodeLineRequest({
      offsets: [232],
      consumer: 'counter-edge:nvr-relay',
      config: { flags: uapi.LINE_FLAG.OUTPUT | uapi.LINE_FLAG.ACTIVE_LOW, attrs: [{ id: uapi.LINE_ATTR_ID.OUTPUT_VALUES, value: 0n, mask: 1n }] },
      eventBufferSize: 0,
    })
    expect(buf.length).toBe(592)
    expect(buf.readUInt32LE(0)).toBe(232)
    expect(buf.subarray(256, 256 + 22).toString()).toBe('counter-edge:nvr-relay')
    expect(buf.readBigUInt64LE(288)).toBe(uapi.LINE_FLAG.OUTPUT | uapi.LINE_FLAG.ACTIVE_LOW)
    expect([buf.readUInt32LE(296), buf.readUInt32LE(320), buf.readBigUInt64LE(336)]).toEqual([1, uapi.LINE_ATTR_ID.OUTPUT_VALUES, 1n])
    expect(buf.readUInt32LE(560)).toBe(1)
    expect(uapi.decodeLineRequest(buf)).toMatchObject({ offsets: [232], consumer: 'counter-edge:nvr-relay', fd: -1 })
  })
})

describe('the uAPI v2 layout and the ioctl addon on this machine', () => {
  it("matches the kernel's <linux/gpio.h>: struct sizes, offsets and request codes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpio-uapi-'))
    writeFileSync(
      join(dir, 'sizes.c'),
      `#include <stdio.h>
#include <stddef.h>
#include <linux/gpio.h>
int main(void) {
  printf("%zu %zu %zu %zu %zu %zu\\n", sizeof(struct gpiochip_info), sizeof(struct gpio_v2_line_info), sizeof(struct gpio_v2_line_request),
    sizeof(struct gpio_v2_line_config), sizeof(struct gpio_v2_line_values), sizeof(struct gpio_v2_line_event));
  printf("%zu %zu %zu %zu\\n", offsetof(struct gpio_v2_line_request, config), offsetof(struct gpio_v2_line_request, num_lines),
    offsetof(struct gpio_v2_line_request, fd), offsetof(struct gpio_v2_line_info, flags));
  printf("%lu %lu %lu %lu %lu\\n", (unsigned long)GPIO_GET_CHIPINFO_IOCTL, (unsigned long)GPIO_V2_GET_LINEINFO_IOCTL,
    (unsigned long)GPIO_V2_GET_LINE_IOCTL, (unsigned long)GPIO_V2_LINE_GET_VALUES_IOCTL, (unsigned long)GPIO_V2_LINE_SET_VALUES_IOCTL);
  printf("%d %d %d %d\\n", GPIO_V2_LINE_FLAG_BIAS_PULL_UP, GPIO_V2_LINE_FLAG_EDGE_FALLING, GPIO_V2_LINE_ATTR_ID_DEBOUNCE, GPIO_V2_LINE_EVENT_FALLING_EDGE);
  return 0;
}
`,
    )
    const run = promisify(execFile)
    await run('cc', ['-o', join(dir, 'sizes'), join(dir, 'sizes.c')])
    const { stdout } = await run(join(dir, 'sizes'))
    expect(stdout.trim().split('\n')).toEqual([
      [uapi.CHIP_INFO_SIZE, uapi.LINE_INFO_SIZE, uapi.LINE_REQUEST_SIZE, uapi.LINE_CONFIG_SIZE, uapi.LINE_VALUES_SIZE, uapi.LINE_EVENT_SIZE].join(' '),
      '288 560 588 72',
      [uapi.GPIO_GET_CHIPINFO_IOCTL, uapi.GPIO_V2_GET_LINEINFO_IOCTL, uapi.GPIO_V2_GET_LINE_IOCTL, uapi.GPIO_V2_LINE_GET_VALUES_IOCTL, uapi.GPIO_V2_LINE_SET_VALUES_IOCTL].join(' '),
      [uapi.LINE_FLAG.BIAS_PULL_UP, uapi.LINE_FLAG.EDGE_FALLING, uapi.LINE_ATTR_ID.DEBOUNCE, uapi.LINE_EVENT_ID.FALLING_EDGE].join(' '),
    ])
  }, 60_000)

  it('the addon npm install builds passes ioctl through and throws the errno by its code', () => {
    // The package npm install links as @counter-edge/gpio-ioctl and compiles in place (packages/gpio-ioctl/build).
    const require = createRequire(import.meta.url)
    const addon = require('../../packages/gpio-ioctl/index.cjs') as { ioctl(fd: number, req: number, arg: Buffer): number }
    const fd = openSync('/dev/null', 'r')
    try {
      // A kernel: /dev/null takes no GPIO ioctl (ENOTTY). Under qemu-user (.ci/arm runs this suite there) the
      // emulator answers an ioctl it cannot translate with ENOSYS; either way the errno comes by its own name.
      expect(() => addon.ioctl(fd, uapi.GPIO_GET_CHIPINFO_IOCTL, Buffer.alloc(uapi.CHIP_INFO_SIZE))).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(ENOTTY|ENOSYS)$/) }))
      expect(() => addon.ioctl(fd, uapi.GPIO_GET_CHIPINFO_IOCTL, Buffer.alloc(8))).toThrow(/smaller than the struct/)
    } finally {
      closeSync(fd)
    }
  })
})

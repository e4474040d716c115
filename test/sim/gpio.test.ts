import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Level } from '../../edge/hardware/gpio-port.ts'
import { SimGpio } from '../../sim/gpio.ts'

function board() {
  return new SimGpio({
    lines: [
      { name: 'key', chip: 'sim', offset: 5, activeLow: true, direction: 'in' },
      { name: 'lamp', chip: 'sim', offset: 19, direction: 'out' },
      { name: 'relay', chip: 'sim', offset: 4, activeLow: true, direction: 'out' },
    ],
  })
}

const keySpec = { name: 'key', chip: 'sim', offset: 5, direction: 'in', activeLow: true, edge: 'both' } as const

describe('SimGpio', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('refuses unknown, busy and misdeclared lines, naming the line', async () => {
    const gpio = board()
    await expect(gpio.open({ name: 'nope', offset: 1, direction: 'in' })).rejects.toThrow(/'nope'/)
    await expect(gpio.open({ ...keySpec, offset: 6 })).rejects.toThrow(/'key'.*offset 6/)
    await expect(gpio.open({ ...keySpec, chip: 'pinctrl-bcm2711' })).rejects.toThrow(/'key'.*pinctrl-bcm2711/)
    await expect(gpio.open({ ...keySpec, direction: 'out' })).rejects.toThrow(/'key' is wired as an input/)
    const line = await gpio.open(keySpec)
    await expect(gpio.open(keySpec)).rejects.toMatchObject({ code: 'EBUSY' })
    await line.close()
    await gpio.open(keySpec)
  })

  it('refuses writes to an input like onoff (EPERM), naming the line', async () => {
    const gpio = board()
    const line = await gpio.open(keySpec)
    await expect(line.write(1)).rejects.toMatchObject({ code: 'EPERM', message: expect.stringContaining("'key'") })
  })

  it('shows the port logical levels and the simulator electrical ones', async () => {
    const gpio = board()
    const key = await gpio.open(keySpec)
    expect(gpio.level('key')).toBe(1) // pulled up, released
    expect(await key.read()).toBe(0)
    gpio.setActive('key', true)
    expect(gpio.level('key')).toBe(0)
    expect(await key.read()).toBe(1)

    const relay = await gpio.open({ name: 'relay', chip: 'sim', offset: 4, direction: 'out', activeLow: true })
    expect(gpio.level('relay')).toBe(1) // starts inactive: an active-low relay board is released
    await relay.write(1)
    expect(gpio.level('relay')).toBe(0)
    expect(gpio.isActive('relay')).toBe(true)
  })

  it('inverts the logic when the runtime gets the wiring wrong, as a board would', async () => {
    const gpio = board()
    const key = await gpio.open({ ...keySpec, activeLow: false })
    expect(await key.read()).toBe(1) // reads "pressed" at rest
  })

  it('returns an output to rest when its line is closed', async () => {
    const gpio = board()
    const lamp = await gpio.open({ name: 'lamp', chip: 'sim', offset: 19, direction: 'out', initial: 1 })
    expect(gpio.isActive('lamp')).toBe(true)
    await lamp.close()
    expect(gpio.isActive('lamp')).toBe(false)
    await expect(lamp.write(1)).rejects.toMatchObject({ code: 'EBADF' })
  })

  it('presses a key with bounce on fake timers, recording every edge', async () => {
    const gpio = board()
    const key = await gpio.open(keySpec)
    const seen: Array<[Level, number]> = []
    key.watch((v) => seen.push([v, Date.now()]))
    const t0 = Date.now()
    const done = gpio.press('key', { holdMs: 100, bounce: [1, 2, 3] })
    await vi.advanceTimersByTimeAsync(100)
    await done
    expect(seen.map(([v, t]) => [v, t - t0])).toEqual([
      [1, 0],
      [0, 1],
      [1, 2],
      [0, 3],
      [1, 4],
      [0, 100],
    ])
    expect(gpio.history('key').map((c) => c.active)).toEqual([true, false, true, false, true, false])
  })

  it('delivers only the edges the line was opened for', async () => {
    const gpio = board()
    const key = await gpio.open({ ...keySpec, edge: 'rising' })
    const seen: Level[] = []
    key.watch((v) => seen.push(v))
    const done = gpio.press('key', { holdMs: 50 })
    await vi.advanceTimersByTimeAsync(50)
    await done
    expect(seen).toEqual([1])
  })

  it('refuses to watch an output or a line opened without edges', async () => {
    const gpio = board()
    const lamp = await gpio.open({ name: 'lamp', chip: 'sim', offset: 19, direction: 'out' })
    expect(() => lamp.watch(() => undefined)).toThrow(/'lamp'/)
    const key = await gpio.open({ ...keySpec, edge: 'none' })
    expect(() => key.watch(() => undefined)).toThrow(/'key'/)
  })

  it('emits change events for outputs, and refuses to drive them from the simulator', async () => {
    const gpio = board()
    const changes: string[] = []
    gpio.on('change', (c) => changes.push(`${c.name}:${c.level}:${c.active}`))
    const lamp = await gpio.open({ name: 'lamp', chip: 'sim', offset: 19, direction: 'out' })
    await lamp.write(1)
    await lamp.write(1)
    await lamp.write(0)
    expect(changes).toEqual(['lamp:1:true', 'lamp:0:false'])
    expect(() => gpio.setInput('lamp', 1)).toThrow(/'lamp' is an output/)
    await expect(gpio.press('lamp')).rejects.toThrow(/'lamp'/)
  })

  it('closes every open line on stop', async () => {
    const gpio = board()
    await gpio.open(keySpec)
    await gpio.open({ name: 'lamp', chip: 'sim', offset: 19, direction: 'out', initial: 1 })
    await gpio.stop()
    expect(gpio.isOpen('key')).toBe(false)
    expect(gpio.isActive('lamp')).toBe(false)
  })

  it('makes the writes to an output fail (EIO) until healed, leaving the pin where it was', async () => {
    const gpio = board()
    const relay = await gpio.open({ name: 'relay', chip: 'sim', offset: 4, direction: 'out', activeLow: true })
    await relay.write(1)
    gpio.failWrites('relay')
    await expect(relay.write(0)).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining("'relay'") })
    expect(gpio.isActive('relay')).toBe(true)
    expect(gpio.history('relay')).toHaveLength(1)
    gpio.failWrites('relay', null)
    await relay.write(0)
    expect(gpio.isActive('relay')).toBe(false)
  })
})

describe('SimGpio as either Linux GPIO interface (the profile gpio.backend)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  const lines = [{ name: 'key', chip: 'sim', offset: 5, activeLow: true, direction: 'in' as const }]

  it('as the character device: debounces in the "kernel" when asked and stamps each edge', async () => {
    const gpio = new SimGpio({ lines, backend: 'chardev' })
    const line = await gpio.open({ ...keySpec, debounceUs: 5000 })
    const seen: Array<[Level, bigint | undefined]> = []
    line.watch((v, stamp) => seen.push([v, stamp?.kernelNs]))
    const t0 = Date.now()
    const pressed = gpio.press('key', { holdMs: 40, bounce: [1, 2, 3] })
    await vi.advanceTimersByTimeAsync(60)
    await pressed
    // One edge each way, each stamped when the contact had been still for 5 ms.
    expect(seen).toEqual([
      [1, BigInt((t0 + 4 + 5) * 1e6)],
      [0, BigInt((t0 + 40 + 5) * 1e6)],
    ])
  })

  it('as sysfs: every edge, no stamp, and kernel debounce refused as onoff refuses it', async () => {
    const gpio = new SimGpio({ lines })
    await expect(gpio.open({ ...keySpec, debounceUs: 5000 })).rejects.toMatchObject({ code: 'EINVAL', message: /'key'.*debounce/ })
    const line = await gpio.open(keySpec)
    const seen: Array<[Level, unknown]> = []
    line.watch((v, stamp) => seen.push([v, stamp]))
    const pressed = gpio.press('key', { holdMs: 40, bounce: [1, 2, 3] })
    await vi.advanceTimersByTimeAsync(60)
    await pressed
    expect(seen).toEqual([
      [1, undefined],
      [0, undefined],
      [1, undefined],
      [0, undefined],
      [1, undefined],
      [0, undefined],
    ])
  })
})

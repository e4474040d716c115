import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LineSpec } from '../../edge/hardware/gpio-port.ts'
import { KeyInput } from '../../edge/hardware/keys.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { SimGpio } from '../../sim/gpio.ts'

const SPEC: LineSpec = { name: 'satisfied', chip: 'sim', offset: 5, direction: 'in', activeLow: true, edge: 'both' }

async function rig(opts: { spec?: Partial<LineSpec>; downAtStart?: boolean } = {}) {
  const gpio = new SimGpio({ lines: [{ name: 'satisfied', chip: 'sim', offset: 5, activeLow: true, direction: 'in' }] })
  if (opts.downAtStart) gpio.setActive('satisfied', true)
  const line = await gpio.open({ ...SPEC, ...opts.spec })
  const health = new DeviceHealthTracker()
  const key = new KeyInput({ key: 'satisfied', device: 'key-satisfied', health, line, now: () => Date.now() })
  const events: string[] = []
  const t0 = Date.now()
  key.on('press', (e) => events.push(`press@${e.at - t0}`))
  key.on('release', (e) => events.push(`release@${e.at - t0}+${e.heldMs}`))
  // What the window would be told: a fault by code, or ok (null) once the key works again.
  health.attach({ deviceHealth: (device, f) => events.push(`${device === 'key-satisfied' ? '' : `${device}:`}${f ? `fault:${f.code}` : 'ok'}@${Date.now() - t0}`) })
  await key.start()
  return { gpio, key, events, health }
}

async function press(gpio: SimGpio, opts: Parameters<SimGpio['press']>[1] = {}) {
  const done = gpio.press('satisfied', opts)
  await vi.advanceTimersByTimeAsync((opts.holdMs ?? 80) + 50)
  await done
}

describe('KeyInput', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('counts a bouncing press once, on its leading edge', async () => {
    const { gpio, key, events } = await rig()
    await press(gpio, { holdMs: 120, bounce: [1, 2, 4, 7], releaseBounce: [1, 3] })
    expect(events).toEqual(['press@0', 'release@120+120'])
    key.stop()
  })

  it('does not lose a tap shorter than the lockout', async () => {
    const { gpio, key, events } = await rig()
    await press(gpio, { holdMs: 15 })
    expect(events).toEqual(['press@0', 'release@40+40'])
    key.stop()
  })

  it('counts two deliberate presses as two', async () => {
    const { gpio, key, events } = await rig()
    await press(gpio, { holdMs: 80, bounce: [1, 2] })
    await vi.advanceTimersByTimeAsync(200)
    await press(gpio, { holdMs: 80, bounce: [1, 2] })
    expect(events.filter((e) => e.startsWith('press'))).toHaveLength(2)
    key.stop()
  })

  it('ignores a key that is down at start until it has been released once', async () => {
    const { gpio, key, events } = await rig({ downAtStart: true })
    expect(key.isDown).toBe(true)
    await vi.advanceTimersByTimeAsync(500)
    gpio.setActive('satisfied', false)
    await vi.advanceTimersByTimeAsync(100)
    expect(events).toEqual([])
    await press(gpio)
    expect(events).toEqual(['press@600', 'release@680+80'])
    key.stop()
  })

  it('raises stuck after 15 s held, mutes the key, and clears on release without a press', async () => {
    const { gpio, key, events } = await rig()
    gpio.setActive('satisfied', true)
    await vi.advanceTimersByTimeAsync(15_000)
    expect(events).toEqual(['press@0', 'fault:stuck@15000'])
    expect(key.faults).toEqual(['stuck'])
    gpio.setActive('satisfied', false)
    await vi.advanceTimersByTimeAsync(100)
    expect(events.slice(2)).toEqual(['ok@15000', 'release@15000+15000'])
    expect(events.filter((e) => e.startsWith('press'))).toHaveLength(1)
    expect(key.faults).toEqual([])
    await press(gpio)
    expect(events.at(-2)).toBe('press@15100')
    key.stop()
  })

  it('raises stuck for a key held since start, and the release only clears it', async () => {
    const { gpio, key, events, health } = await rig({ downAtStart: true })
    expect(health.snapshot()).toEqual({ 'key-satisfied': 'ok' })
    await vi.advanceTimersByTimeAsync(15_000)
    expect(events).toEqual(['fault:stuck@15000'])
    expect(health.snapshot()).toEqual({ 'key-satisfied': 'fault' })
    gpio.setActive('satisfied', false)
    await vi.advanceTimersByTimeAsync(10)
    expect(events).toEqual(['fault:stuck@15000', 'ok@15000'])
    expect(health.snapshot()).toEqual({ 'key-satisfied': 'ok' })
    key.stop()
  })

  it('raises chatter on a floating input, mutes it, and clears once it is quiet', async () => {
    const { gpio, key, events } = await rig()
    let active = false
    for (let t = 0; t < 500; t += 10) {
      active = !active
      gpio.setActive('satisfied', active)
      await vi.advanceTimersByTimeAsync(10)
    }
    gpio.setActive('satisfied', false)
    const faultAt = events.findIndex((e) => e.startsWith('fault:chatter'))
    expect(faultAt).toBeGreaterThan(-1)
    // The presses let through before the burst was recognised are a handful, then nothing.
    expect(events.slice(faultAt + 1)).toEqual([])
    expect(key.faults).toEqual(['chatter'])
    await vi.advanceTimersByTimeAsync(2_000)
    expect(events.at(-1)).toMatch(/^ok@/)
    await press(gpio)
    expect(events.at(-2)).toMatch(/^press@/)
    key.stop()
  })

  it('finds a press whose edge interrupt was lost by re-reading the line', async () => {
    // Opened for falling edges only, so the press edge never arrives.
    const { gpio, key, events } = await rig({ spec: { edge: 'falling' } })
    gpio.setActive('satisfied', true)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(events).toEqual(['press@1000'])
    key.stop()
  })

  it('stops listening on stop()', async () => {
    const { gpio, key, events } = await rig()
    key.stop()
    await press(gpio)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(events).toEqual([])
  })
})

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Lamp, PulseOutput } from '../../edge/hardware/output.ts'
import { SimGpio } from '../../sim/gpio.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'

async function rig() {
  const gpio = new SimGpio({
    lines: [
      { name: 'nvr-relay', chip: 'sim', offset: 4, activeLow: true, direction: 'out' },
      { name: 'status-lamp', chip: 'sim', offset: 26, direction: 'out' },
    ],
  })
  const relayLine = await gpio.open({ name: 'nvr-relay', chip: 'sim', offset: 4, direction: 'out', activeLow: true })
  const lampLine = await gpio.open({ name: 'status-lamp', chip: 'sim', offset: 26, direction: 'out' })
  const health = new DeviceHealthTracker()
  const told: string[] = []
  health.attach({ deviceHealth: (device, f) => told.push(`${device}:${f?.code ?? 'ok'}`) })
  return { gpio, relay: new PulseOutput({ line: relayLine }), lamp: new Lamp({ line: lampLine, device: 'status-lamp', health }), told }
}

describe('PulseOutput', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('holds an active-low relay closed for the pulse, then releases it', async () => {
    const { gpio, relay } = await rig()
    const t0 = Date.now()
    const done = relay.pulse(1_000)
    await vi.advanceTimersByTimeAsync(999)
    expect(gpio.isActive('nvr-relay')).toBe(true)
    expect(gpio.level('nvr-relay')).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    await done
    expect(gpio.history('nvr-relay').map((c) => [c.active, c.at - t0])).toEqual([
      [true, 0],
      [false, 1_000],
    ])
  })

  it('extends a running pulse instead of cutting it short', async () => {
    const { gpio, relay } = await rig()
    const t0 = Date.now()
    const first = relay.pulse(1_000)
    await vi.advanceTimersByTimeAsync(600)
    const second = relay.pulse(1_000)
    await vi.advanceTimersByTimeAsync(1_000)
    await Promise.all([first, second])
    expect(gpio.history('nvr-relay').map((c) => [c.active, c.at - t0])).toEqual([
      [true, 0],
      [false, 1_600],
    ])
  })

  it('releases at once on stop', async () => {
    const { gpio, relay } = await rig()
    const done = relay.pulse(5_000)
    await vi.advanceTimersByTimeAsync(10)
    await relay.stop()
    await done
    expect(gpio.isActive('nvr-relay')).toBe(false)
    expect(relay.active).toBe(false)
  })

  it('rejects a pulse of no length', async () => {
    const { relay } = await rig()
    await expect(relay.pulse(0)).rejects.toThrow(RangeError)
  })
})

describe('Lamp', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('turns on and off', async () => {
    const { gpio, lamp } = await rig()
    await lamp.on()
    expect(gpio.isActive('status-lamp')).toBe(true)
    expect(lamp.mode).toBe('on')
    await lamp.off()
    expect(gpio.isActive('status-lamp')).toBe(false)
  })

  it('blinks with the given phases until told otherwise', async () => {
    const { gpio, lamp } = await rig()
    const t0 = Date.now()
    await lamp.blink({ onMs: 200, offMs: 300 })
    await vi.advanceTimersByTimeAsync(1_000)
    await lamp.on()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(gpio.history('status-lamp').map((c) => [c.active, c.at - t0])).toEqual([
      [true, 0],
      [false, 200],
      [true, 500],
      [false, 700],
      [true, 1_000],
    ])
    expect(gpio.isActive('status-lamp')).toBe(true)
    await lamp.stop()
    expect(gpio.isActive('status-lamp')).toBe(false)
  })

  it('a write that fails is fault io, while blinking too; the next good write clears it', async () => {
    const { gpio, lamp, told } = await rig()
    await lamp.on()
    expect(told).toEqual([])
    gpio.failWrites('status-lamp')
    await expect(lamp.off()).rejects.toThrow(/EIO/)
    expect(gpio.isActive('status-lamp')).toBe(true)
    expect(told).toEqual(['status-lamp:io'])
    await lamp.blink({ onMs: 100, offMs: 100 })
    await vi.advanceTimersByTimeAsync(250)
    expect(told).toEqual(['status-lamp:io'])
    gpio.failWrites('status-lamp', null)
    await vi.advanceTimersByTimeAsync(100)
    expect(told).toEqual(['status-lamp:io', 'status-lamp:ok'])
    await lamp.stop()
    expect(gpio.isActive('status-lamp')).toBe(false)
  })
})

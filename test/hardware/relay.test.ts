import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PulseOutput } from '../../edge/hardware/output.ts'
import { Relay } from '../../edge/hardware/relay.ts'
import { SimGpio } from '../../sim/gpio.ts'
import { NvrSampler, RelayModel } from '../../sim/relay-model.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'

/** An active-low relay board on the NVR's alarm input, sampled every 500 ms. */
async function rig(opts: { minHoldMs?: number; minGapMs?: number } = {}) {
  const gpio = new SimGpio({ lines: [{ name: 'nvr-relay', chip: 'sim', offset: 4, activeLow: true, direction: 'out' }] })
  const model = new RelayModel({ gpio, line: 'nvr-relay' })
  const line = await gpio.open({ name: 'nvr-relay', chip: 'sim', offset: 4, direction: 'out', activeLow: true, initial: 0 })
  const health = new DeviceHealthTracker()
  const told: string[] = []
  health.attach({ deviceHealth: (device, f) => told.push(`${device}:${f?.code ?? 'ok'}`) })
  const relay = new Relay({
    line,
    device: 'nvr-relay',
    health,
    minHoldMs: opts.minHoldMs ?? 1_000,
    ...(opts.minGapMs !== undefined ? { minGapMs: opts.minGapMs } : {}),
  })
  const nvr = new NvrSampler({ relay: model, periodMs: 500, phaseMs: 300 })
  nvr.start()
  const t0 = Date.now()
  const closures = () => model.closures().map((c) => [c.from - t0, c.to === undefined ? undefined : c.to - t0])
  return { gpio, model, line, relay, nvr, t0, closures, told }
}

describe('Relay with a minimum hold, seen by a sampling NVR', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('starts released: an active-low board is held high and the contact never moved', async () => {
    const { gpio, model } = await rig()
    expect(gpio.level('nvr-relay')).toBe(1)
    expect(model.closed).toBe(false)
    expect(model.changes()).toEqual([])
  })

  it('stretches a 50 ms alarm to the hold time, so the NVR records it', async () => {
    const { relay, nvr, closures } = await rig()
    const done = relay.pulse(50)
    await vi.advanceTimersByTimeAsync(1_000)
    await done
    expect(closures()).toEqual([[0, 1_000]])
    await vi.advanceTimersByTimeAsync(2_000)
    expect(nvr.alarms()).toHaveLength(1)
  })

  it('a plain 50 ms pulse falls between two samples and the NVR never sees it', async () => {
    const { line, model, nvr, t0 } = await rig()
    const plain = new PulseOutput({ line })
    await vi.advanceTimersByTimeAsync(400) // samples at 300, 800, …
    const pulsed = plain.pulse(50)
    await vi.advanceTimersByTimeAsync(2_000)
    await pulsed
    expect(model.closures().map((c) => [c.from - t0, (c.to ?? 0) - t0])).toEqual([[400, 450]])
    expect(nvr.alarms()).toEqual([])
  })

  it('keeps a long pulse as long as asked, and extends a closure instead of cutting it', async () => {
    const { relay, closures } = await rig()
    const first = relay.pulse(3_000)
    await vi.advanceTimersByTimeAsync(2_500)
    const second = relay.pulse(1_000)
    await vi.advanceTimersByTimeAsync(1_000)
    await Promise.all([first, second])
    expect(closures()).toEqual([[0, 3_500]])
  })

  it('keeps two alarms in a row apart by the gap, so the NVR counts two', async () => {
    const { relay, nvr, closures } = await rig()
    void relay.pulse(50)
    await vi.advanceTimersByTimeAsync(1_100)
    const second = relay.pulse(50)
    await vi.advanceTimersByTimeAsync(3_000)
    await second
    expect(closures()).toEqual([
      [0, 1_000],
      [2_000, 3_000],
    ])
    expect(nvr.alarms()).toHaveLength(2)
  })

  it('close() holds until open(), and open() waits out the minimum hold', async () => {
    const { relay, closures } = await rig()
    await relay.close()
    expect(relay.closed).toBe(true)
    await vi.advanceTimersByTimeAsync(200)
    const opened = relay.open()
    await vi.advanceTimersByTimeAsync(799)
    expect(relay.closed).toBe(true)
    await vi.advanceTimersByTimeAsync(1)
    await opened
    expect(closures()).toEqual([[0, 1_000]])
  })

  it('close() in the gap after an opening waits for the gap to end', async () => {
    const { relay, closures } = await rig({ minHoldMs: 500, minGapMs: 300 })
    const pulsed = relay.pulse(10)
    await vi.advanceTimersByTimeAsync(500)
    await pulsed
    expect(closures()).toEqual([[0, 500]])
    const closing = relay.close()
    await vi.advanceTimersByTimeAsync(300)
    await closing
    expect(closures()).toEqual([[0, 500], [800, undefined]])
  })

  it('stop() cuts a long pulse short but not below the hold', async () => {
    const { relay, closures } = await rig()
    const long = relay.pulse(60_000)
    await vi.advanceTimersByTimeAsync(300)
    const stopped = relay.stop()
    await vi.advanceTimersByTimeAsync(700)
    await Promise.all([stopped, long])
    expect(closures()).toEqual([[0, 1_000]])
    await expect(relay.pulse(10)).rejects.toThrow(/after stop/)
  })

  it('rejects when the line cannot be written', async () => {
    const { relay, line, told } = await rig()
    await line.close()
    await expect(relay.pulse(10)).rejects.toMatchObject({ code: 'EBADF' })
    expect(told).toEqual(['nvr-relay:io'])
  })

  it('a write that fails is fault io, from a timer too; the next good write clears it', async () => {
    const { gpio, relay, closures, told } = await rig()
    const pulsed = relay.pulse(50)
    await vi.advanceTimersByTimeAsync(500)
    expect(told).toEqual([])
    // The release is written by the hold timer, with no caller to see it fail: the relay reports it itself.
    gpio.failWrites('nvr-relay')
    const released = expect(pulsed).rejects.toMatchObject({ code: 'EIO' })
    await vi.advanceTimersByTimeAsync(500)
    await released
    expect(told).toEqual(['nvr-relay:io'])
    expect(closures()).toEqual([[0, undefined]])
    gpio.failWrites('nvr-relay', null)
    const again = relay.pulse(50)
    await vi.advanceTimersByTimeAsync(1_000)
    await again
    expect(closures()).toEqual([[0, 1_050]])
    expect(told).toEqual(['nvr-relay:io', 'nvr-relay:ok'])
  })
})

import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CaptureTrigger, type CaptureOutcome } from '../../edge/hardware/capture-trigger.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { CaptureModel } from '../../sim/capture-model.ts'
import { SimGpio } from '../../sim/gpio.ts'

const log = pino({ level: 'silent' })

/** A camera on two simulated pins, its trigger as the runtime drives it, and what the window would be told. */
async function rig() {
  const gpio = new SimGpio({
    lines: [
      { name: 'photo-trigger', chip: 'sim', offset: 17, direction: 'out' },
      { name: 'photo-done', chip: 'sim', offset: 27, direction: 'in' },
    ],
  })
  const camera = new CaptureModel({ gpio, kind: 'photo' })
  const health = new DeviceHealthTracker()
  const told: string[] = []
  health.attach({ deviceHealth: (device, f) => told.push(`${device}:${f?.code ?? 'ok'}`) })
  const trigger = new CaptureTrigger({
    name: 'photo',
    device: 'photo-capture',
    health,
    trigger: await gpio.open({ name: 'photo-trigger', chip: 'sim', offset: 17, direction: 'out' }),
    done: await gpio.open({ name: 'photo-done', chip: 'sim', offset: 27, direction: 'in', edge: 'both' }),
    pulseMs: 50,
    timeoutMs: 3_000,
    now: () => Date.now(),
    log,
  })
  const capture = async (): Promise<CaptureOutcome> => {
    const run = trigger.capture()
    await vi.advanceTimersByTimeAsync(5_000)
    return run
  }
  return { gpio, camera, health, told, trigger, capture }
}

describe('CaptureTrigger health', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('registers itself, and a capture that works says nothing', async () => {
    const { health, told, capture } = await rig()
    expect(health.snapshot()).toEqual({ 'photo-capture': 'ok' })
    expect(await capture()).toMatchObject({ ok: true })
    expect(told).toEqual([])
  })

  it('a done line stuck active is fault stuck; a capture that works again clears it', async () => {
    const { camera, told, health, capture } = await rig()
    camera.setFault('stuck')
    expect(await capture()).toMatchObject({ ok: false, reason: 'not-ready' })
    expect(told).toEqual(['photo-capture:stuck'])
    expect(health.snapshot()).toEqual({ 'photo-capture': 'fault' })
    camera.setFault('none')
    expect(await capture()).toMatchObject({ ok: true })
    expect(told).toEqual(['photo-capture:stuck', 'photo-capture:ok'])
  })

  it('a trigger line it cannot write is fault io; one capture a device does not answer is not a fault', async () => {
    const { gpio, camera, told, trigger, capture } = await rig()
    gpio.failWrites('photo-trigger')
    const failed = trigger.capture()
    const rejected = expect(failed).rejects.toThrow(/EIO/)
    await vi.advanceTimersByTimeAsync(5_000)
    await rejected
    expect(camera.triggers).toBe(0)
    expect(told).toEqual(['photo-capture:io'])
    gpio.failWrites('photo-trigger', null)
    camera.setFault('never')
    expect(await capture()).toMatchObject({ ok: false, reason: 'timeout' })
    expect(told).toEqual(['photo-capture:io'])
    camera.setFault('none')
    expect(await capture()).toMatchObject({ ok: true })
    expect(told).toEqual(['photo-capture:io', 'photo-capture:ok'])
  })

  it('timeouts in a row are fault no-answer, an answer between them starts the count again, and the next answer clears it', async () => {
    const { camera, told, health, capture } = await rig()
    camera.setFault('never')
    expect(await capture()).toMatchObject({ ok: false, reason: 'timeout' })
    expect(await capture()).toMatchObject({ ok: false, reason: 'timeout' })
    // Two timeouts may be two applicants who did nothing: still no fault.
    expect(told).toEqual([])
    camera.setFault('none')
    expect(await capture()).toMatchObject({ ok: true })
    camera.setFault('never')
    for (let i = 0; i < 2; i++) expect(await capture()).toMatchObject({ ok: false, reason: 'timeout' })
    expect(told).toEqual([])
    expect(await capture()).toMatchObject({ ok: false, reason: 'timeout' })
    expect(told).toEqual(['photo-capture:no-answer'])
    expect(health.snapshot()).toEqual({ 'photo-capture': 'fault' })
    camera.setFault('none')
    expect(await capture()).toMatchObject({ ok: true })
    expect(told).toEqual(['photo-capture:no-answer', 'photo-capture:ok'])
    expect(health.snapshot()).toEqual({ 'photo-capture': 'ok' })
  })
})

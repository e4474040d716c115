import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Score } from '../../boards/profile-schema.ts'
import { EvaluatorKeys } from '../../edge/devices/evaluator.ts'
import { KeyInput } from '../../edge/hardware/keys.ts'
import { Lamp } from '../../edge/hardware/output.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { SimGpio } from '../../sim/gpio.ts'

const SCORES: Score[] = ['satisfied', 'neutral', 'dissatisfied']

async function rig() {
  const gpio = new SimGpio({
    lines: [
      ...SCORES.map((name, i) => ({ name, chip: 'sim', offset: 5 + i, activeLow: true, direction: 'in' as const })),
      { name: 'evaluator-lamp', chip: 'sim', offset: 19, direction: 'out' },
    ],
  })
  const now = () => Date.now()
  const health = new DeviceHealthTracker()
  const keys: Partial<Record<Score, KeyInput>> = {}
  for (const [i, score] of SCORES.entries()) {
    const line = await gpio.open({ name: score, chip: 'sim', offset: 5 + i, direction: 'in', activeLow: true, edge: 'both' })
    keys[score] = new KeyInput({ key: score, device: `key-${score}`, health, line, now })
  }
  const lamp = new Lamp({ line: await gpio.open({ name: 'evaluator-lamp', chip: 'sim', offset: 19, direction: 'out' }), device: 'evaluator-lamp', health })
  const evaluator = new EvaluatorKeys({ keys, lamp, now })
  const t0 = Date.now()
  const events: string[] = []
  evaluator.onPress((score, at) => events.push(`${score}@${at - t0}`))
  evaluator.onAmbiguous((scores, at) => events.push(`ambiguous:${[...scores].sort().join('+')}@${at - t0}`))
  // Each key reports its own health to the sink; the window would get exactly these.
  health.attach({ deviceHealth: (device, f) => events.push(f ? `fault:${device}:${f.code}` : `ok:${device}`) })
  await evaluator.start()
  return { gpio, evaluator, events, health }
}

const settle = () => vi.advanceTimersByTimeAsync(200)

describe('EvaluatorKeys', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reports one press with its score and the time the key went down', async () => {
    const { gpio, evaluator, events } = await rig()
    void gpio.press('neutral', { bounce: [1, 2] })
    await settle()
    expect(events).toEqual(['neutral@0'])
    await evaluator.stop()
  })

  it('rejects two keys pressed within the lockout as ambiguous, reporting neither', async () => {
    const { gpio, evaluator, events } = await rig()
    void gpio.press('satisfied')
    await vi.advanceTimersByTimeAsync(15)
    void gpio.press('dissatisfied')
    await settle()
    expect(events).toEqual(['ambiguous:dissatisfied+satisfied@0'])
    await evaluator.stop()
  })

  it('rejects a press while another key is held down', async () => {
    const { gpio, evaluator, events } = await rig()
    gpio.setActive('satisfied', true)
    await settle()
    events.length = 0
    void gpio.press('neutral')
    await settle()
    expect(events).toEqual(['ambiguous:neutral+satisfied@200'])
    await evaluator.stop()
  })

  it('lets a stuck key fault without blocking the other keys', async () => {
    const { gpio, evaluator, events } = await rig()
    gpio.setActive('dissatisfied', true)
    await vi.advanceTimersByTimeAsync(15_000)
    expect(events).toEqual(['dissatisfied@0', 'fault:key-dissatisfied:stuck'])
    expect(evaluator.faults()).toEqual([{ score: 'dissatisfied', code: 'stuck' }])
    void gpio.press('satisfied')
    await settle()
    expect(events.at(-1)).toBe('satisfied@15000')
    gpio.setActive('dissatisfied', false)
    await settle()
    expect(events.at(-1)).toBe('ok:key-dissatisfied')
    await evaluator.stop()
  })

  it('lights its lamp while an evaluation is open', async () => {
    const { gpio, evaluator } = await rig()
    await evaluator.setOpen(true)
    expect(gpio.isActive('evaluator-lamp')).toBe(true)
    expect(evaluator.isOpen).toBe(true)
    await evaluator.setOpen(false)
    expect(gpio.isActive('evaluator-lamp')).toBe(false)
    await evaluator.setOpen(true)
    await evaluator.stop()
    expect(gpio.isActive('evaluator-lamp')).toBe(false)
  })

  it('a lamp write that fails is an evaluator-lamp fault, and the next good write clears it', async () => {
    const { gpio, evaluator, events, health } = await rig()
    gpio.failWrites('evaluator-lamp')
    await expect(evaluator.setOpen(true)).rejects.toThrow(/EIO/)
    expect(gpio.isActive('evaluator-lamp')).toBe(false)
    expect(events).toEqual([expect.stringMatching(/^fault:evaluator-lamp:io$/)])
    expect(health.snapshot()).toMatchObject({ 'evaluator-lamp': 'fault', 'key-satisfied': 'ok' })
    gpio.failWrites('evaluator-lamp', null)
    await evaluator.setOpen(true)
    expect(gpio.isActive('evaluator-lamp')).toBe(true)
    expect(events).toEqual(['fault:evaluator-lamp:io', 'ok:evaluator-lamp'])
    await evaluator.stop()
  })

  it('stops reporting after stop()', async () => {
    const { gpio, evaluator, events } = await rig()
    await evaluator.stop()
    void gpio.press('neutral')
    await settle()
    expect(events).toEqual([])
  })
})

describe('EvaluatorKeys: a faulty key never decides (issue 16, case 5)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  /** A 30-edge burst in 30 ms, as a floating input or EMI makes one. */
  function burst(gpio: SimGpio, name: string, edges = 30): void {
    for (let i = 0; i < edges; i++) setTimeout(() => gpio.setActive(name, i % 2 === 0), i)
  }

  it('a chatter burst is a chatter fault, never a press', async () => {
    const { gpio, evaluator, events } = await rig()
    burst(gpio, 'dissatisfied')
    await settle()
    expect(events.filter((e) => /@/.test(e) && !e.startsWith('ambiguous'))).toEqual([])
    expect(events).toContain('fault:key-dissatisfied:chatter')
    expect(events).toContain('ambiguous:dissatisfied@0')
    await evaluator.stop()
  })

  it('a key muted for chatter, held down, still makes a second key ambiguous', async () => {
    const { gpio, evaluator, events } = await rig()
    burst(gpio, 'dissatisfied', 31) // ends down
    await settle()
    expect(evaluator.faults()).toEqual([{ score: 'dissatisfied', code: 'chatter' }])
    events.length = 0
    void gpio.press('satisfied')
    await settle()
    expect(events).toEqual([expect.stringMatching(/^ambiguous:dissatisfied\+satisfied@/)])
    await evaluator.stop()
  })
})

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Score } from '../../boards/profile-schema.ts'
import fc from 'fast-check'
import { EVALUATOR_MAX_SETTLE_MS, EVALUATOR_SETTLE_MS, EvaluatorKeys } from '../../edge/devices/evaluator.ts'
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

describe('EvaluatorKeys: a burst slower than the key lockout is still no rating (issue 16)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  /** Edges on one key at the given gaps (ms), starting with the key going down. */
  function edges(gpio: SimGpio, name: string, gaps: number[]): number {
    let at = 0
    for (const [i, gap] of gaps.entries()) {
      at += gap
      setTimeout(() => gpio.setActive(name, i % 2 === 0), at)
    }
    return at
  }

  const presses = (events: string[]) => events.filter((e) => /@/.test(e) && !e.startsWith('ambiguous'))

  it('edges 45 ms apart: each would pass the 40 ms hold, but the key never settles before it reports chatter', async () => {
    const { gpio, evaluator, events } = await rig()
    const end = edges(gpio, 'neutral', Array.from({ length: 30 }, (_, i) => (i === 0 ? 1 : 45)))
    await vi.advanceTimersByTimeAsync(end + 3_000)
    expect(presses(events)).toEqual([])
    expect(events).toContain('fault:key-neutral:chatter')
    expect(events).toContain('ambiguous:neutral@1')
    await evaluator.stop()
  })

  it('a tap is decided once the key has been still for the settle time, reported with the time it went down', async () => {
    const { gpio, evaluator, events } = await rig()
    void gpio.press('satisfied', { holdMs: 100, bounce: [1, 2], releaseBounce: [1] })
    await vi.advanceTimersByTimeAsync(100 + 2 + EVALUATOR_SETTLE_MS - 5)
    expect(events).toEqual([])
    expect(evaluator.deciding()).not.toBeNull()
    await vi.advanceTimersByTimeAsync(10)
    expect(events).toEqual(['satisfied@0'])
    expect(evaluator.deciding()).toBeNull()
    await evaluator.stop()
  })

  it('a key that will not be still within the longest settle is no rating, even without chatter', async () => {
    const { gpio, evaluator, events } = await rig()
    // 100 ms apart: too slow for the chatter detector (10 edges a second), too busy for a deliberate press.
    const end = edges(gpio, 'dissatisfied', [1, ...Array.from({ length: 15 }, () => 100)])
    await vi.advanceTimersByTimeAsync(end + 1_000)
    expect(events.filter((e) => e.startsWith('fault'))).toEqual([])
    expect(events[0]).toBe('ambiguous:dissatisfied@1')
    expect(presses(events.slice(0, 1))).toEqual([])
    expect(end).toBeGreaterThan(EVALUATOR_MAX_SETTLE_MS)
    await evaluator.stop()
  })

  it('property: no burst whose edges come closer than the settle time and that trips the chatter detector ever yields a press', async () => {
    let tripped = 0
    let slowerThanHold = 0
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Score>(...SCORES),
        fc.array(fc.integer({ min: 1, max: EVALUATOR_SETTLE_MS - 1 }), { minLength: 21, maxLength: 70 }),
        async (score, gaps) => {
          const { gpio, evaluator, events } = await rig()
          const end = edges(gpio, score, gaps)
          await vi.advanceTimersByTimeAsync(end + 4_000)
          await evaluator.stop()
          if (!events.includes(`fault:key-${score}:chatter`)) return
          tripped++
          if (gaps.slice(1).some((g) => g > 40)) slowerThanHold++
          expect(presses(events), `edges at ${JSON.stringify(gaps)}`).toEqual([])
        },
      ),
      { seed: 16_017, numRuns: 300 },
    )
    // Not vacuous: many bursts tripped, many of them with gaps the 40 ms hold alone would have let through.
    expect(tripped).toBeGreaterThan(50)
    expect(slowerThanHold).toBeGreaterThan(20)
  }, 60_000)
})

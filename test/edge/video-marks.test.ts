import { describe, expect, it } from 'vitest'
import { harnessPerTest, type EdgeHarness } from '../support/edge-harness.ts'
import { ALERT_PULSE_MS } from '../../edge/devices/video-hooks.ts'

/**
 * The NVR relay on the real runtime over the simulated window, read from the
 * relay's device model (sim/relay-model.ts) with its times: the moment of
 * rating is on video, and a bad rating is a mark of its own (issue 16).
 */
const perTest = harnessPerTest()
/** The sim-window profile's minimum closure (boards/sim-window.json), also the relay's gap between closures. */
const MIN_HOLD_MS = 1000

async function openWindow(relay: 'hold' | 'pulse'): Promise<EdgeHarness> {
  const h = await perTest.start({ video: { relay } })
  await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))
  return h
}

function relayModel(h: EdgeHarness) {
  const relay = h.hardware.relay
  if (!relay) throw new Error('the sim-window profile has an NVR relay')
  return relay
}

describe('NVR relay, hold mode: closed from the call through the end of the evaluation', () => {
  it('closes at the call, stays closed through service and evaluation, and opens only after the rating', async () => {
    const h = await openWindow('hold')
    const relay = relayModel(h)
    const called = Date.now()
    await h.reply(h.command('call', { ticket: 'A012' }))
    await h.advance(10)
    expect(relay.closed, 'closed once the ticket is called').toBe(true)
    await h.advance(5_000)
    await h.reply(h.command('start', {}))
    await h.advance(60_000)
    await h.reply(h.command('finish', { outcome: 'served' }))
    await h.advance(4_000)
    expect(relay.closed, 'still closed while the evaluator is open').toBe(true)
    const pressed = Date.now()
    await h.press('dissatisfied')
    await h.advance(MIN_HOLD_MS)
    expect(relay.closed, 'open once the rating is in').toBe(false)
    const closures = relay.closures()
    expect(closures).toHaveLength(1)
    const [only] = closures
    expect(only!.from - called).toBeLessThan(50)
    expect(only!.to! - pressed).toBeGreaterThanOrEqual(0)
    expect(h.of('event', 'rating-alert')).toHaveLength(1)
  })

  it('an unanswered evaluation keeps it closed until it closes as missed', async () => {
    const h = await openWindow('hold')
    const relay = relayModel(h)
    await h.reply(h.command('call', { ticket: 'A013' }))
    await h.reply(h.command('start', {}))
    await h.advance(2_000)
    await h.reply(h.command('finish', { outcome: 'served' }))
    const finished = Date.now()
    await h.advance(29_000)
    expect(relay.closed, 'closed for the whole 30 s the evaluator is open').toBe(true)
    await h.advance(2_000)
    expect(h.of('event', 'evaluation-missed')).toHaveLength(1)
    expect(relay.closed).toBe(false)
    expect(relay.closures().at(-1)!.to! - finished).toBeGreaterThanOrEqual(30_000)
  })

  it('a service that ends unserved releases it at once: no evaluation to cover', async () => {
    const h = await openWindow('hold')
    const relay = relayModel(h)
    await h.reply(h.command('call', { ticket: 'A014' }))
    await h.reply(h.command('start', {}))
    await h.advance(2_000)
    await h.reply(h.command('finish', { outcome: 'abandoned' }))
    await h.advance(10)
    expect(relay.closed).toBe(false)
  })
})

describe('NVR relay, pulse mode: a bad rating is a long closure of its own', () => {
  async function rated(h: EdgeHarness, score: 'satisfied' | 'dissatisfied') {
    await h.reply(h.command('call', { ticket: 'A020' }))
    await h.reply(h.command('start', {}))
    await h.advance(5_000)
    await h.reply(h.command('finish', { outcome: 'served' }))
    await h.advance(5_000)
    const from = relayModel(h).closures().length
    const pressed = Date.now()
    await h.press(score)
    await h.advance(MIN_HOLD_MS * 3 + ALERT_PULSE_MS)
    return { closures: relayModel(h).closures().slice(from), pressed }
  }

  it('满意: one mark closure of the minimum hold at the rating', async () => {
    const h = await openWindow('pulse')
    const { closures } = await rated(h, 'satisfied')
    expect(closures.map((c) => c.to! - c.from)).toEqual([MIN_HOLD_MS])
    expect(h.of('event', 'rating-alert')).toEqual([])
  })

  it('不满意: the rating closure, then after the relay gap a second, long closure for the alert', async () => {
    const h = await openWindow('pulse')
    const { closures, pressed } = await rated(h, 'dissatisfied')
    expect(closures.map((c) => c.to! - c.from)).toEqual([MIN_HOLD_MS, ALERT_PULSE_MS])
    const [mark, alert] = closures
    expect(mark!.from - pressed).toBeLessThan(MIN_HOLD_MS)
    // Two closures the NVR can tell apart: open at least the gap in between.
    expect(alert!.from - mark!.to!).toBeGreaterThanOrEqual(MIN_HOLD_MS)
    expect(relayModel(h).closed).toBe(false)
  })
})

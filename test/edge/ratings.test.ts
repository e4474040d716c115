import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { EdgeHarness, harnessPerTest } from '../support/edge-harness.ts'

/**
 * One service, one rating, by the applicant, on the real runtime over the
 * simulated window: what central receives for the cases of issue 16 that need
 * the devices, the timers or the clocks.
 */
const perTest = harnessPerTest()
let h: EdgeHarness

async function openWindow(): Promise<EdgeHarness> {
  const harness = await perTest.start()
  await harness.reply(harness.command('officer', { action: 'sign-in', officer: 'li-na' }))
  return harness
}

async function serve(harness: EdgeHarness, ticket: string): Promise<void> {
  await harness.reply(harness.command('call', { ticket }))
  await harness.advance(5_000)
  await harness.reply(harness.command('start', {}))
  await harness.advance(60_000)
  await harness.reply(harness.command('finish', { outcome: 'served' }))
}

/** The evaluator decides a press a little after it (edge/devices/evaluator.ts), but the rating is timed at the press itself. */
const HOLD_MS = 0

const ratings = (harness: EdgeHarness, from = 0) => harness.of('event', 'evaluated', from).map((p) => p.message)

describe('ratings on the runtime', () => {
  it('case 1: evaluate for a ticket never called is refused, and a press after it reaches central as nothing', async () => {
    h = await openWindow()
    const from = h.publishes.length
    const reply = await h.reply(h.command('evaluate', { ticket: 'Z999' }))
    expect(reply).toMatchObject({ ok: false, code: 'wrong-mode' })
    await h.press('satisfied')
    await h.sync()
    expect(ratings(h, from)).toEqual([])
    expect(h.hardware.output('evaluatorLamp')).toBe(false)
  })

  it('case 3: evaluate naming an officer is refused, naming the field', async () => {
    h = await openWindow()
    await serve(h, 'A001')
    const id = 'ev-officer'
    h.raw(`hall/h1/counter/w01/cmd/evaluate`, JSON.stringify({ id, expires: new Date(Date.now() + 60_000).toISOString(), ticket: 'A001', officer: 'X999' }))
    expect(await h.reply(id)).toMatchObject({ ok: false, code: 'bad-payload', message: expect.stringMatching(/officer: unknown field/) })
    await h.advance(2_000)
    await h.press('neutral')
    await h.sync()
    expect(ratings(h)).toEqual([expect.objectContaining({ ticket: 'A001', officer: 'li-na' })])
  })

  it('case 4: a press right after the finish reply is the rating, flagged early', async () => {
    h = await openWindow()
    await serve(h, 'A002')
    await h.press('satisfied')
    await h.sync()
    expect(ratings(h)).toEqual([expect.objectContaining({ ticket: 'A002', early: true })])
  })

  it('case 5: with a key stuck the evaluator stays dark; central gets evaluation-missed with the reason', async () => {
    h = await openWindow()
    h.hardware.setKey('dissatisfied', true)
    await h.advance(15_000)
    await h.sync()
    expect(h.of('event', 'fault').map((p) => p.message)).toEqual([expect.objectContaining({ device: 'key-dissatisfied', code: 'stuck' })])
    const from = h.publishes.length
    await serve(h, 'A003')
    expect(h.hardware.output('evaluatorLamp')).toBe(false)
    await h.press('satisfied')
    await h.sync()
    expect(ratings(h, from)).toEqual([])
    expect(h.of('event', 'evaluation-missed', from).map((p) => p.message)).toEqual([
      expect.objectContaining({ ticket: 'A003', reason: 'evaluator-fault', detail: 'key-dissatisfied: stuck', afterMs: 0 }),
    ])
    h.hardware.setKey('dissatisfied', false)
  })

  it('case 6: the wall clock stepping back an hour mid-service and mid-evaluation loses nothing', async () => {
    h = await openWindow()
    await h.reply(h.command('call', { ticket: 'A004' }))
    await h.advance(5_000)
    await h.reply(h.command('start', {}))
    await h.advance(60_000)
    h.stepWallClock(-3_600_000)
    await h.reply(h.command('finish', { outcome: 'served' }))
    await h.advance(3_000)
    h.stepWallClock(-3_600_000)
    await h.press('neutral')
    await h.sync()
    expect(h.of('event', 'service-finished').map((p) => p.message)).toEqual([expect.objectContaining({ durationMs: 60_000 })])
    expect(ratings(h)).toEqual([expect.objectContaining({ ticket: 'A004', latencyMs: 3_000 + HOLD_MS, early: false })])
  })

  it('case 6: after the wall clock steps back an hour, every applicant\'s press is still a rating (the keys time their edges on the monotonic clock)', async () => {
    // Found by test/e2e/ratings-at-central.test.ts: the keys timed their chatter window on the wall clock, so after a
    // step back the edges of the press before it looked an hour in the future, were never dropped from the window,
    // and held every edge after them in it: the eleventh press on that key muted it as chattering, and the service
    // ended evaluation-missed (evaluator-fault) instead of rated.
    h = await openWindow()
    const tickets = Array.from({ length: 12 }, (_, i) => `B${String(i).padStart(3, '0')}`)
    await serve(h, 'A000')
    await h.advance(2_000)
    await h.press('satisfied')
    h.stepWallClock(-3_600_000)
    for (const ticket of tickets) {
      await serve(h, ticket)
      await h.advance(2_000)
      await h.press('satisfied')
    }
    await h.sync()
    expect(h.of('event', 'fault').map((p) => p.message)).toEqual([])
    expect(h.of('event', 'evaluation-missed').map((p) => p.message)).toEqual([])
    expect(ratings(h).map((r) => r.ticket)).toEqual(['A000', ...tickets])
  })

  it('case 6: the wall clock stepping forward a day does not close the evaluation early', async () => {
    h = await openWindow()
    await serve(h, 'A005')
    h.stepWallClock(86_400_000)
    await h.advance(10_000)
    await h.press('satisfied')
    await h.sync()
    expect(h.of('event', 'evaluation-missed')).toEqual([])
    expect(ratings(h)).toEqual([expect.objectContaining({ ticket: 'A005', latencyMs: 10_000 + HOLD_MS })])
  })
})

describe('service records on the runtime', () => {
  it('the record is <counter>-<boot>-<n>: one per service, on every event of it', async () => {
    h = await openWindow()
    const from = h.publishes.length
    await serve(h, 'A006')
    await h.advance(2_000)
    await h.press('satisfied')
    await serve(h, 'A007')
    await h.sync()
    const events = h.publishes.slice(from).filter((p) => p.parsed.kind === 'event').map((p) => [p.message.type, p.message.record])
    expect(events).toEqual([
      ['called', `w01-${h.edge.boot}-1`],
      ['service-started', `w01-${h.edge.boot}-1`],
      ['service-finished', `w01-${h.edge.boot}-1`],
      ['evaluated', `w01-${h.edge.boot}-1`],
      ['called', `w01-${h.edge.boot}-2`],
      ['service-started', `w01-${h.edge.boot}-2`],
      ['service-finished', `w01-${h.edge.boot}-2`],
    ])
  })
})

describe('a press is judged by when it was made, not by when the evaluator decided it', () => {
  it('a press 50 ms before the evaluator closes is the rating, though decided after the close', async () => {
    h = await openWindow()
    await serve(h, 'A010')
    await h.advance(30_000 - 50)
    const from = h.publishes.length
    await h.press('satisfied')
    await h.sync()
    expect(h.of('event', 'evaluation-missed', from)).toEqual([])
    expect(ratings(h, from)).toEqual([expect.objectContaining({ ticket: 'A010', latencyMs: 29_950 })])
  })

  it('a press made just before the board stops is still the rating: the stop waits for the key to settle', async () => {
    h = await openWindow()
    await serve(h, 'A012')
    await h.advance(3_000)
    const from = h.publishes.length
    // Pressed and let go (80 ms), then the stop comes 20 ms later, inside the evaluator's settle time.
    const pressing = h.hardware.press('neutral')
    await h.advance(100)
    await pressing
    expect(ratings(h, from)).toEqual([])
    await h.stop()
    expect(ratings(h, from)).toEqual([expect.objectContaining({ ticket: 'A012', score: 'neutral', latencyMs: 3_000 })])
    expect(h.of('event', 'evaluation-missed', from)).toEqual([])
  })

  it('property: a press let go before the stop begins is the rating, exactly once, whatever the stop\'s moment', async () => {
    let rated = 0
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 50, max: 400 }), fc.integer({ min: 0, max: 600 }), fc.constantFrom('satisfied', 'neutral', 'dissatisfied' as const), async (holdMs, stopAfterRelease, score) => {
        const run = await EdgeHarness.start()
        try {
          await run.reply(run.command('officer', { action: 'sign-in', officer: 'li-na' }))
          await serve(run, 'A013')
          const from = run.publishes.length
          const pressing = run.hardware.press(score, { holdMs })
          await run.advance(holdMs + stopAfterRelease)
          await pressing
          await run.stop()
          const outcomes = [...run.of('event', 'evaluated', from), ...run.of('event', 'evaluation-missed', from)].map((p) => p.message)
          expect(outcomes).toEqual([expect.objectContaining({ ticket: 'A013', score })])
          rated++
        } finally {
          await run.stop()
        }
      }),
      { numRuns: 40, seed: 16_017 },
    )
    expect(rated).toBe(40)
  })

  it('a press as the evaluator closes is no rating: the evaluation closes missed', async () => {
    h = await openWindow()
    await serve(h, 'A011')
    await h.advance(30_000)
    const from = h.publishes.length
    await h.press('satisfied')
    await h.sync()
    expect(ratings(h, from)).toEqual([])
    expect(h.of('event', 'evaluation-missed', from).map((p) => p.message)).toEqual([expect.objectContaining({ ticket: 'A011', reason: 'timeout' })])
  })

  it('a key already going down when the service finished is not its rating', async () => {
    h = await openWindow()
    await h.reply(h.command('call', { ticket: 'A012' }))
    await h.reply(h.command('start', {}))
    await h.advance(5_000)
    // The officer's finger on a key as the finish goes in: the press is still being decided when the evaluator opens.
    const pressing = h.hardware.press('dissatisfied')
    await h.advance(10)
    await h.reply(h.command('finish', { outcome: 'served' }))
    await h.advance(500)
    await pressing
    await h.sync()
    expect(ratings(h)).toEqual([])
    expect(h.edge.window.current.mode).toBe('evaluating')
  })

  it('a chatter burst with edges 45 ms apart (slower than the 40 ms hold) on an open evaluator is never a rating', async () => {
    h = await openWindow()
    await serve(h, 'A013')
    await h.advance(3_000)
    const from = h.publishes.length
    for (let i = 0; i < 40; i++) {
      h.hardware.setKey('dissatisfied', i % 2 === 0)
      await h.advance(45)
    }
    await h.advance(3_000)
    await h.sync()
    expect(ratings(h, from)).toEqual([])
    expect(h.of('event', 'rating-alert', from)).toEqual([])
    expect(h.of('event', 'fault', from).map((p) => p.message)).toEqual([expect.objectContaining({ device: 'key-dissatisfied', code: 'chatter' })])
    expect(h.of('event', 'evaluation-missed', from).map((p) => p.message)).toEqual([expect.objectContaining({ ticket: 'A013', reason: 'evaluator-fault' })])
  })
})

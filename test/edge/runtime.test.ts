import { describe, expect, it } from 'vitest'
import { harnessPerTest, type EdgeHarness } from '../support/edge-harness.ts'

// Literal topics on purpose: the test is the contract's independent oracle, not a user of its builders.
const BASE = 'hall/h1/counter/w01'

const perTest = harnessPerTest()
let h: EdgeHarness

async function openWindow(): Promise<EdgeHarness> {
  const harness = await perTest.start()
  await harness.reply(harness.command('officer', { action: 'sign-in', officer: 'li-na', officerName: 'Li Na' }))
  return harness
}

describe('edge runtime, in process', () => {
  it('announces itself with a retained birth and its state, subscribed to its own commands first', async () => {
    h = await perTest.start()
    await h.sync()
    expect(h.network.session.filters).toEqual(new Set([`${BASE}/cmd/+`]))
    const [birth, state] = h.publishes
    expect(birth).toMatchObject({ topic: `${BASE}/status`, qos: 1, retain: true, message: { online: true, board: 'sim-window', boot: h.edge.boot, seq: 1, synced: true } })
    // The simulator's window has a 4-digit 7-segment display: no K, M, V, W, X or Z.
    expect(birth!.message.capabilities).toEqual(['display', 'display-width:4', 'display-lacks:KMVWXZ', 'evaluator:3', 'capture:photo', 'capture:fingerprint', 'officer-keys', 'video-hooks', 'status-light'])
    expect(state).toMatchObject({ topic: `${BASE}/state`, qos: 1, retain: true, message: { mode: 'closed', ticket: null, officer: null, faults: [] } })
    // The will the connect carried is the board's own status message, stamped before the birth.
    expect(h.network.willsAtConnect).toEqual([expect.objectContaining({ online: false, reason: 'will', boot: h.edge.boot, seq: 0 })])
  })

  it('call, start, finish, a key press: exact publishes, in order, to the rating', async () => {
    h = await openWindow()
    const from = h.publishes.length
    const call = h.command('call', { ticket: 'A023', service: 'passport' })
    await h.reply(call)
    await h.advance(30_000)
    const start = h.command('start', {})
    await h.reply(start)
    await h.advance(300_000)
    const finish = h.command('finish', { outcome: 'served' })
    await h.reply(finish)
    expect(h.hardware.output('evaluatorLamp')).toBe(true)
    await h.advance(4_000)
    await h.press('satisfied')
    const end = await h.sync()

    expect(h.topicsSince(from)).toEqual([
      // what the display shows follows each change of the glass, after the step that made it
      'state', 'event/called', 'reply', 'screen',
      'state', 'event/service-started', 'reply',
      'state', 'event/service-finished', 'reply',
      'state', 'event/evaluated', 'screen',
      // the barrier's own: birth and state again, then its reply
      'status', 'state', 'reply',
    ])
    const sent = h.publishes.slice(from, end)
    // Events and replies at QoS 1, never retained; state retained.
    for (const p of sent) expect([p.topic, p.qos, p.retain]).toEqual([p.topic, 1, p.topic.endsWith('/state') || p.topic.endsWith('/status') || p.topic.endsWith('/screen')])
    // One sequence per boot, without gaps: every message the board stamped was published. Not in
    // seq order: state goes out at once, while events and replies (stamped first) wait for the journal.
    const seqs = sent.map((p) => p.message.seq as number).sort((a, b) => a - b)
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i))

    expect(h.of('event', 'called', from)[0]!.message).toMatchObject({ type: 'called', ticket: 'A023', service: 'passport', green: false, appointment: false, cmd: call })
    expect(h.of('event', 'service-started', from)[0]!.message).toMatchObject({ ticket: 'A023', officer: 'li-na', waitedMs: 30_000, cmd: start })
    expect(h.of('event', 'service-finished', from)[0]!.message).toMatchObject({ ticket: 'A023', officer: 'li-na', outcome: 'served', durationMs: 300_000, cmd: finish })
    const rated = h.of('event', 'evaluated', from)
    expect(rated).toHaveLength(1)
    expect(rated[0]!.message).toMatchObject({ type: 'evaluated', ticket: 'A023', officer: 'li-na', score: 'satisfied', scale: 3 })
    expect(rated[0]!.message).not.toHaveProperty('cmd')
    // From the evaluator opening to the press being decided: the 4 s wait, then the key's hold-back window.
    expect(rated[0]!.message.latencyMs).toBeGreaterThanOrEqual(4_000)
    expect(rated[0]!.message.latencyMs).toBeLessThan(4_000 + 250)
    expect(await h.reply(finish)).toMatchObject({ ok: true, result: { evaluation: 'open' } })
    expect(h.of('state', undefined, from).map((p) => p.message.mode)).toEqual(['calling', 'serving', 'evaluating', 'idle', 'idle'])
    expect(h.hardware.output('evaluatorLamp')).toBe(false)
    // The glass, as the display device last wrote it: the number through the service and evaluation, blank once idle.
    expect(h.of('screen', undefined, from).map((p) => [p.message.text, p.message.ticket, p.message.fault, p.message.picture])).toEqual([
      ['A023', 'A023', null, null],
      ['', null, null, null],
    ])
  })

  it('a second key press after the rating makes no second rating (checked behind a sync barrier)', async () => {
    h = await openWindow()
    await h.reply(h.command('call', { ticket: 'B7' }))
    await h.reply(h.command('start', {}))
    await h.reply(h.command('finish', { outcome: 'served' }))
    await h.press('neutral')
    const afterRating = await h.sync()
    expect(h.of('event', 'evaluated')).toHaveLength(1)

    await h.press('dissatisfied')
    const barrier = h.publishes.length
    await h.sync()
    // Only the barrier's own messages came after the second press.
    expect(h.topicsSince(barrier)).toEqual(['status', 'state', 'reply'])
    expect(h.of('event', 'evaluated', afterRating)).toEqual([])
    expect(h.edge.window.current.ignoredPresses).toBe(1)
  })

  it('an evaluation nobody answers closes as evaluation-missed when its window runs out', async () => {
    h = await openWindow()
    await h.reply(h.command('call', { ticket: 'C1' }))
    await h.reply(h.command('start', {}))
    await h.reply(h.command('finish', { outcome: 'served' }))
    const from = h.publishes.length
    await h.advance(29_000)
    await h.sync()
    expect(h.of('event', 'evaluation-missed')).toEqual([])

    await h.advance(1_100)
    const missed = h.of('event', 'evaluation-missed', from)
    expect(missed).toHaveLength(1)
    expect(missed[0]!.message).toMatchObject({ ticket: 'C1', officer: 'li-na' })
    expect(missed[0]!.message.afterMs).toBeGreaterThanOrEqual(30_000)
    expect(missed[0]!.message.afterMs).toBeLessThan(30_100)
    expect(h.of('state', undefined, from).at(-1)!.message).toMatchObject({ mode: 'idle', evaluation: null, ticket: null })
    expect(h.hardware.output('evaluatorLamp')).toBe(false)
  })

  it('a malformed command gets an error reply and changes nothing', async () => {
    h = await openWindow()
    const from = h.publishes.length
    h.raw(`${BASE}/cmd/call`, '{"id": "m-1", "ticket": ')
    h.raw(`${BASE}/cmd/call`, JSON.stringify({ id: 'm-2', expires: new Date(Date.now() + 60_000).toISOString() }))
    h.raw(`${BASE}/cmd/launch`, JSON.stringify({ id: 'm-3', expires: new Date(Date.now() + 60_000).toISOString() }))
    await h.sync()
    expect(h.topicsSince(from)).toEqual(['reply', 'reply', 'reply', 'status', 'state', 'reply'])
    const [unreadable, incomplete, unknown] = h.of('reply', undefined, from).map((p) => p.message)
    expect(unreadable).toMatchObject({ cmd: null, name: 'call', ok: false, code: 'bad-json' })
    expect(incomplete).toMatchObject({ cmd: 'm-2', name: 'call', ok: false, code: 'bad-payload', message: 'ticket: required' })
    expect(unknown).toMatchObject({ cmd: 'm-3', name: 'launch', ok: false, code: 'unknown-command' })
    expect(h.edge.window.current.mode).toBe('idle')
  })

  it('a command delivered twice gets the first reply again and acts once', async () => {
    h = await openWindow()
    const from = h.publishes.length
    h.command('call', { ticket: 'D4' }, { id: 'dup-1' })
    h.command('call', { ticket: 'D4' }, { id: 'dup-1' })
    await h.sync()
    expect(h.topicsSince(from)).toEqual(['state', 'event/called', 'reply', 'screen', 'reply', 'status', 'state', 'reply'])
    const [first, again] = h.of('reply', undefined, from).map((p) => p.message)
    expect(first).toMatchObject({ cmd: 'dup-1', name: 'call', ok: true })
    // The same answer (a new envelope: it is a new message), not "wrong-mode" for a second call.
    const { v: _v, id: _i, seq: _s, ts: _t, ...body } = first!
    expect(again).toMatchObject(body)
    expect(again!.id).not.toBe(first!.id)
    expect(h.of('event', 'called', from)).toHaveLength(1)
  })

  it('events made while the hub is gone are journalled and follow a new birth once it is back', async () => {
    h = await openWindow()
    h.drop()
    await h.press('help')
    // Nothing reaches the hub while the connection is down, however long that lasts.
    const from = h.publishes.length
    await h.advance(60_000)
    expect(h.publishes.length).toBe(from)
    expect(h.edge.link.backlog).toBe(2)

    h.restore()
    // The link retries with a backoff capped at 30 s.
    await h.advance(30_000)
    await h.until(() => h!.edge.link.backlog === 0, 'the backlog drained')
    expect(h.topicsSince(from)).toEqual(['status', 'state', 'screen', 'event/officer-key', 'event/help-requested'])
    expect(h.of('event', 'officer-key', from)[0]!.message).toMatchObject({ key: 'help', ticket: null })
    // Each reconnect carries a will stamped after everything sent before it.
    const wills = h.network.willsAtConnect
    expect(wills).toHaveLength(2)
    expect(wills[1]!.seq as number).toBeGreaterThan(h.publishes[from - 1]!.message.seq as number)
    expect(h.edge.link.linkHealth().reconnects).toBeGreaterThanOrEqual(1)
  })
})

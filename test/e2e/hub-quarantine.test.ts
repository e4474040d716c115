import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { MAX_PAYLOAD_BYTES } from '../../edge/protocol/index.ts'
import { startTestHub, user, connectAs, publishOutcome, closeAll, boardEvent, type TestHub } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { eventually } from '../support/probe.ts'
import { retainedAtHub } from '../support/hub-tap.ts'

/**
 * A board's own QoS 1 message the hub cannot accept would, refused, close the
 * board's connection, and its journal would send it again on every reconnect
 * with every later rating stuck behind it. The hub acknowledges it into the
 * quarantine file instead (hub/quarantine.ts): the board's link moves on,
 * nothing is lost, nothing unaccepted reaches the hall's readers or central.
 */
const H = 'h1'
const w01 = user('board', H, 'w01')
const dash = user('dashboard', H)
const base = `hall/${H}/counter/w01`

describe("the hub's quarantine", () => {
  let central: Central
  let t: TestHub
  let dataDir: string
  let atCentral: Array<{ topic: string; body: string }>
  let atReader: Array<{ topic: string; body: string }>
  const open: MqttClient[] = []

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hub-quarantine-'))
    central = await Central.start()
    const probe = await mqtt.connectAsync(central.url, { reconnectPeriod: 0 })
    open.push(probe)
    atCentral = []
    probe.on('message', (topic, payload) => atCentral.push({ topic, body: payload.toString() }))
    await probe.subscribeAsync(`hall/${H}/counter/#`, { qos: 1 })
    t = await startTestHub([w01, dash], { hall: H, dataDir, upstream: { url: central.url }, bridge: { reconnectMinMs: 100 }, http: { port: 0 } })
    const reader = await connectAs(t.hub.port, dash, { clientId: `${dash.username}-reader` })
    open.push(reader)
    atReader = []
    reader.on('message', (topic, payload) => atReader.push({ topic, body: payload.toString() }))
    await reader.subscribeAsync(`hall/${H}/#`, { qos: 1 })
  })
  afterAll(async () => {
    await closeAll(open)
    await t?.stop()
    await central?.dispose()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('acknowledges what a board sends under its own window and the hub cannot take, keeps it on disk, and the same connection carries on', async () => {
    const board = await connectAs(t.hub.port, w01, { clean: false })
    open.push(board)
    let closes = 0
    board.on('close', () => closes++)
    const event = (type: string, seq: number, extra: Record<string, unknown> = {}) => JSON.stringify({ ...boardEvent('evaluated', 'q1', seq, { ticket: 'A001', score: 'satisfied' }), ...extra, type })

    // A board upgraded before its hub: an event type this hub does not know yet.
    const newer = event('queue-rebalanced', 1)
    expect(await publishOutcome(board, `${base}/event/queue-rebalanced`, newer)).toBe('acked')
    // A retained event, a payload against its schema, one over the size limit, a topic outside the contract.
    expect(await publishOutcome(board, `${base}/event/evaluated`, event('evaluated', 2), { retain: true })).toBe('acked')
    expect(await publishOutcome(board, `${base}/event/evaluated`, JSON.stringify({ id: 'q1-3', score: 'great' }))).toBe('acked')
    expect(await publishOutcome(board, `${base}/event/evaluated`, event('evaluated', 4, { note: 'x'.repeat(MAX_PAYLOAD_BYTES) }))).toBe('acked')
    expect(await publishOutcome(board, `${base}/diagnostics`, '{"id":"q1-5"}')).toBe('acked')
    // And then a rating as it should be: it goes through, on the same connection.
    const rating = JSON.parse(event('evaluated', 6)) as { id: string }
    expect(await publishOutcome(board, `${base}/event/evaluated`, JSON.stringify(rating))).toBe('acked')
    await eventually(() => atCentral.some((m) => m.body.includes(rating.id)), 5_000, 'the good rating at central')
    expect(closes).toBe(0)
    expect(board.connected).toBe(true)

    // Each kept on disk, exactly as sent, with why.
    const kept = (await readFile(join(dataDir, 'quarantine.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { kind: string; reason: string; topic: string; payload: string; retain: boolean; client: string; counter: string })
    expect(kept.map((k) => [k.kind, k.topic])).toEqual([
      ['acl-publish', `${base}/event/queue-rebalanced`],
      ['acl-publish', `${base}/event/evaluated`],
      ['invalid-payload', `${base}/event/evaluated`],
      ['payload-too-large', `${base}/event/evaluated`],
      ['acl-publish', `${base}/diagnostics`],
    ])
    expect(kept[0]).toMatchObject({ payload: newer, client: w01.username, counter: 'w01', reason: 'unknown event type "queue-rebalanced"' })
    expect(kept[1]!.retain).toBe(true)
    expect(t.hub.counters.quarantined).toEqual({ 'acl-publish': 3, 'invalid-payload': 1, 'payload-too-large': 1, 'topic-too-deep': 0 })

    // None of it reached the hall's readers or central; the good rating reached both.
    await eventually(() => atReader.some((m) => m.body.includes(rating.id)), 5_000, 'the good rating at the hall reader')
    for (const id of ['q1-1', 'q1-2', 'q1-3', 'q1-4', 'q1-5']) {
      expect(atCentral.some((m) => m.body.includes(`"${id}"`)), `${id} at central`).toBe(false)
      expect(atReader.some((m) => m.body.includes(`"${id}"`)), `${id} at the hall reader`).toBe(false)
    }
    // Not retained either: the hub's store holds nothing a reader subscribing now would be replayed.
    expect(await retainedAtHub(t.hub, `hall/${H}/counter/w01/event/#`)).toEqual([])

    const metrics = await (await fetch(`http://127.0.0.1:${t.hub.httpPort}/metrics`)).text()
    expect(metrics).toContain(`counter_edge_quarantined_total{hall="${H}",kind="acl-publish"} 3`)
  })

  it('refuses as before, and says why, once the quarantine file is full: the board keeps the message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hub-quarantine-full-'))
    const full = await startTestHub([w01], { hall: H, dataDir: dir, limits: { maxQuarantineBytes: 100 } })
    try {
      const board = await connectAs(full.hub.port, w01, { reconnectPeriod: 0 })
      expect(await publishOutcome(board, `${base}/event/queue-rebalanced`, JSON.stringify(boardEvent('evaluated', 'q3', 1)))).toBe('closed')
      await eventually(() => full.log.refusals('quarantine-failed').length === 1, 2_000, 'the refusal')
      expect(full.log.lines.find((l) => l.level === 50 && /could not quarantine/.test(String(l.msg)))?.err).toMatch(/limit of 100 bytes; move it away/)
      expect(full.hub.counters.quarantined['acl-publish']).toBe(0)
      await board.endAsync(true)
    } finally {
      await full.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("still closes a board that publishes as another window: that is a breach, not a mistake", async () => {
    const board = await connectAs(t.hub.port, w01, { clientId: w01.username })
    open.push(board)
    const before = { ...t.hub.counters.quarantined }
    expect(await publishOutcome(board, `hall/${H}/counter/w02/event/evaluated`, JSON.stringify(boardEvent('evaluated', 'q2', 1, { ticket: 'A002', score: 'neutral' })))).toBe('closed')
    expect(t.hub.counters.quarantined).toEqual(before)
  })
})

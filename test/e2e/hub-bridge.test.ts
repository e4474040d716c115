import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm, readFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { messageExamples, topics } from '../../edge/protocol/index.ts'
import { startTestHub, user, connectAs, publishOutcome, subscribeOutcome, closeAll, boardEvent, type TestHub } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { makeTestPki } from '../hub/support/certs.ts'
import { Recorder, eventually, command, type Received } from '../support/probe.ts'
import { markerBarrier, polledSubscriber } from '../support/barrier.ts'
import { HubTap, retainedAtHub } from '../support/hub-tap.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')
const dash = user('dashboard', H)
const base = `hall/${H}/counter/w01`

/** Collects what a client receives, for barriers and assertions. */
const record = (client: MqttClient): Received[] => Recorder.of(client).messages

/** The barriers' view of a recorded list. */
const waitIn = (list: Received[]) => polledSubscriber(() => list)

describe('bridge to a real Mosquitto central', () => {
  let central: Central
  let t: TestHub
  let probe: MqttClient
  let atCentral: Received[]
  const open: MqttClient[] = []

  beforeAll(async () => {
    central = await Central.start()
    probe = await mqtt.connectAsync(central.url, { clientId: 'central-app', reconnectPeriod: 0 })
    atCentral = record(probe)
    await probe.subscribeAsync(`hall/${H}/#`, { qos: 1 })
    t = await startTestHub([w01, dash], { hall: H, upstream: { url: central.url }, bridge: { reconnectMinMs: 100, stateIntervalMs: 50 } })
  })
  afterAll(async () => {
    await closeAll([...open, probe])
    await t?.stop()
    await central?.dispose()
  })

  it('announces the hub and the bridge state at central, retained', async () => {
    await eventually(() => atCentral.find((m) => m.topic === `hall/${H}/hub/status` && m.payload.online === true), 5000, 'hub birth')
    await eventually(() => atCentral.find((m) => m.topic === `hall/${H}/hub/bridge` && m.payload.state === 'connected'), 5000, 'bridge state')
    const late = await mqtt.connectAsync(central.url, { reconnectPeriod: 0 })
    open.push(late)
    const seen = record(late)
    await late.subscribeAsync(`hall/${H}/hub/+`, { qos: 1 })
    await eventually(() => seen.filter((m) => m.retain).length >= 2, 3000, 'both hub topics retained at central')
  })

  it('brings commands down never retained, and never sends them back up', async () => {
    const board = await connectAs(t.hub.port, w01, { clean: false })
    open.push(board)
    const atBoard = record(board)
    expect(await subscribeOutcome(board, `${base}/cmd/+`)).toBe('granted')
    const cmd = command({ seconds: 3 }, { id: 'retained-by-mistake' })
    await probe.publishAsync(`${base}/cmd/identify`, JSON.stringify(cmd), { qos: 1, retain: true })
    await eventually(() => atBoard.find((m) => m.payload.id === 'retained-by-mistake'), 5000, 'the command at the board')
    expect(atBoard.find((m) => m.payload.id === 'retained-by-mistake')!.retain).toBe(false)

    // A window that subscribes later does not get a stale command replayed.
    const dashboard = await connectAs(t.hub.port, dash, { clientId: `${dash.username}-late` })
    open.push(dashboard)
    const atDash = record(dashboard)
    await dashboard.subscribeAsync(`${base}/cmd/+`, { qos: 1 })
    // The hub keeps no retained copy, so there is nothing a subscriber could be replayed (a fixed
    // wait could only show that none had come yet); a marker published after the subscription
    // then shows that nothing else was on its way to it.
    expect(await retainedAtHub(t.hub, `${base}/cmd/+`)).toEqual([])
    const tap = await HubTap.attach(t.hub, `${base}/cmd/+`)
    await markerBarrier(tap, waitIn(atDash), `${base}/cmd/identify`)
    await tap.detach()
    expect(atDash.filter((m) => !m.payload.barrier)).toEqual([])
    // Central saw its own command once (its subscription), not a second time from the hub. Barrier:
    // a board event sent after the command reached the board goes up the same bridge, in order.
    expect(await publishOutcome(board, `${base}/event/called`, JSON.stringify(boardEvent('called', 'barrier', 1)))).toBe('acked')
    await eventually(() => atCentral.find((m) => m.payload.id === 'barrier-1'), 5000, 'the board event at central (barrier)')
    expect(atCentral.filter((m) => m.payload.id === 'retained-by-mistake')).toHaveLength(1)
    await probe.publishAsync(`${base}/cmd/identify`, '', { qos: 1, retain: true }) // clear central's retained copy
  })

  it('a command central kept retained is answered once: at the bridge\'s next subscription its retained copy is cleared, not refused a second time', async () => {
    const board = await connectAs(t.hub.port, w01, { clean: false })
    open.push(board)
    const atBoard = record(board)
    expect(await subscribeOutcome(board, `${base}/cmd/+`)).toBe('granted')
    const cmd = command({ seconds: 3 }, { id: 'retained-then-reconnect' })
    await probe.publishAsync(`${base}/cmd/identify`, JSON.stringify(cmd), { qos: 1, retain: true })
    await eventually(() => atBoard.find((m) => m.payload.id === 'retained-then-reconnect'), 5000, 'the command at the board')
    // The bridge's connection is taken over at central and comes back; its subscriptions hand it the retained copy.
    const cleared = () => t.log.lines.filter((l) => l.msg === 'cleared a retained command at central' && l.topic === `${base}/cmd/identify`).length
    const before = cleared()
    const impostor = await mqtt.connectAsync(central.url, { clientId: `hub-${H}`, clean: false, reconnectPeriod: 0 })
    await impostor.endAsync()
    await eventually(() => cleared() > before, 10_000, 'the retained copy cleared at central')
    // Barrier: a board event sent now goes up the same custody log as a refusal would, after it.
    expect(await publishOutcome(board, `${base}/event/called`, JSON.stringify(boardEvent('called', 'rtr', 1)))).toBe('acked')
    await eventually(() => atCentral.find((m) => m.payload.id === 'rtr-1'), 10_000, 'the board event at central (barrier)')
    expect(atCentral.filter((m) => m.topic === `${base}/reply` && m.payload.cmd === 'retained-then-reconnect')).toEqual([])
    expect(atBoard.filter((m) => m.payload.id === 'retained-then-reconnect')).toHaveLength(1)
  })

  it('carries events and replies up at QoS 1, telemetry live at QoS 0, retained state retained', async () => {
    const board = await connectAs(t.hub.port, w01, { clean: false })
    open.push(board)
    const ev = boardEvent('called', 'bb1', 1)
    const state = { ...messageExamples.state, id: 'bb1-2', boot: 'bb1', seq: 2 }
    const tele = { ...messageExamples.telemetry, id: 'bb1-3', boot: 'bb1', seq: 3 }
    const reply = { ...messageExamples.reply, id: 'bb1-4', boot: 'bb1', seq: 4 }
    expect(await publishOutcome(board, `${base}/event/called`, JSON.stringify(ev))).toBe('acked')
    expect(await publishOutcome(board, `${base}/state`, JSON.stringify(state), { retain: true })).toBe('acked')
    board.publish(`${base}/telemetry`, JSON.stringify(tele), { qos: 0 })
    expect(await publishOutcome(board, `${base}/reply`, JSON.stringify(reply))).toBe('acked')
    await eventually(() => ['bb1-1', 'bb1-2', 'bb1-3', 'bb1-4'].every((id) => atCentral.some((m) => m.payload.id === id)), 5000, 'all four at central')
    expect(atCentral.find((m) => m.payload.id === 'bb1-2')!.retain).toBe(false) // live delivery to an existing subscriber
    const late = await mqtt.connectAsync(central.url, { reconnectPeriod: 0 })
    open.push(late)
    const seen = record(late)
    await late.subscribeAsync(`${base}/state`, { qos: 1 })
    await eventually(() => seen.find((m) => m.retain && m.payload.id === 'bb1-2'), 3000, 'the state retained at central')
  })

  it('acknowledges a board message that breaks the contract into the quarantine and does not forward it (logged and counted)', async () => {
    const board = await connectAs(t.hub.port, w01, { clean: false })
    open.push(board)
    expect(await publishOutcome(board, `${base}/event/evaluated`, JSON.stringify({ id: 'broken-1', score: 'great' }))).toBe('acked')
    await eventually(() => t.log.lines.find((l) => l.msg === 'acknowledged and quarantined a board message the hub cannot accept' && l.quarantined === 'invalid-payload'), 2000, 'the log line')
    expect(t.hub.counters.quarantined['invalid-payload']).toBe(1)
    // Barrier: a valid event sent after it goes up the same bridge, in order; once it is at central, the broken one would be too.
    expect(await publishOutcome(board, `${base}/event/called`, JSON.stringify(boardEvent('called', 'barrier', 2)))).toBe('acked')
    await eventually(() => atCentral.find((m) => m.payload.id === 'barrier-2'), 5000, 'the valid event at central (barrier)')
    expect(atCentral.some((m) => m.payload.id === 'broken-1')).toBe(false)
  })

  it("brings central's status down retained", async () => {
    await probe.publishAsync(`hall/${H}/central/status`, JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1, retain: true })
    await eventually(() => t.hub.hallView.snapshot().central?.online === true, 3000, 'central status in the hall view')
    const dashboard = await connectAs(t.hub.port, dash, { clientId: `${dash.username}-central` })
    open.push(dashboard)
    const atDash = record(dashboard)
    await dashboard.subscribeAsync(`hall/${H}/central/status`, { qos: 1 })
    await eventually(() => atDash.find((m) => m.retain && m.payload.online === true), 3000, 'central status retained at the hub')
  })

  it("brings central's waiting counts down retained, for the hall screen", async () => {
    const waiting = { services: [{ service: 'household', name: '户政业务', waiting: 4 }], ts: new Date().toISOString() }
    await probe.publishAsync(topics.centralWaiting(H), JSON.stringify(waiting), { qos: 1, retain: true })
    const held = await eventually(async () => (await retainedAtHub(t.hub, topics.centralWaiting(H)))[0], 3000, 'the waiting counts retained at the hub')
    expect(JSON.parse(held!.payload)).toEqual(waiting)
  })
})

describe('bridge over TLS to central', () => {
  it('verifies central with the configured CA and carries events up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bridge-tls-'))
    await chmod(dir, 0o755) // Mosquitto drops root and must read the key
    const pki = makeTestPki(dir, [])
    await chmod(pki.server.key, 0o644)
    const central = await Central.start({ tls: { ca: pki.ca, cert: pki.server.cert, key: pki.server.key } })
    const ca = await readFile(pki.ca)
    const probe = await mqtt.connectAsync(central.url, { ca, reconnectPeriod: 0 })
    const atCentral = record(probe)
    await probe.subscribeAsync(`hall/${H}/#`, { qos: 1 })
    const t = await startTestHub([w01], { hall: H, upstream: { url: central.url, caFile: pki.ca }, bridge: { reconnectMinMs: 100 } })
    try {
      await eventually(() => atCentral.find((m) => m.topic === `hall/${H}/hub/status` && m.payload.online === true), 5000, 'hub birth over TLS')
      const board = await connectAs(t.hub.port, w01)
      expect(await publishOutcome(board, `${base}/event/no-show`, JSON.stringify(boardEvent('no-show', 'tls', 1)))).toBe('acked')
      await eventually(() => atCentral.find((m) => m.payload.id === 'tls-1'), 5000, 'the event over TLS')
      await board.endAsync()
    } finally {
      await probe.endAsync()
      await t.stop()
      await central.dispose()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

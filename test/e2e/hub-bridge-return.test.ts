import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import { startTestHub, user, connectAs, publishOutcome, closeAll, boardEvent, type TestHub } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { Recorder, eventually, type Received } from '../support/probe.ts'

const H = 'h23r'
const w01 = user('board', H, 'w01')
const base = `hall/${H}/counter/w01`
const BACKLOG = 300

/**
 * Central stopped and started again (a real Mosquitto, its sessions kept): the backlog the hub
 * kept meanwhile reaches central within 5 s of its return (issue 23), though the bridge's backoff
 * had it wait 6 to 12 s for its next attempt: a refused connect arms a knock on central's port,
 * and the first answer ends the wait (hub/central-return-watch.ts).
 */
describe('the bridge when central comes back', () => {
  let central: Central
  let t: TestHub
  let app: MqttClient
  let atCentral: Received[]
  let board: MqttClient

  beforeAll(async () => {
    central = await Central.start()
    // Central's own consumer keeps a persistent session, so what the bridge sends while it reconnects is queued for it.
    app = await mqtt.connectAsync(central.url, { clientId: 'central-app-return', clean: false, reconnectPeriod: 100 })
    app.on('error', () => undefined)
    atCentral = Recorder.of(app).messages
    await app.subscribeAsync(`hall/${H}/counter/+/event/+`, { qos: 1 })
    // A first delay of 3 to 6 s after losing central and 6 to 12 s after the first refused attempt: without the knock, no drain within 5 s.
    t = await startTestHub([w01], { hall: H, upstream: { url: central.url }, bridge: { reconnectMinMs: 6_000, reconnectMaxMs: 30_000, stateIntervalMs: 50 } })
    board = await connectAs(t.hub.port, w01, { clean: false })
  })
  afterAll(async () => {
    await closeAll([board, app])
    await t?.stop()
    await central?.dispose()
  })

  it('drains the backlog within 5 s of central answering again', async () => {
    expect(await publishOutcome(board, `${base}/event/called`, JSON.stringify(boardEvent('called', 'before', 0)))).toBe('acked')
    await eventually(() => atCentral.some((m) => m.payload.id === 'before-0'), 10_000, 'an event at central while it is up')

    await central.stopProcess()
    // Wait for the attempt central's port refused: from then on the bridge waits out its backoff.
    await eventually(() => t.log.lines.some((l) => l.msg === 'bridge upstream error' && /ECONNREFUSED/.test(String(l.err))), 15_000, 'a refused reconnect attempt')
    // Each resolves on the hub's PUBACK: the event is in custody.
    for (let i = 0; i < BACKLOG; i++) await board.publishAsync(`${base}/event/called`, JSON.stringify(boardEvent('called', 'away', i)), { qos: 1 })
    expect(t.hub.bridge!.backlog).toBe(BACKLOG)

    await central.startProcess()
    await eventually(() => new Set(atCentral.filter((m) => String(m.payload.id).startsWith('away-')).map((m) => m.payload.id)).size === BACKLOG, 5_000, `all ${BACKLOG} events at central within 5 s of its return`)
    await eventually(() => t.hub.bridge!.backlog === 0, 5_000, 'custody emptied')
    expect(t.log.lines.some((l) => l.msg === 'central answers again: reconnecting now')).toBe(true)
  }, 60_000)
})

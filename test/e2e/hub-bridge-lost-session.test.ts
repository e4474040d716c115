import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import { messageExamples } from '../../edge/protocol/index.ts'
import { startTestHub, user, connectAs, publishOutcome, closeAll, statusMessage, type TestHub } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { Recorder, eventually } from '../support/probe.ts'

const H = 'h-lost'
const w01 = user('board', H, 'w01')
const base = `hall/${H}/counter/w01`
const BOOT = 'b0a7'

function stateMessage(seq: number, mode: 'idle' | 'closed'): Record<string, unknown> {
  return { ...messageExamples.state, mode, ticket: null, evaluation: null, id: `${BOOT}-${seq}`, boot: BOOT, seq, ts: new Date().toISOString(), synced: true }
}

/**
 * What central's broker retains on the window's topics now. The broker sends a subscription's retained
 * messages right after its SUBACK, so a marker published after the SUBACK comes behind them: the barrier.
 */
async function retainedAtCentral(url: string): Promise<Map<string, string>> {
  const probe = await mqtt.connectAsync(url, { clientId: `retained-probe-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 0 })
  const got = new Map<string, string>()
  const marker = `hall/${H}/test-barrier`
  let barrier = false
  probe.on('message', (topic, payload, packet) => {
    if (topic === marker) barrier = true
    else if (packet.retain) got.set(topic, String((JSON.parse(payload.toString()) as { id: string }).id))
  })
  try {
    await probe.subscribeAsync([`${base}/+`, marker], { qos: 1 })
    await probe.publishAsync(marker, 'after the retained ones', { qos: 1 })
    await eventually(() => barrier, 5_000, 'the barrier behind the retained messages')
    return got
  } finally {
    await probe.endAsync(true)
  }
}

/**
 * Central's broker restarted without its store (SIGKILL, nothing saved): it comes back with no session
 * for the bridge and none of the hall's retained messages. The bridge, told so by the CONNACK, sends the
 * boards' retained status and state again, the newest of each, so a central that reads retained state
 * after reconnecting sees the windows again. Without it central held nothing for a window until its
 * state next changed (found by the integrator helper: after a broker restart only hub/status came back).
 */
describe('the bridge when central lost its session', () => {
  let central: Central
  let t: TestHub
  let board: MqttClient

  beforeAll(async () => {
    central = await Central.start()
    t = await startTestHub([w01], { hall: H, upstream: { url: central.url }, bridge: { reconnectMinMs: 200, reconnectMaxMs: 1_000, stateIntervalMs: 50 } })
    board = await connectAs(t.hub.port, w01, { clean: false })
  })
  afterAll(async () => {
    await closeAll([board])
    await t?.stop()
    await central?.dispose()
  })

  it("sends the boards' retained status and state again, the newest of each", async () => {
    const app = await mqtt.connectAsync(central.url, { clientId: 'central-app-lost', reconnectPeriod: 0 })
    const atCentral = Recorder.of(app).messages
    await app.subscribeAsync(`${base}/+`, { qos: 1 })
    expect(await publishOutcome(board, `${base}/status`, JSON.stringify(statusMessage(BOOT, 1, true)), { retain: true })).toBe('acked')
    expect(await publishOutcome(board, `${base}/state`, JSON.stringify(stateMessage(2, 'closed')), { retain: true })).toBe('acked')
    await eventually(() => atCentral.some((m) => m.payload.id === `${BOOT}-2`), 10_000, 'the state at central')
    await app.endAsync(true)
    expect(await retainedAtCentral(central.url)).toEqual(new Map([[`${base}/status`, `${BOOT}-1`], [`${base}/state`, `${BOOT}-2`]]))

    await central.kill()
    // While central is away the window changes: the newer state waits in custody, the older copy is gone with central's store.
    expect(await publishOutcome(board, `${base}/state`, JSON.stringify(stateMessage(3, 'idle')), { retain: true })).toBe('acked')
    await central.startProcess()
    await eventually(() => t.log.lines.filter((l) => l.msg === 'bridge connected to central').length === 2, 15_000, 'the bridge back at central')
    await eventually(() => t.hub.bridge!.backlog === 0, 10_000, 'custody emptied')

    expect(await retainedAtCentral(central.url)).toEqual(new Map([[`${base}/status`, `${BOOT}-1`], [`${base}/state`, `${BOOT}-3`]]))
  }, 60_000)
})

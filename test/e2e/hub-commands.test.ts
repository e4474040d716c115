import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import { parseMessage } from '../../edge/protocol/index.ts'
import { startTestHub, user, connectAs, subscribeOutcome, closeAll, type TestHub } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { Recorder, command, type Received } from '../support/probe.ts'
import { markerBarrier, polledSubscriber } from '../support/barrier.ts'

const H = 'h23'
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02') // provisioned, its board never connects
const w03 = user('board', H, 'w03') // connects, and subscribes only later
const base = (counter: string) => `hall/${H}/counter/${counter}`

/**
 * The corners of the command contract that used to be silent (issue 23), seen from a real
 * Mosquitto as central: every command central sends gets one reply, from the board or, when
 * no board will act on it, from the hub.
 */
describe('commands the hub answers itself', () => {
  let central: Central
  let t: TestHub
  let app: MqttClient
  let atCentral: Received[]
  let board: MqttClient
  let atBoard: Received[]
  const retainedId = 'left-retained-at-central'
  const open: MqttClient[] = []

  const replyTo = (id: string) => polledSubscriber(() => atCentral).waitFor((m) => m.topic.endsWith('/reply') && m.payload.cmd === id, 10_000, `the reply to ${id}`)

  beforeAll(async () => {
    central = await Central.start()
    app = await mqtt.connectAsync(central.url, { clientId: 'central-app-23', reconnectPeriod: 0 })
    atCentral = Recorder.of(app).messages
    // A command someone retained at central before the hall's hub ever connected: the hub sees it with its retain flag.
    await app.publishAsync(`${base('w01')}/cmd/identify`, JSON.stringify(command({ seconds: 1 }, { id: retainedId })), { qos: 1, retain: true })
    await app.subscribeAsync(`hall/${H}/#`, { qos: 1 })
    t = await startTestHub([w01, w02, w03], { hall: H, upstream: { url: central.url }, bridge: { reconnectMinMs: 100, stateIntervalMs: 50 } })
    await polledSubscriber(() => atCentral).waitFor((m) => m.topic === `hall/${H}/hub/bridge` && m.payload.state === 'connected', 10_000, 'the bridge connected')
  })
  afterAll(async () => {
    await closeAll([...open, app, board])
    await t?.stop()
    await central?.dispose()
  })

  /** Whatever the hub answers is a valid reply of the contract, from the hub's boot, for the command's id. */
  async function expectHubRefusal(counter: string, id: string, code: string) {
    const reply = await replyTo(id)
    expect(reply.topic).toBe(`${base(counter)}/reply`)
    const parsed = parseMessage(reply.topic, Buffer.from(JSON.stringify(reply.payload)))
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true)
    const hubBoot = atCentral.find((m) => m.topic === `hall/${H}/hub/status` && m.payload.online === true)!.payload.boot
    expect(reply.payload).toMatchObject({ cmd: id, ok: false, code, boot: hubBoot })
    return reply.payload
  }

  it('refuses a command retained at central with retained-refused, and clears the retained copy there', async () => {
    const reply = await expectHubRefusal('w01', retainedId, 'retained-refused')
    expect(reply.name).toBe('identify')
    expect(t.hub.counters.commandsRefused['retained-refused']).toBe(1)
    // Central no longer holds it: a new subscriber is sent retained messages right after its SUBACK,
    // so once a marker published after the subscription has arrived, a retained command would have too.
    const late = await mqtt.connectAsync(central.url, { reconnectPeriod: 0 })
    open.push(late)
    const atLate = Recorder.of(late)
    await late.subscribeAsync([`${base('w01')}/cmd/+`, 'test/marker'], { qos: 1 })
    await markerBarrier({ publish: (topic, payload) => app.publishAsync(topic, JSON.stringify(payload), { qos: 1 }) }, atLate, 'test/marker')
    expect(atLate.messages.filter((m) => m.topic !== 'test/marker')).toEqual([])
  })

  it('answers a command for a counter no board of the hall has, and for a provisioned one whose board never connected, with unknown-counter', async () => {
    const nobody = command({ seconds: 1 })
    await app.publishAsync(`${base('w99')}/cmd/identify`, JSON.stringify(nobody), { qos: 1 })
    const r99 = await expectHubRefusal('w99', nobody.id as string, 'unknown-counter')
    expect(r99.message).toMatch(/w99.*not provisioned/)

    const never = command({ seconds: 1 })
    await app.publishAsync(`${base('w02')}/cmd/identify`, JSON.stringify(never), { qos: 1 })
    const r02 = await expectHubRefusal('w02', never.id as string, 'unknown-counter')
    expect(r02.message).toMatch(/w02.*never connected/)

    // A payload whose id cannot be read is answered all the same, with cmd null as a board would.
    await app.publishAsync(`${base('w99')}/cmd/sync`, 'not json', { qos: 1 })
    await polledSubscriber(() => atCentral).waitFor((m) => m.topic === `${base('w99')}/reply` && m.payload.cmd === null && m.payload.code === 'unknown-counter', 10_000, 'the reply with cmd null')
  })

  it('holds a command for a known board that is offline, and delivers it when the board is back (no reply from the hub)', async () => {
    board = await connectAs(t.hub.port, w01, { clean: false })
    expect(await subscribeOutcome(board, `${base('w01')}/cmd/+`)).toBe('granted')
    await board.endAsync()
    const held = command({ seconds: 1 })
    await app.publishAsync(`${base('w01')}/cmd/identify`, JSON.stringify(held), { qos: 1 })
    board = await connectAs(t.hub.port, w01, { clean: false })
    atBoard = Recorder.of(board).messages
    await polledSubscriber(() => atBoard).waitFor((m) => m.payload.id === held.id, 10_000, 'the held command at the board')
    // The hub said nothing about it: the reply is the board's to give.
    expect(atCentral.filter((m) => m.topic.endsWith('/reply') && m.payload.cmd === held.id)).toEqual([])
    expect(t.hub.counters.commandsRefused['unknown-counter']).toBe(3)
  })

  it('answers a command for a board that is connected but not yet subscribed with unknown-counter (it was acknowledged and handed to no one), and delivers once it is', async () => {
    const early = await connectAs(t.hub.port, w03)
    open.push(early)
    const atEarly = Recorder.of(early).messages
    const before = command({ seconds: 1 })
    await app.publishAsync(`${base('w03')}/cmd/identify`, JSON.stringify(before), { qos: 1 })
    const refused = await expectHubRefusal('w03', before.id as string, 'unknown-counter')
    expect(refused.message).toMatch(/w03.*connected.*not subscribed/)
    expect(await subscribeOutcome(early, `${base('w03')}/cmd/+`)).toBe('granted')
    const after = command({ seconds: 1 })
    await app.publishAsync(`${base('w03')}/cmd/identify`, JSON.stringify(after), { qos: 1 })
    await polledSubscriber(() => atEarly).waitFor((m) => m.payload.id === after.id, 10_000, 'the command at the subscribed board')
    expect(atCentral.filter((m) => m.topic.endsWith('/reply') && m.payload.cmd === after.id)).toEqual([])
  })

  it('refuses a QoS 0 command with qos-required and never hands it to the board', async () => {
    const q0 = command({ seconds: 1 })
    await app.publishAsync(`${base('w01')}/cmd/identify`, JSON.stringify(q0), { qos: 0 })
    await expectHubRefusal('w01', q0.id as string, 'qos-required')
    // Barrier: a QoS 1 command sent after it reaches the board through the same bridge, in order.
    const after = command({ seconds: 1 })
    await app.publishAsync(`${base('w01')}/cmd/identify`, JSON.stringify(after), { qos: 1 })
    await polledSubscriber(() => atBoard).waitFor((m) => m.payload.id === after.id, 10_000, 'the QoS 1 command behind it')
    expect(atBoard.filter((m) => m.payload.id === q0.id)).toEqual([])
    // Nor did the retained one ever reach it.
    expect(atBoard.filter((m) => m.payload.id === retainedId)).toEqual([])
  })

  it('holds a technician connected to the hub itself to the same rules: QoS 0 and unknown counters get a reply in the hall', async () => {
    const tech = user('technician', H)
    const t2 = await startTestHub([w01, tech], { hall: H })
    try {
      const client = await connectAs(t2.hub.port, tech, { clientId: `${tech.username}-cli` })
      open.push(client)
      const atTech = Recorder.of(client)
      await client.subscribeAsync(`hall/${H}/counter/+/reply`, { qos: 1 })
      const unknown = command({ seconds: 1 })
      await client.publishAsync(`${base('w42')}/cmd/identify`, JSON.stringify(unknown), { qos: 1 })
      const r = await atTech.waitFor((m) => m.payload.cmd === unknown.id, 10_000, 'the unknown-counter reply in the hall')
      expect(r.payload).toMatchObject({ ok: false, code: 'unknown-counter' })
      const q0 = command({ seconds: 1 })
      await client.publishAsync(`${base('w01')}/cmd/identify`, JSON.stringify(q0), { qos: 0 })
      const r0 = await atTech.waitFor((m) => m.payload.cmd === q0.id, 10_000, 'the qos-required reply in the hall')
      expect(r0.payload).toMatchObject({ ok: false, code: 'qos-required' })
      expect(client.connected).toBe(true)
    } finally {
      await t2.stop()
    }
  })
})

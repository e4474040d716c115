import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { connect as netConnect, type Socket } from 'node:net'
import type { MqttClient } from 'mqtt'
import { startTestHub, user, connectAs, publishOutcome, subscribeOutcome, closeAll, writeUsers, statusMessage, type TestHub } from '../hub/support/hub-fixture.ts'
import { eventually, command } from '../support/probe.ts'
import { letTimePass } from '../support/pace.ts'

/**
 * Each hardening case of docs/architecture.md §6 against a real hub: refused, logged
 * with its kind, counted, and never disturbing other clients. Each case
 * connects from its own loopback address, since the guards are per address.
 */

const H = 'h1'
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02')
const w03 = user('board', H, 'w03')
const tech = user('technician', H)
const dash = user('dashboard', H)
const stranger = user('board', 'h2', 'w01') // provisioned for another hall by mistake
const USERS = [w01, w02, w03, tech, dash, stranger]

const LIMITS = {
  maxConnectionsPerAddress: 3,
  connectBurstPerAddress: 20,
  connectsPerSecondPerAddress: 1,
  loginFailuresPerAddress: 2,
  // Long enough that the guesses below (scrypt each, on a loaded machine) all land before a token comes back.
  loginFailureRefillMsPerAddress: 3_000,
  maxQueuedPerClient: 5,
  maxPayloadBytes: 1024,
}

function mqttString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8')
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b])
}

/** A raw MQTT 3.1.1 CONNECT, for what mqtt.js refuses to send (an empty client id with a persistent session). */
function connectPacket(o: { clientId: string; clean: boolean; username: string; password: string }): Buffer {
  const flags = 0x80 | 0x40 | (o.clean ? 0x02 : 0)
  const body = Buffer.concat([mqttString('MQTT'), Buffer.from([4, flags, 0, 60]), mqttString(o.clientId), mqttString(o.username), mqttString(o.password)])
  if (body.length > 127) throw new Error('test packet too long for a one-byte length')
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

/** Opens a raw socket from an address; resolves with what the hub sent once it closes (or after waitMs). */
function raw(port: number, from: string, send: Buffer[] = [], waitMs = 2_000): Promise<{ data: Buffer; closed: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const s = netConnect({ host: '127.0.0.1', port, localAddress: from })
    s.on('data', (d) => {
      chunks.push(d)
    })
    s.on('error', () => {})
    s.on('connect', () => {
      for (const b of send) s.write(b)
    })
    const t = setTimeout(() => resolve({ data: Buffer.concat(chunks), closed: false, socket: s }), waitMs)
    s.on('close', () => {
      clearTimeout(t)
      resolve({ data: Buffer.concat(chunks), closed: true, socket: s })
    })
  })
}

describe('hub hardening', () => {
  let t: TestHub
  const open: MqttClient[] = []
  const sockets: Socket[] = []

  beforeAll(async () => {
    t = await startTestHub(USERS, { hall: H, limits: LIMITS })
  })
  afterAll(async () => {
    sockets.forEach((s) => s.destroy())
    await closeAll(open)
    await t?.stop()
  })

  it('refuses an empty client id with a persistent session: CONNACK 2 (MQTT-3.1.3-8)', async () => {
    const r = await raw(t.hub.port, '127.0.0.10', [connectPacket({ clientId: '', clean: false, username: w01.username, password: w01.password })])
    expect([...r.data.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x02])
    expect(r.closed).toBe(true)
    expect(t.log.refusals('empty-client-id')).toHaveLength(1)
  })

  it('holds failed logins per address: refuses even the right password with the same answer once its failures are spent, other addresses unaffected', async () => {
    const wrong = { ...w01, password: 'guess' }
    for (let i = 0; i < 3; i++) await expect(connectAs(t.hub.port, wrong, { from: '127.0.0.11' })).rejects.toThrow(/Bad username or password/)
    // Every login refusal answers CONNACK 4, so being held tells nothing about the password.
    await expect(connectAs(t.hub.port, w01, { from: '127.0.0.11' })).rejects.toThrow(/Bad username or password/)
    const held = t.log.refusals('login-backoff').filter((l) => l.address === '127.0.0.11')
    expect(held).toHaveLength(2) // the third guess and the right password: no password checked for either
    expect(held[0]?.bucket).toBe('address')
    expect(held[0]?.retryInMs).toBeGreaterThan(0)
    expect(t.log.refusals('bad-credentials').filter((l) => l.address === '127.0.0.11')).toHaveLength(2)

    open.push(await connectAs(t.hub.port, w02, { from: '127.0.0.12' }))
    await letTimePass(3_050, "wait out the address's 3 s refill on the hub's real clock")
    open.push(await connectAs(t.hub.port, w01, { from: '127.0.0.11' })) // one token back, and the right password spends none
    expect(t.log.text()).not.toContain('guess')
    expect(t.log.text()).not.toContain(w01.password)
  })

  it('caps open connections per address; another address still connects', async () => {
    const held = await Promise.all([0, 1, 2].map(() => raw(t.hub.port, '127.0.0.13', [], 300)))
    held.forEach((h) => sockets.push(h.socket))
    expect(held.every((h) => !h.closed)).toBe(true)
    const fourth = await raw(t.hub.port, '127.0.0.13', [connectPacket({ clientId: w03.username, clean: true, username: w03.username, password: w03.password })])
    expect(fourth.closed).toBe(true)
    expect(fourth.data.length).toBe(0) // not even a CONNACK: the socket is cut at accept
    expect(t.log.refusals('connection-cap').find((l) => l.address === '127.0.0.13')).toBeDefined()
    open.push(await connectAs(t.hub.port, w03, { from: '127.0.0.14' }))
  })

  it('limits the connection rate per address', async () => {
    for (let i = 0; i < LIMITS.connectBurstPerAddress; i++) {
      const s = await raw(t.hub.port, '127.0.0.15', [], 0)
      s.socket.destroy()
      await letTimePass(15, 'connections a moment apart, each counted by the rate limit')
    }
    const next = await raw(t.hub.port, '127.0.0.15', [], 1_000)
    expect(next.closed).toBe(true)
    expect(t.log.refusals('connection-rate').find((l) => l.address === '127.0.0.15')).toBeDefined()
  })

  it('caps a persistent session\'s offline queue: past the cap new messages are dropped, logged and counted', async () => {
    const from = '127.0.0.16'
    const board = await connectAs(t.hub.port, w02, { from, clean: false })
    expect(await subscribeOutcome(board, `hall/${H}/counter/w02/cmd/+`)).toBe('granted')
    await board.endAsync()
    const technician = await connectAs(t.hub.port, tech, { from, clientId: `${tech.username}-q` })
    open.push(technician)
    const ids = Array.from({ length: 8 }, (_, i) => `q-${i}`)
    for (const id of ids) expect(await publishOutcome(technician, `hall/${H}/counter/w02/cmd/identify`, JSON.stringify(command({ seconds: 5 }, { id })))).toBe('acked')
    await eventually(() => t.hub.counters.refusals['offline-queue-full'] === 3, 3000, 'three drops')
    expect(t.log.refusals('offline-queue-full').every((l) => l.client === w02.username && l.cap === 5)).toBe(true)

    const got: string[] = []
    const back = await connectAs(t.hub.port, w02, { from, clean: false })
    open.push(back)
    back.on('message', (_topic, payload) => got.push(JSON.parse(payload.toString()).id))
    await eventually(() => got.length >= 5, 3000, 'the queued commands')
    // Acknowledged messages leave the queue: the board, now online, gets new commands again. That
    // command is also the barrier: on the same subscription, nothing more of the queue after it.
    expect(await publishOutcome(technician, `hall/${H}/counter/w02/cmd/identify`, JSON.stringify(command({ seconds: 5 }, { id: 'q-after' })))).toBe('acked')
    await eventually(() => got.includes('q-after'), 3000, 'a command after the queue drained')
    expect(got).toEqual([...ids.slice(0, 5), 'q-after'])
    expect(t.hub.counters.refusals['offline-queue-full']).toBe(3)
  })

  it("an oversized payload: quarantined at QoS 1 under the board's own window, refused at QoS 0; an oversized packet refused before it is buffered", async () => {
    const from = '127.0.0.17'
    const dashboard = await connectAs(t.hub.port, dash, { from, clientId: `${dash.username}-17` })
    open.push(dashboard)
    const board = await connectAs(t.hub.port, w01, { from, reconnectPeriod: 0 })
    // At QoS 1 under its own window, the board's journal would send it again for ever: kept in the quarantine, acknowledged.
    expect(await publishOutcome(board, `hall/${H}/counter/w01/telemetry`, 'x'.repeat(2_000))).toBe('acked')
    expect(t.hub.counters.quarantined['payload-too-large']).toBe(1)
    // At QoS 0 nothing is resent: refused, and the connection closed.
    board.publish(`hall/${H}/counter/w01/telemetry`, 'x'.repeat(2_001), { qos: 0 })
    await eventually(() => !board.connected, 2000, 'the board closed')
    expect(t.log.refusals('payload-too-large').find((l) => l.client === w01.username && l.bytes === 2_001)).toBeDefined()

    const again = await connectAs(t.hub.port, w01, { from })
    expect(await publishOutcome(again, `hall/${H}/counter/w01/telemetry`, 'x'.repeat(40_000))).toBe('closed')
    await eventually(() => t.log.refusals('payload-too-large').find((l) => (l.announced as number) > 40_000), 2000, 'the frame refusal')
    expect(dashboard.connected).toBe(true)
  })

  it('a malformed packet closes only that client; garbage before CONNECT too; the hub keeps serving', async () => {
    const from = '127.0.0.18'
    const dashboard = await connectAs(t.hub.port, dash, { from, clientId: `${dash.username}-18` })
    open.push(dashboard)
    const seen: string[] = []
    dashboard.on('message', (topic) => seen.push(topic))
    expect(await subscribeOutcome(dashboard, `hall/${H}/counter/+/status`)).toBe('granted')
    const before = t.hub.counters.refusals['malformed-packet']

    const login = connectPacket({ clientId: w03.username, clean: true, username: w03.username, password: w03.password })
    // Log in properly, then send a PUBLISH with both QoS bits set.
    const bad = netConnect({ host: '127.0.0.1', port: t.hub.port, localAddress: from })
    bad.on('error', () => {})
    const connack = await new Promise<Buffer>((r) => {
      bad.once('data', r)
      bad.write(login)
    })
    expect([...connack.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x00])
    await new Promise<void>((r) => {
      bad.once('close', () => r())
      bad.write(Buffer.from([0x36, 0x02, 0x00, 0x00]))
    })
    const http = await raw(t.hub.port, from, [Buffer.from('GET / HTTP/1.1\r\nHost: hub\r\n\r\n')])
    expect(http.closed).toBe(true)
    await eventually(() => t.hub.counters.refusals['malformed-packet'] >= before + 2, 2000, 'two malformed-packet refusals')

    const board = await connectAs(t.hub.port, w03, { from: '127.0.0.21' })
    open.push(board)
    expect(await publishOutcome(board, `hall/${H}/counter/w03/status`, JSON.stringify(statusMessage('b3', 0, true)), { retain: true })).toBe('acked')
    await eventually(() => seen.includes(`hall/${H}/counter/w03/status`), 2000, 'the dashboard to still receive')
    expect(dashboard.connected).toBe(true)
  })

  it('refuses credentials issued for another hall', async () => {
    // The same answer as a wrong password: the password is not even checked against another hall's entry.
    await expect(connectAs(t.hub.port, stranger, { from: '127.0.0.22' })).rejects.toThrow(/Bad username or password/)
    expect(t.log.refusals('bad-credentials').find((l) => l.username === stranger.username && l.address === '127.0.0.22')).toBeDefined()
  })

  it('refuses a last will on a topic the client may not publish', async () => {
    const attempt = connectAs(t.hub.port, w01, { from: '127.0.0.19', will: { topic: `hall/${H}/counter/w02/status`, payload: Buffer.from('{}'), qos: 1, retain: true } })
    await expect(attempt).rejects.toThrow(/Not authorized/)
    expect(t.log.refusals('will-denied').find((l) => l.topic === `hall/${H}/counter/w02/status`)).toBeDefined()
  })

  it('a revoked board loses its session at once and cannot log in again', async () => {
    const from = '127.0.0.20'
    const board = await connectAs(t.hub.port, w03, { from })
    const closed = new Promise<void>((r) => board.once('close', () => r()))
    await writeUsers(t.credentialsFile, USERS.filter((u) => u !== w03))
    await closed
    expect(t.log.refusals('revoked-session').find((l) => l.username === w03.username)).toBeDefined()
    await expect(connectAs(t.hub.port, w03, { from })).rejects.toThrow(/Bad username or password/)
  })
})

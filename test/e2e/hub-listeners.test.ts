import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:http'
import mqtt, { type MqttClient } from 'mqtt'
import { startTestHub, user, connectAs, publishOutcome, subscribeOutcome, closeAll, statusMessage, type TestHub } from '../hub/support/hub-fixture.ts'
import { makeTestPki, type TestPki } from '../hub/support/certs.ts'
import { freePort } from '../support/ports.ts'
import { eventually } from '../support/probe.ts'
import { messageExamples } from '../../edge/protocol/index.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02')
const dash = user('dashboard', H)

describe('hub listeners: TLS with client certificates, WebSocket for the dashboard', () => {
  let t: TestHub
  let pki: TestPki
  let pkiDir: string
  const open: MqttClient[] = []

  beforeAll(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), 'hub-pki-'))
    pki = makeTestPki(pkiDir, [w01.username, w02.username])
    const [tlsPort, wsPort] = [await freePort(), await freePort()]
    t = await startTestHub([w01, w02, dash], {
      hall: H,
      tls: { port: tlsPort, certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.ca, requestCert: true },
      ws: { port: wsPort },
    })
  })
  afterAll(async () => {
    await closeAll(open)
    await t?.stop()
    await rm(pkiDir, { recursive: true, force: true })
  })

  async function tls(cn: string | null, as = w01) {
    const files = cn ? pki.clients[cn]! : null
    return mqtt.connectAsync(`mqtts://127.0.0.1:${t.hub.tlsPort}`, {
      ca: await readFile(pki.ca),
      ...(files ? { cert: await readFile(files.cert), key: await readFile(files.key) } : {}),
      clientId: as.username,
      username: as.username,
      password: as.password,
      reconnectPeriod: 0,
      connectTimeout: 3_000,
    })
  }

  it('accepts a board whose certificate CN equals its username (and its password is right)', async () => {
    const c = await tls(w01.username)
    open.push(c)
    expect(await publishOutcome(c, `hall/${H}/counter/w01/status`, JSON.stringify(statusMessage('tls1', 0, true)), { retain: true })).toBe('acked')
  })

  it('refuses a certificate of another window, and the right certificate with a wrong password', async () => {
    // Answered as a wrong password would be (issue 20 D): the certificate is compared before the password is checked.
    await expect(tls(w02.username, w01)).rejects.toThrow(/Bad username or password/)
    expect(t.log.refusals('cert-mismatch').find((l) => l.username === w01.username)).toBeDefined()
    await expect(tls(w01.username, { ...w01, password: 'nope' })).rejects.toThrow(/Bad username or password/)
  })

  it('refuses a client without a certificate at the handshake', async () => {
    await expect(tls(null)).rejects.toThrow()
    await eventually(() => t.log.refusals('tls-handshake').length > 0, 3000, 'a tls-handshake refusal')
  })

  it('serves the dashboard over WebSocket, with the same authentication and ACL', async () => {
    const url = `ws://127.0.0.1:${t.hub.wsPort}/mqtt`
    await expect(mqtt.connectAsync(url, { username: dash.username, password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/)
    const d = await mqtt.connectAsync(url, { clientId: `${dash.username}-ws`, username: dash.username, password: dash.password, reconnectPeriod: 0 })
    open.push(d)
    const got: string[] = []
    d.on('message', (topic) => got.push(topic))
    expect(await subscribeOutcome(d, `hall/${H}/#`)).toBe('granted')
    expect(await subscribeOutcome(d, 'hall/h2/#')).toBe('denied')
    expect(await publishOutcome(d, `hall/${H}/counter/w02/cmd/identify`, '{}')).toBe('closed') // read-only role

    const d2 = await mqtt.connectAsync(url, { clientId: `${dash.username}-ws2`, username: dash.username, password: dash.password, reconnectPeriod: 0 })
    open.push(d2)
    const seen: string[] = []
    d2.on('message', (topic) => seen.push(topic))
    await d2.subscribeAsync(`hall/${H}/counter/+/state`, { qos: 1 })
    const board = await connectAs(t.hub.port, w02)
    open.push(board)
    const state = { ...messageExamples.state, boot: 'b2', id: 'b2-1', seq: 1 }
    expect(await publishOutcome(board, `hall/${H}/counter/w02/state`, JSON.stringify(state), { retain: true })).toBe('acked')
    await eventually(() => seen.includes(`hall/${H}/counter/w02/state`), 3000, 'the state over WebSocket')
  })

  it('cuts a WebSocket client that sends an oversized packet', async () => {
    const d = await mqtt.connectAsync(`ws://127.0.0.1:${t.hub.wsPort}/mqtt`, { clientId: `${dash.username}-big`, username: dash.username, password: dash.password, reconnectPeriod: 0 })
    open.push(d)
    expect(await publishOutcome(d, `hall/${H}/counter/w02/telemetry`, 'x'.repeat(40_000))).toBe('closed')
    await eventually(() => t.log.refusals('payload-too-large').length > 0, 2000, 'a payload-too-large refusal')
  })

  it('answers plain HTTP on the WebSocket port with 426', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request({ host: '127.0.0.1', port: t.hub.wsPort!, path: '/' }, (res) => {
        res.resume()
        resolve(res.statusCode)
      })
        .on('error', reject)
        .end()
    })
    expect(status).toBe(426)
  })
})

describe('hall view through a real hub', () => {
  let t: TestHub
  const open: MqttClient[] = []
  const base = `hall/${H}/counter/w01`

  beforeAll(async () => {
    t = await startTestHub([w01, w02, dash], { hall: H })
  })
  afterAll(async () => {
    await closeAll(open)
    await t?.stop()
  })

  it('marks a window offline from its will, back online on a new boot, and ignores the old boot\'s late will', async () => {
    const will = { topic: `${base}/status`, payload: Buffer.from(JSON.stringify(statusMessage('boot-a', 1, false))), qos: 1 as const, retain: true }
    const first = await connectAs(t.hub.port, w01, { will })
    expect(await publishOutcome(first, `${base}/status`, JSON.stringify(statusMessage('boot-a', 0, true)), { retain: true })).toBe('acked')
    await eventually(() => t.hub.hallView.window('w01')?.online && t.hub.hallView.window('w01')?.connected, 2000, 'online and connected')

    ;(first.stream as unknown as { destroy(): void }).destroy() // the board loses power
    first.end(true)
    await eventually(() => t.hub.hallView.window('w01')?.online === false, 3000, 'offline from the will')
    expect(t.hub.hallView.window('w01')).toMatchObject({ offlineReason: 'will', connected: false, boot: 'boot-a' })

    const second = await connectAs(t.hub.port, w01)
    open.push(second)
    expect(await publishOutcome(second, `${base}/status`, JSON.stringify(statusMessage('boot-b', 0, true)), { retain: true })).toBe('acked')
    await eventually(() => t.hub.hallView.window('w01')?.boot === 'boot-b', 2000, 'the new boot')
    // The old boot's will arrives late (e.g. replayed): the window stays online.
    expect(await publishOutcome(second, `${base}/status`, JSON.stringify(statusMessage('boot-a', 2, false)), { retain: true })).toBe('acked')
    await eventually(() => t.hub.counters.staleWills === 1, 2000, 'the stale will to be counted')
    expect(t.hub.hallView.snapshot().windows.find((w) => w.counter === 'w01')).toMatchObject({ online: true, connected: true, boot: 'boot-b' })
    expect(t.hub.hallView.snapshot().windows.find((w) => w.counter === 'w02')).toMatchObject({ provisioned: true, online: false })
  })
})

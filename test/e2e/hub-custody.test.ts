import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { EVENT_TYPES, parseMessage } from '../../edge/protocol/index.ts'
import { user, writeUsers, boardEvent, statusMessage, closeAll, connectAs } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { HubProcess } from '../hub/support/hub-process.ts'
import { freePort } from '../support/ports.ts'
import { eventually } from '../support/probe.ts'
import { letTimePass } from '../support/pace.ts'

/**
 * docs/architecture.md §4 steps 2–3 with a real Mosquitto as central and the hub as its
 * own process on a data directory: a SIGKILL mid-stream loses nothing the hub
 * acknowledged, and a backlog built while central is away drains in order.
 * The board side is a plain mqtt.js client with a persistent session, which
 * resends whatever the hub has not acknowledged after a reconnect.
 */

const H = 'h1'
const board = user('board', H, 'w01')
const quiet = user('board', H, 'w02') // a window that dies with the hub and never comes back
const dash = user('dashboard', H)
const eventTopic = (type: string) => `hall/${H}/counter/w01/event/${type}`

interface Seen {
  id: string
  boot: string
  seq: number
}

describe('custody chain: hub killed mid-stream, central away for a while', () => {
  let central: Central
  let hub: HubProcess
  let dir: string
  let configPath: string
  let hubPort: number
  let probe: MqttClient
  let boardClient: MqttClient
  const seen: Seen[] = []
  const statuses: Array<{ topic: string; online: boolean; boot: string; reason?: string }> = []
  const invalid: string[] = []
  const connacks: string[] = []

  const startHub = () => HubProcess.start(configPath, hubPort)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-custody-'))
    central = await Central.start()
    hubPort = await freePort()
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [board, quiet, dash])
    configPath = join(dir, 'hub.json')
    await writeFile(
      configPath,
      JSON.stringify({
        hall: H,
        host: '127.0.0.1',
        port: hubPort,
        credentialsFile,
        dataDir: join(dir, 'data'),
        upstream: { url: central.url, clientId: `hub-${H}` },
        bridge: { window: 32, reconnectMinMs: 100, reconnectMaxMs: 400, stateIntervalMs: 100 },
        heartbeatMs: 200,
      }),
    )
    hub = await startHub()

    // Central's consumer: a persistent session, so nothing is lost while central itself restarts.
    probe = await mqtt.connectAsync(central.url, { clientId: 'central-consumer', clean: false, reconnectPeriod: 200 })
    probe.on('message', (topic, payload) => {
      const m = parseMessage(topic, payload)
      if (m.ok && m.kind === 'status') return void statuses.push({ topic, online: m.message.online, boot: m.message.boot, ...(m.message.online ? {} : { reason: m.message.reason }) })
      if (!m.ok || m.kind !== 'event') return void invalid.push(topic)
      seen.push({ id: m.message.id, boot: m.message.boot, seq: m.message.seq })
    })
    await probe.subscribeAsync([`hall/${H}/counter/+/event/+`, `hall/${H}/counter/+/status`], { qos: 1 })
    probe.on('connect', (ack) => connacks.push(`${new Date().toISOString()} session=${ack.sessionPresent}`))

    boardClient = await connectAs(hubPort, board, { clean: false, reconnectPeriod: 100 })
  })

  afterAll(async () => {
    await closeAll([boardClient, probe])
    if (hub?.alive) await hub.kill('SIGKILL')
    await central?.dispose()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  function publish(boot: string, seq: number): { id: string; acked: Promise<void> } {
    const type = EVENT_TYPES[seq % EVENT_TYPES.length]!
    const e = boardEvent(type, boot, seq)
    const acked = boardClient.publishAsync(eventTopic(type), JSON.stringify(e), { qos: 1 }).then(() => undefined)
    return { id: e.id as string, acked }
  }

  const uniqueIds = (boot: string) => new Set(seen.filter((s) => s.boot === boot).map((s) => s.id))

  it('SIGKILL of the hub during a stream: central gets every event (after dedup by id), none invented', async () => {
    // Central hangs for part of the stream, so at the kill the hub holds acknowledged events central has not got.
    const will = { topic: `hall/${H}/counter/w02/status`, payload: Buffer.from(JSON.stringify(statusMessage('w02-boot', 1, false))), qos: 1 as const, retain: true }
    const w02 = await connectAs(hubPort, quiet, { will })
    w02.on('error', () => {})
    await w02.publishAsync(`hall/${H}/counter/w02/status`, JSON.stringify(statusMessage('w02-boot', 0, true)), { qos: 1, retain: true })

    const N = 300
    const sent: string[] = []
    const acks: Array<Promise<void>> = []
    let acked = 0
    let atKill = { acked: 0, atCentral: 0 }
    let restarted: Promise<HubProcess> | null = null
    for (let seq = 0; seq < N; seq++) {
      const { id, acked: ack } = publish('crash', seq)
      sent.push(id)
      acks.push(ack.then(() => void acked++))
      if (seq === 100) central.freeze(true)
      if (seq === 150) {
        atKill = { acked, atCentral: uniqueIds('crash').size }
        const how = await hub.kill('SIGKILL')
        expect(how.signal).toBe('SIGKILL')
        restarted = letTimePass(300, 'the hub stays down a moment while the board keeps sending').then(startHub)
      }
      if (seq === 250) central.freeze(false)
      await letTimePass(2, 'a stream over time, so the freeze, kill and thaw land inside it')
    }
    hub = await restarted!
    await Promise.all(acks) // the board's own retries got every event acknowledged by the hub in the end
    expect(atKill.acked).toBeGreaterThan(atKill.atCentral) // acknowledged by the hub, not yet at central: only the custody log had them

    await eventually(() => uniqueIds('crash').size >= N, 20_000, `all ${N} events at central`)
    expect([...uniqueIds('crash')].sort()).toEqual([...sent].sort())
    expect(seen.filter((s) => s.boot === 'crash').every((s) => sent.includes(s.id))).toBe(true)
    expect(invalid).toEqual([])
    // The will of the window that went down with the hub is published by the restarted hub, not lost.
    await eventually(() => statuses.find((x) => x.topic.endsWith('/w02/status') && !x.online && x.boot === 'w02-boot' && x.reason === 'will'), 10_000, "w02's will")
    w02.end(true)
  }, 45_000)

  it('central stopped for a while: the backlog builds up at the hub and drains in order when central returns', async () => {
    const dashboard = await connectAs(hubPort, dash, { clientId: `${dash.username}-custody` })
    const bridgeStates: Array<{ state: string; backlog: number }> = []
    dashboard.on('message', (_t, payload) => bridgeStates.push(JSON.parse(payload.toString())))
    await dashboard.subscribeAsync(`hall/${H}/hub/bridge`, { qos: 1 })

    await central.stopProcess()
    await eventually(() => bridgeStates.at(-1)?.state !== 'connected', 5_000, 'the bridge to notice central is gone')

    const M = 200
    const sent: string[] = []
    const acks: Array<Promise<void>> = []
    for (let seq = 0; seq < M; seq++) {
      const { id, acked } = publish('away', seq)
      sent.push(id)
      acks.push(acked)
      if (seq % 20 === 0) await letTimePass(1, 'the backlog arrives over time, not in one burst')
    }
    await Promise.all(acks) // the hub acknowledges while central is away: the messages are in its custody
    await eventually(() => (bridgeStates.at(-1)?.backlog ?? 0) >= M, 5_000, 'the backlog to show on hub/bridge')
    expect(uniqueIds('away').size).toBe(0)

    await central.startProcess()
    await eventually(() => uniqueIds('away').size >= M, 15_000, `all ${M} backlog events at central`).catch((err: Error) => {
      throw new Error(`${err.message}; got ${uniqueIds('away').size}; bridge: ${JSON.stringify(bridgeStates.slice(-3))}; consumer sessions: ${connacks.join(', ')}`)
    })
    // Central kept its consumer's session across its restart, so what the hub drained early was not missed.
    expect(connacks.every((c) => c.endsWith('session=true'))).toBe(true)
    // In order: the first time central sees each event, the seqs rise one by one.
    const firsts: number[] = []
    const ids = new Set<string>()
    for (const s of seen.filter((x) => x.boot === 'away')) {
      if (ids.has(s.id)) continue
      ids.add(s.id)
      firsts.push(s.seq)
    }
    expect(firsts).toEqual(Array.from({ length: M }, (_, i) => i))
    await eventually(() => bridgeStates.at(-1)?.state === 'connected' && bridgeStates.at(-1)?.backlog === 0, 5_000, 'the bridge connected with an empty backlog')
    await dashboard.endAsync()
  }, 45_000)

  it('a clean stop (SIGTERM) exits 0', async () => {
    const how = await hub.kill('SIGTERM')
    expect(how).toEqual({ code: 0, signal: null })
    expect(hub.output).not.toMatch(/"level":(50|60)/) // no error or fatal lines
  })
})

import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { topics, type CommandName, type EvaluationScore } from '../../edge/protocol/index.ts'
import { Central } from '../hub/support/central.ts'
import { HubProcess } from '../hub/support/hub-process.ts'
import { connectAs, user, writeUsers } from '../hub/support/hub-fixture.ts'
import { EdgeProcess, type ChildEvent } from '../support/edge-process.ts'
import { CentralRatings } from '../support/central-ratings.ts'
import { FaultProxy } from '../support/fault-proxy.ts'
import { freePort } from '../support/ports.ts'
import { eventually } from '../support/probe.ts'
import { parsePromText } from '../support/prometheus-text.ts'

/**
 * The supervisor's figures when the hub dies between taking a board's rating and the board's
 * receipt of its acknowledgement (kill -9 of the hub, a power cut): the board still holds the
 * rating in its journal and sends it again to the restarted hub. Central drops the copy by id; the
 * dashboard's feed and the window's counts must too. The board is a real edge process on simulated
 * hardware; the hub a real process on its data dir, bridged to a real Mosquitto as central; a
 * proxy between them holds back the hub's answers so the rating is taken and never acknowledged.
 */

const H = 'h1'
const board = user('board', H, 'e01')
const dash = user('dashboard', H)

interface FeedEntry {
  seq: number
  counter: string
  type: string
  ticket: string | null
  detail: string | null
}

describe('a rating resent to a hub killed before it acknowledged it', () => {
  let dir: string
  let central: Central
  let ratings: CentralRatings
  let driver: MqttClient
  let hub: HubProcess
  let proxy: FaultProxy
  let edge: EdgeProcess
  let configPath: string
  let hubPort: number
  let httpPort: number
  let cmdNo = 0
  const made: ChildEvent[] = []
  const open: MqttClient[] = []

  const api = async <T>(path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${httpPort}${path}`)).json()) as T
  const feed = async () => (await api<{ entries: FeedEntry[] }>('/api/feed?counter=e01&limit=200')).entries
  const ratingsSinceStart = async (score: EvaluationScore) => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    return parsePromText(text).value('counter_edge_ratings_total', { hall: H, counter: 'e01', score })
  }

  /** As central sends a command: the same id resent every 3 s until the board's reply is at central. */
  async function command(name: CommandName, args: Record<string, unknown>): Promise<void> {
    const id = `e01-${name}-${cmdNo++}`
    const payload = JSON.stringify({ id, expires: new Date(Date.now() + 10 * 60_000).toISOString(), ...args })
    for (let tries = 0; tries < 10; tries++) {
      driver.publish(topics.cmd(H, 'e01', name), payload, { qos: 1 })
      const r = await ratings.reply(id, 3_000)
      if (r?.ok) return
      if (r) throw new Error(`${name} refused: ${JSON.stringify(r)}`)
    }
    throw new Error(`${name}: no reply at central`)
  }

  /** A service at the window up to its open evaluator. */
  async function serveTo(ticket: string): Promise<void> {
    if ((await edge.mode()) === 'closed') await command('officer', { action: 'sign-in', officer: 'P10482' })
    await command('call', { ticket, caseNo: `CJ-e01-${ticket}`, item: 'passport-first-issue' })
    await command('start', {})
    await command('finish', { outcome: 'served' })
    await eventually(async () => (await edge.mode()) === 'evaluating', 10_000, `the evaluator open for ${ticket}`)
  }

  async function rate(ticket: string, score: EvaluationScore): Promise<string> {
    await serveTo(ticket)
    expect(await edge.press(score)).toBe(true)
    return (await eventually(() => made.find((e) => e.type === 'evaluated' && e.fields.ticket === ticket), 10_000, `the rating of ${ticket} in the board's journal`))!.id
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'resend-after-kill-'))
    central = await Central.start()
    ratings = await CentralRatings.start(central.url, H)
    driver = await mqtt.connectAsync(central.url, { clientId: `central-driver-${H}`, reconnectPeriod: 200 })
    driver.on('error', () => {})
    hubPort = await freePort()
    httpPort = await freePort()
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [board, dash])
    configPath = join(dir, 'hub.json')
    await writeFile(
      configPath,
      JSON.stringify({
        hall: H,
        host: '127.0.0.1',
        port: hubPort,
        credentialsFile,
        dataDir: join(dir, 'hub-data'),
        http: { port: httpPort, host: '127.0.0.1' },
        upstream: { url: central.url, clientId: `hub-${H}` },
        bridge: { window: 32, reconnectMinMs: 100, reconnectMaxMs: 400, stateIntervalMs: 200 },
      }),
    )
    hub = await HubProcess.start(configPath, hubPort)
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hubPort }, name: 'board-hub' })
    const boardDir = join(dir, 'edge-e01')
    mkdirSync(boardDir, { recursive: true })
    edge = new EdgeProcess({ hall: H, counter: 'e01', host: '127.0.0.1', port: proxy.port, username: board.username, password: board.password, dataDir: boardDir }, (e) => made.push(e))
    await edge.start()
    await eventually(async () => (await api<{ window?: { connected: boolean } }>('/api/windows/e01')).window?.connected, 15_000, 'the board at the hub')
  }, 60_000)

  afterAll(async () => {
    await edge?.kill()
    for (const c of [...open, driver, ratings?.client]) await c?.endAsync(true).catch(() => {})
    await proxy?.close()
    if (hub?.alive) await hub.kill('SIGKILL')
    await central?.dispose()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('shows once in the feed and counts once at the window after the restart, as at central', async () => {
    const first = await rate('A001', 'neutral')
    await eventually(() => ratings.events.has(first), 15_000, 'the first rating at central')

    await serveTo('A002')
    // The hub takes the rating (custody, feed) and answers; the answer never reaches the board.
    proxy.stallBack()
    expect(await edge.press('satisfied')).toBe(true)
    const resent = (await eventually(() => made.find((e) => e.type === 'evaluated' && e.fields.ticket === 'A002'), 10_000, "A002's rating in the journal"))!.id
    await eventually(async () => (await feed()).some((e) => e.ticket === 'A002' && e.type === 'evaluated'), 10_000, "A002's rating in the hub's feed")
    // What a restart reads: the line is in the feed file before the kill.
    await eventually(async () => (await readFile(join(dir, 'hub-data', 'feed.jsonl'), 'utf8')).includes('"A002"'), 10_000, "A002's line in feed.jsonl")
    expect(await ratingsSinceStart('satisfied')).toBe(1)

    const how = await hub.kill('SIGKILL')
    expect(how.signal).toBe('SIGKILL')
    proxy.setDown(true)
    proxy.cut()
    hub = await HubProcess.start(configPath, hubPort)
    // Someone at the hub sees what the board sends from now on: the barrier for the resend.
    const tap = await connectAs(hubPort, dash, { clientId: `${dash.username}-tap` })
    open.push(tap)
    const taken: string[] = []
    tap.on('message', (_t, payload) => taken.push(String((JSON.parse(payload.toString()) as { id?: string }).id)))
    await tap.subscribeAsync(topics.hallEvents(H), { qos: 1 })
    proxy.resume()

    await eventually(() => taken.includes(resent), 20_000, 'the board to send the unacknowledged rating again')
    await eventually(() => ratings.events.has(resent), 15_000, "A002's rating at central")
    // Then a rating given after the restart: the barrier that the hub has taken all before it.
    const third = await rate('A003', 'satisfied')
    await eventually(async () => (await feed()).some((e) => e.ticket === 'A003' && e.type === 'evaluated'), 15_000, "A003's rating in the feed")

    const lines = (await feed()).filter((e) => e.type === 'evaluated').map((e) => e.ticket)
    expect(lines).toEqual(['A003', 'A002', 'A001'])
    // Counted by this hub since its start: A003 only; A002 was counted by the hub before the kill.
    expect(await ratingsSinceStart('satisfied')).toBe(1)
    // Central, deduplicating by id, has the same three ratings.
    expect([...ratings.events.values()].filter((e) => e.type === 'evaluated').map((e) => e.id).sort()).toEqual([first, resent, third].sort())
  }, 120_000)
})

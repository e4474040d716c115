import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { topics } from '../../edge/protocol/index.ts'
import { startTestHub, user, connectAs, publishOutcome, subscribeOutcome, closeAll, boardEvent, statusMessage, type TestHub } from '../hub/support/hub-fixture.ts'
import { command, eventually, type Received } from '../support/probe.ts'
import { markerBarrier, polledSubscriber } from '../support/barrier.ts'

/**
 * The attacks of issue 20 against a real hub, each first as the attack that
 * worked, then what must hold instead (docs/reliability.md, security map).
 */

const H = 'h1'
const w01 = user('board', H, 'w01')
const bridge = user('bridge', H)
const dash = user('dashboard', H)
const tech = user('technician', H)

/** Collects what a client receives, as Received, for barriers and assertions. */
function record(client: MqttClient): Received[] {
  const got: Received[] = []
  client.on('message', (topic, payload, packet) => {
    let body: Record<string, unknown>
    try {
      body = JSON.parse(payload.toString()) as Record<string, unknown>
    } catch {
      body = { raw: payload.toString() }
    }
    got.push({ topic, payload: body, retain: packet.retain })
  })
  return got
}

describe("A. session takeover: a non-board account connecting under a board's client id", () => {
  let t: TestHub
  let dataDir: string
  const open: MqttClient[] = []

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'takeover-'))
    t = await startTestHub([w01, bridge, dash, tech], { hall: H, dataDir })
  })
  afterAll(async () => {
    await closeAll(open)
    await t?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('is refused for every non-board role; the board keeps its session, its commands, and is never reported offline', async () => {
    const statusTopic = topics.status(H, 'w01')
    const board = await connectAs(t.hub.port, w01, {
      clean: false,
      will: { topic: statusTopic, payload: Buffer.from(JSON.stringify(statusMessage('tk', 0, false))), qos: 1, retain: true },
    })
    open.push(board)
    let boardClosed = 0
    board.on('close', () => boardClosed++)
    const toBoard = record(board)
    expect(await subscribeOutcome(board, topics.counterCommands(H, 'w01'))).toBe('granted')
    expect(await publishOutcome(board, statusTopic, JSON.stringify(statusMessage('tk', 1, true)), { retain: true })).toBe('acked')

    const watcher = await connectAs(t.hub.port, bridge, { clientId: `${bridge.username}-watch` })
    open.push(watcher)
    const seen = record(watcher)
    expect(await subscribeOutcome(watcher, `${topics.counterPrefix(H, 'w01')}#`)).toBe('granted')

    // What the attack did: reconnect again and again under the board's id with a persistent session.
    // Each role from its own address, so the login backoff cannot be what stops it.
    const attackers = [
      { u: dash, from: '127.0.0.60' },
      { u: tech, from: '127.0.0.61' },
      { u: bridge, from: '127.0.0.62' },
    ]
    for (const { u, from } of attackers) {
      for (const clientId of [w01.username, `${w01.username}-x`]) {
        await expect(connectAs(t.hub.port, u, { from, clientId, clean: false })).rejects.toThrow(/Identifier rejected/i)
      }
    }
    // Nor into another account's namespace.
    await expect(connectAs(t.hub.port, dash, { from: '127.0.0.63', clientId: `${tech.username}-2` })).rejects.toThrow(/Identifier rejected/i)
    const refused = t.log.refusals('client-id-mismatch')
    expect(refused.filter((l) => l.client === w01.username).map((l) => l.username).sort()).toEqual([bridge.username, dash.username, tech.username].sort())
    expect(refused.some((l) => l.client === `${tech.username}-2` && l.username === dash.username)).toBe(true)

    // Central's command still reaches the board, and only the board.
    const call = command({ ticket: 'A017' })
    expect(await publishOutcome(watcher, topics.cmd(H, 'w01', 'call'), JSON.stringify(call))).toBe('acked')
    await eventually(() => toBoard.find((m) => m.payload.id === call.id), 5_000, 'the call at the board')
    // Barrier: a board event after everything above; the watcher would have had the will before it.
    expect(await publishOutcome(board, topics.event(H, 'w01', 'called'), JSON.stringify(boardEvent('called', 'tk', 2)))).toBe('acked')
    await polledSubscriber(() => seen).waitFor((m) => m.topic === topics.event(H, 'w01', 'called') && m.payload.seq === 2, 5_000, 'the board event (barrier)')
    await markerBarrier({ publish: (topic, body) => publishOutcome(watcher, topic, JSON.stringify(body)) }, polledSubscriber(() => seen), topics.cmd(H, 'w01', 'sync'))
    expect(seen.filter((m) => m.topic === statusTopic && m.payload.online === false)).toEqual([])
    expect(boardClosed).toBe(0)
    expect(board.connected).toBe(true)
    expect(t.hub.hallView.snapshot().windows.find((w) => w.counter === 'w01')?.connected).toBe(true)
  })

  it('each non-board account still connects under its own id, its own id with a suffix, or an id the hub assigns', async () => {
    for (const u of [dash, tech, bridge]) {
      for (const clientId of [u.username, `${u.username}-cli-123`, '']) {
        const c = await connectAs(t.hub.port, u, { clientId, from: '127.0.0.64' })
        open.push(c)
        await c.endAsync()
      }
    }
  })
})

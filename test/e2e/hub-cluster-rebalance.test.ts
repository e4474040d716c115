import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { parseMessage, topics, type CommandName, type WindowMode } from '../../edge/protocol/index.ts'
import { user, writeUsers } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { HubProcess } from '../hub/support/hub-process.ts'
import { EdgeProcess } from '../support/edge-process.ts'
import { CentralRatings } from '../support/central-ratings.ts'
import { startRedis, type RunningRedis } from '../support/redis.ts'
import { freePort } from '../support/ports.ts'
import { eventually } from '../support/probe.ts'
import { letTimePass } from '../support/pace.ts'
import type { ClusterView } from '../../hub/dashboard/cluster-view.ts'

/**
 * Issue 26, "boards never rebalance": two hub nodes on Redis (AOF), a real
 * Mosquitto as central, four boards as separate processes that know both
 * nodes. Node b is SIGKILLed, so every board ends on node a; two windows are
 * mid-service. Node b comes back: node a lets the quiet boards go one by one
 * and they reconnect to b, about half each; the serving windows never move;
 * officers press keys throughout and central gets every event, none rated
 * twice; the dashboard's cluster data and `counter-edge status` say which
 * node bridges and how many boards each holds.
 */

const H = 'h1'
const boards = [user('board', H, 'e01'), user('board', H, 'e02'), user('board', H, 'e03'), user('board', H, 'e04')]
const tech = user('technician', H)
const SERVING = ['e01', 'e03']
const QUIET = ['e02', 'e04']
const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))

type NodeName = 'a' | 'b'

describe('hub cluster: boards spread back when a node returns', () => {
  let dir: string
  let redis: RunningRedis
  let central: Central
  let ratings: CentralRatings
  let driver: MqttClient
  let watcher: MqttClient
  const nodes = {} as Record<NodeName, { port: number; http: number; config: string; proc: HubProcess | null }>
  const procs: Record<string, EdgeProcess> = {}
  const made = new Map<string, { counter: string; type: string }>()
  /** Births at central, by counter, in order: a board that moves is born again on its new node. */
  const births: Array<{ counter: string; at: number }> = []
  let cmdNo = 0

  const cluster = async (n: NodeName): Promise<ClusterView | null> => {
    const res = await fetch(`http://127.0.0.1:${nodes[n].http}/api/cluster`)
    return ((await res.json()) as { cluster: ClusterView | null }).cluster
  }
  const boardsOn = (c: ClusterView | null) => Object.fromEntries((c?.nodes ?? []).map((n) => [n.node, n.boards]))
  const output = () => `births ${JSON.stringify(births)}; node a: ${nodes.a.proc?.output.slice(-3000)}; node b: ${nodes.b.proc?.output.slice(-3000)}`

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-cluster-rebalance-'))
    ;[redis, central] = await Promise.all([startRedis(), Central.start()])
    ratings = await CentralRatings.start(central.url, H)
    driver = await mqtt.connectAsync(central.url, { clientId: `central-driver-${H}`, reconnectPeriod: 200 })
    watcher = await mqtt.connectAsync(central.url, { clientId: `central-watcher-${H}`, reconnectPeriod: 200 })
    watcher.on('message', (topic, payload) => {
      const m = parseMessage(topic, payload)
      if (m.ok && m.kind === 'status' && m.message.online) births.push({ counter: m.topic.counter, at: Date.now() })
    })
    await watcher.subscribeAsync(topics.hallStatuses(H), { qos: 1 })
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [...boards, tech])
    for (const n of ['a', 'b'] as const) {
      const [port, http] = [await freePort(), await freePort()]
      const config = join(dir, `hub-${n}.json`)
      await writeFile(
        config,
        JSON.stringify({
          hall: H,
          host: '127.0.0.1',
          port,
          credentialsFile,
          node: n,
          http: { port: http },
          redis: { url: redis.url, leaseMs: 1500, rebalance: { everyMs: 1_000 } },
          upstream: { url: central.url, clientId: `hub-${H}` },
          bridge: { window: 32, reconnectMinMs: 100, reconnectMaxMs: 400, stateIntervalMs: 100 },
          heartbeatMs: 500,
        }),
      )
      nodes[n] = { port, http, config, proc: null }
    }
    nodes.a.proc = await HubProcess.start(nodes.a.config, nodes.a.port, 40_000)
    await eventually(async () => (await cluster('a'))?.leaseHolder?.node === 'a', 15_000, 'node a holds the lease', 200)
    nodes.b.proc = await HubProcess.start(nodes.b.config, nodes.b.port, 40_000)
    for (const [i, u] of boards.entries()) {
      const order: NodeName[] = i % 2 === 0 ? ['a', 'b'] : ['b', 'a']
      const boardDir = join(dir, `edge-${u.counter}`)
      mkdirSync(boardDir, { recursive: true })
      const proc = new EdgeProcess(
        { hall: H, counter: u.counter!, host: '127.0.0.1', port: nodes[order[0]!].port, hubs: order.map((n) => ({ host: '127.0.0.1', port: nodes[n].port })), username: u.username, password: u.password, dataDir: boardDir },
        (e) => made.set(e.id, { counter: u.counter!, type: e.type }),
      )
      await proc.start()
      procs[u.counter!] = proc
    }
    await eventually(async () => JSON.stringify(boardsOn(await cluster('a'))) === JSON.stringify({ a: 2, b: 2 }), 15_000, 'two boards on each node', 200).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await cluster('a'))}; ${output()}`)
    })
  }, 90_000)

  afterAll(async () => {
    for (const p of Object.values(procs)) await p.stop().catch(() => {})
    await ratings?.close()
    await driver?.endAsync(true).catch(() => {})
    await watcher?.endAsync(true).catch(() => {})
    for (const n of Object.values(nodes)) if (n.proc?.alive) await n.proc.kill('SIGKILL')
    await central?.dispose()
    await redis?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** As central sends a command: resent every 3 s until its reply comes. */
  const command = async (counter: string, name: CommandName, args: Record<string, unknown>) => {
    const id = `${counter}-${name}-${cmdNo++}`
    const payload = JSON.stringify({ id, expires: new Date(Date.now() + 600_000).toISOString(), ...args })
    for (let tries = 0; tries < 20; tries++) {
      driver.publish(topics.cmd(H, counter, name), payload, { qos: 1 }, () => {})
      const r = await ratings.reply(id, 3_000)
      if (r) return r
    }
    throw new Error(`${id}: no reply within 60 s`)
  }
  const toMode = async (counter: string, target: WindowMode) => {
    for (let step = 0; step < 12; step++) {
      const mode = await procs[counter]!.mode()
      if (mode === target) return
      if (mode === 'closed') await command(counter, 'officer', { action: 'sign-in', officer: `officer-${counter}` })
      else if (mode === 'idle') await command(counter, 'call', { ticket: `0${step}`, caseNo: `CJ-${counter}-${step}`, item: 'passport-first-issue' })
      else if (mode === 'calling') await command(counter, 'start', {})
      else if (mode === 'serving') await command(counter, 'finish', { outcome: 'served' })
      else if (mode === 'evaluating') {
        await letTimePass(1_100, 'the applicant reads the evaluator (past its 1 s dwell)')
        await procs[counter]!.press('satisfied')
      } else await letTimePass(200, 'the board is busy; ask again in a moment')
    }
    throw new Error(`${counter} did not reach ${target}`)
  }

  it('all on node a after b was down; b returns; the quiet boards move to b one by one, the serving ones stay, nothing is lost', async () => {
    for (const c of SERVING) await toMode(c, 'serving')
    for (const c of QUIET) await toMode(c, 'idle')

    // Node b dies: its boards fail over to a.
    await nodes.b.proc!.kill('SIGKILL')
    await eventually(async () => JSON.stringify(boardsOn(await cluster('a'))) === JSON.stringify({ a: 4 }), 20_000, 'every board on node a, node b gone from Redis', 200).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await cluster('a'))}; ${output()}`)
    })
    for (const c of SERVING) expect(await procs[c]!.mode()).toBe('serving')

    // Officers press keys while the boards move: events made across the reconnects.
    let stop = false
    const keys = Object.keys(procs).map(async (c) => {
      while (!stop) {
        await procs[c]!.officerKey('help')
        await letTimePass(250, 'an officer asks for help now and then')
      }
    })
    const returnedAt = Date.now()
    nodes.b.proc = await HubProcess.start(nodes.b.config, nodes.b.port, 40_000)
    const spread = await eventually(
      async () => {
        const c = await cluster('b')
        return JSON.stringify(boardsOn(c)) === JSON.stringify({ a: 2, b: 2 }) ? c : null
      },
      30_000,
      'two boards on each node again',
      200,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await cluster('a'))}; ${output()}`)
    })
    // Each moved board is born again on b; its birth reaches central through the bridge a moment later.
    const movedBirths = () => births.filter((b) => b.at >= returnedAt)
    await eventually(() => movedBirths().length >= QUIET.length, 10_000, 'the births of the moved boards at central', 100)
    const moved = movedBirths()
    expect(moved.map((b) => b.counter).sort()).toEqual(QUIET)
    // The serving windows never moved, and are still serving.
    for (const c of SERVING) expect(await procs[c]!.mode()).toBe('serving')
    expect(spread!.leaseHolder?.node).toBe('a')
    expect(spread!.nodes.every((n) => n.redisUp && n.redisLatencyMs !== null)).toBe(true)
    // Stays spread: nothing moves back and forth.
    await letTimePass(3_000, 'three more rounds of both nodes')
    expect(boardsOn(await cluster('a'))).toEqual({ a: 2, b: 2 })
    expect(births.filter((b) => b.at >= returnedAt).length).toBe(2)

    // The services end and are rated; everything made reaches central, none rated twice.
    stop = true
    await Promise.all(keys)
    for (const c of SERVING) await toMode(c, 'idle')
    await eventually(() => [...made.keys()].every((id) => ratings.events.has(id)), 30_000, 'every event the boards made at central').catch((err: Error) => {
      const missing = [...made.entries()].filter(([id]) => !ratings.events.has(id))
      throw new Error(`${err.message}: ${missing.length} of ${made.size} missing (${JSON.stringify(missing.slice(0, 5))}); ${output()}`)
    })
    const rated = [...ratings.events.values()].filter((e) => e.type === 'evaluated')
    const records = rated.map((e) => String(e.fields.record))
    expect(new Set(records).size).toBe(records.length)
    expect(rated.length).toBe([...made.values()].filter((e) => e.type === 'evaluated').length)
    expect(rated.length).toBeGreaterThanOrEqual(1)
    expect(made.size).toBeGreaterThan(10)
    expect(ratings.invalid).toEqual([])

    // The operator's view: `counter-edge status --dashboard` names the lease holder and the boards per node.
    const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, 'status', '--hub', `mqtt://127.0.0.1:${nodes.b.port}`, '--hall', H, '--username', tech.username, '--dashboard', `http://127.0.0.1:${nodes.b.http}`],
        { env: { ...process.env, COUNTER_EDGE_PASSWORD: tech.password }, timeout: 30_000 },
        (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
      )
    })
    expect(out.stdout).toMatch(/bridge lease held by a/)
    expect(out.stdout).toMatch(/^ {2}a \(lease\) +可达 up [\d.]+ ms +2$/m)
    expect(out.stdout).toMatch(/^ {2}b \* +可达 up [\d.]+ ms +2$/m)
    expect(out.code).toBe(0)
    console.log(`rebalance: ${made.size} events, ${rated.length} ratings; moved ${moved.map((b) => b.counter).join(', ')} ${moved[1]!.at - moved[0]!.at} ms apart`)
  }, 150_000)
})

import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { topics } from '../../edge/protocol/index.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { SimWindow } from '../../sim/sim-window.ts'
import { user, writeUsers, CapturedLog } from '../hub/support/hub-fixture.ts'
import { Central } from '../hub/support/central.ts'
import { HubProcess } from '../hub/support/hub-process.ts'
import { CentralRatings } from '../support/central-ratings.ts'
import { FaultProxy } from '../support/fault-proxy.ts'
import { startRedis, type RunningRedis } from '../support/redis.ts'
import { freePort } from '../support/ports.ts'
import { eventually, command } from '../support/probe.ts'

/**
 * Issue 26, the edge of "commands while Redis is away": a command already
 * handed in to the hub (the bridge judged the store ready and is queueing it)
 * when Redis fails under it. Redis sits behind a proxy that drops every
 * connection the moment the command's bytes go by on their way into Redis,
 * and takes no new one for two seconds. Central sends the command once: it
 * must get the window's reply (delivered once Redis is back), not silence,
 * and the node must keep delivering commands afterwards. And a technician's dashboard action while
 * Redis is away is refused at once with the reason, not left to time out.
 */

const H = 'h1'
const w01 = user('board', H, 'w01')
const tech = user('technician', H)

describe('hub cluster: Redis fails while a command is being queued', () => {
  let dir: string
  let redis: RunningRedis
  let proxy: FaultProxy
  let central: Central
  let ratings: CentralRatings
  let driver: MqttClient
  let hub: HubProcess
  let http: number
  let window: SimWindow
  const log = new CapturedLog()
  /** The command id to trip on; the proxy cuts Redis when it sees it pass. */
  let tripOn: string | null = null
  let tripped = 0

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-cluster-cmd-fail-'))
    ;[redis, central] = await Promise.all([startRedis(), Central.start()])
    proxy = await FaultProxy.start({
      target: { host: '127.0.0.1', port: redis.port },
      name: 'redis',
      observe: (_c, direction, chunk) => {
        if (direction !== 'forward' || !tripOn || !chunk.includes(tripOn)) return
        tripOn = null
        tripped++
        // Redis fails as the command goes in: every connection dropped, none taken for two seconds.
        proxy.setDown(true)
        proxy.cut()
        setTimeout(() => proxy.setDown(false), 2_000).unref()
      },
    })
    ratings = await CentralRatings.start(central.url, H)
    driver = await mqtt.connectAsync(central.url, { clientId: `central-driver-${H}`, reconnectPeriod: 200 })
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01, tech])
    const port = await freePort()
    http = await freePort()
    const config = join(dir, 'hub-a.json')
    await writeFile(
      config,
      JSON.stringify({
        hall: H,
        host: '127.0.0.1',
        port,
        credentialsFile,
        node: 'a',
        http: { port: http },
        redis: { url: `redis://127.0.0.1:${proxy.port}`, leaseMs: 1500 },
        upstream: { url: central.url, clientId: `hub-${H}` },
        bridge: { window: 32, reconnectMinMs: 100, reconnectMaxMs: 400, stateIntervalMs: 100 },
        heartbeatMs: 500,
      }),
    )
    hub = await HubProcess.start(config, port, 30_000)
    window = new SimWindow({
      hall: H,
      counter: 'w01',
      profile: await loadBoardProfile('sim-window', BOARDS_DIR),
      hub: [{ host: '127.0.0.1', port }],
      username: w01.username,
      password: w01.password,
      log: log.logger.child({ counter: 'w01' }),
    })
    await window.start()
    // The board is there and the bridge carries its replies: a first command answered end to end by the
    // board itself. The hub's own unknown-counter refusal (the board not connected yet) is a reply too, and
    // a setup satisfied by it left the case below to run before the board had subscribed: so a fresh
    // command each try, until one is answered ok.
    await eventually(
      async () => {
        const first = command({ seconds: 1 })
        driver.publish(topics.cmd(H, 'w01', 'identify'), JSON.stringify(first), { qos: 1 })
        return (await ratings.reply(String(first.id), 1_000))?.ok === true
      },
      30_000,
      'a first command answered',
    )
  }, 90_000)

  afterAll(async () => {
    await window?.shutdown().catch(() => {})
    await ratings?.close()
    await driver?.endAsync(true).catch(() => {})
    if (hub?.alive) await hub.kill('SIGKILL')
    await proxy?.close()
    await central?.dispose()
    await redis?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  // Was an open finding (docs/reliability.md, the cluster section): the runs that failed here were the setup's
  // (above: a hub refusal taken for the board's answer), not the hub's. The command's publish waits, with its
  // Redis command in flight, until Redis is back (or the lease moves and central sends it again); then it is
  // delivered, and the node keeps delivering: a next command is answered by the board too.
  it('central sends once, Redis fails as the command is queued: the window still replies once Redis is back', async () => {
    const cmd = command({ seconds: 1 })
    tripOn = String(cmd.id)
    await driver.publishAsync(topics.cmd(H, 'w01', 'identify'), JSON.stringify(cmd), { qos: 1 })
    await eventually(() => tripped === 1, 10_000, 'Redis to fail as the command goes in')
    const reply = await eventually(() => ratings.replies.get(String(cmd.id))?.[0], 40_000, 'the reply at central', 100).catch((err: Error) => {
      throw new Error(`${err.message}; board: ${log.text().slice(-3000)}; hub: ${hub.output.slice(-4000)}`)
    })
    expect(reply, hub.output.slice(-6000)).toMatchObject({ ok: true, code: null })
    const next = command({ seconds: 1 })
    await driver.publishAsync(topics.cmd(H, 'w01', 'identify'), JSON.stringify(next), { qos: 1 })
    const nextReply = await eventually(() => ratings.replies.get(String(next.id))?.[0], 20_000, 'the reply to a next command', 100).catch((err: Error) => {
      throw new Error(`${err.message}; hub: ${hub.output.slice(-4000)}`)
    })
    expect(nextReply).toMatchObject({ ok: true, code: null })
  }, 60_000)

  it("a technician's action while Redis is away is refused at once, with the reason", async () => {
    const login = await fetch(`http://127.0.0.1:${http}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: tech.username, password: tech.password }) })
    expect(login.status).toBe(200)
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
    proxy.setDown(true)
    proxy.cut()
    try {
      await eventually(async () => ((await (await fetch(`http://127.0.0.1:${http}/api/cluster`)).json()) as { cluster: { nodes: Array<{ redisUp: boolean }> } }).cluster.nodes.every((n) => !n.redisUp), 10_000, 'the node to see Redis away', 100)
      const res = await fetch(`http://127.0.0.1:${http}/api/windows/w01/identify`, { method: 'POST', headers: { cookie } })
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: string }).error).toMatch(/Redis is unreachable/)
    } finally {
      proxy.setDown(false)
    }
    // Back: the same action goes through.
    await eventually(async () => (await fetch(`http://127.0.0.1:${http}/api/windows/w01/identify`, { method: 'POST', headers: { cookie } })).status === 200, 20_000, 'the action to work again', 500).catch((err: Error) => {
      throw new Error(`${err.message}; hub: ${hub.output.slice(-4000)}; board: ${log.text().slice(-2000)}`)
    })
  }, 60_000)
})

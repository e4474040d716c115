/**
 * Soak of a hub cluster (issue 10): N simulated boards (the real edge runtime
 * on simulated buses, all in this process) across two hub processes of one
 * hall on a real redis-server, a central stand-in broker and the central
 * queue stub driving the windows, for a bounded time. Optionally the node
 * holding the bridge lease is SIGKILLed halfway. It prints figures and checks
 * that every event a board emitted reached central (after dedup by id).
 *
 *   npm run soak:cluster                      # 1000 boards, 60 s, kill at 30 s
 *   SOAK_BOARDS=200 SOAK_SECONDS=30 SOAK_KILL=0 npm run soak:cluster
 *
 * Needs redis-server on the PATH (Debian: redis-server). Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync, openSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, connect as netConnect } from 'node:net'
import { createHash } from 'node:crypto'
import mqtt from 'mqtt'
import { Redis } from 'ioredis'
import { parseMessage, topics } from '../edge/protocol/index.ts'
import { createLogger } from '../edge/shared/logger.ts'
import { Lifecycle } from '../edge/shared/lifecycle.ts'
import { makeEntry, writeCredentialFile } from '../hub/credentials.ts'
import { loadBoardProfile } from '../boards/profile-schema.ts'
import { CentralBroker } from './central-broker.ts'
import { CentralStub } from './central-stub.ts'
import { SimWindow } from './sim-window.ts'
import { Applicants } from './applicants.ts'
import { BOARDS_DIR } from '../edge/shared/package-root.ts'

const env = (name: string, def: number) => (process.env[name] === undefined ? def : Number(process.env[name]))
const BOARDS = env('SOAK_BOARDS', 1000)
const SECONDS = env('SOAK_SECONDS', 60)
const KILL = env('SOAK_KILL', 1) === 1
const TICKETS_PER_S = env('SOAK_TICKETS_PER_S', 20)
const SPEED = env('SOAK_SPEED', 60)
const LEASE_MS = env('SOAK_LEASE_MS', 3000)
/** Commands central sends per second at most (0: no limit, as bursty as the stub gets). */
const COMMANDS_PER_S = env('SOAK_COMMANDS_PER_S', 100)
const HALL = 'soak'
const CLI = new URL('../cli/counter-edge.mjs', import.meta.url).pathname
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const log = createLogger({ name: 'soak', level: (process.env.LOG_LEVEL as 'warn') ?? 'warn', pretty: false })
const say = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

async function waitPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited at start`)
    const ok = await new Promise<boolean>((r) => {
      const s = netConnect({ host: '127.0.0.1', port })
      s.once('connect', () => (s.destroy(), r(true)))
      s.once('error', () => r(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}`)
    await sleep(50)
  }
}

/** CPU seconds (user+system) and RSS of a process, from /proc. */
async function procStat(pid: number): Promise<{ cpuS: number; rssMb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  const ticks = Number(stat[11]) + Number(stat[12])
  return { cpuS: ticks / 100, rssMb: (Number(stat[21]) * 4096) / 2 ** 20 }
}

/** MQTT sessions a hub node holds now: established sockets on its port (/proc/net/tcp, loopback). */
async function sessionsAt(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  const rows = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)
  return rows.filter((r) => {
    const f = r.trim().split(/\s+/)
    return f[1]?.endsWith(`:${hex}`) && f[3] === '01'
  }).length
}

/** Deterministic soak passwords, so the (slow, scrypt) credentials file is made once per board count. */
const passwordOf = (counter: string) => createHash('sha256').update(`counter-edge-soak-${counter}`).digest('base64url').slice(0, 24)
const counterOf = (i: number) => `w${String(i).padStart(4, '0')}`

async function credentials(n: number): Promise<string> {
  const path = join(tmpdir(), `counter-edge-soak-credentials-${n}.json`)
  if (existsSync(path)) return path
  say(`making ${n} credentials (scrypt, as in production; cached in ${path})`)
  const entries = []
  for (let i = 1; i <= n; i += 16) {
    const batch = Array.from({ length: Math.min(16, n - i + 1) }, (_, k) => counterOf(i + k))
    entries.push(...(await Promise.all(batch.map((c) => makeEntry({ username: `${HALL}-${c}`, role: 'board', hall: HALL, counter: c, password: passwordOf(c) })))))
  }
  await writeCredentialFile(path, entries)
  return path
}

const children: ChildProcess[] = []
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // The hubs and redis-server are ours: never leave them running.
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    process.exit(130)
  })
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cluster-soak-'))
  // A thousand boards stop in batches: they get two minutes, not the default eight seconds.
  const life = new Lifecycle({ log, deadlineMs: 120_000 })
  life.add('soak directory', () => rm(dir, { recursive: true, force: true }))
  try {
    // A copy in the soak's own directory: the hub watches the file's directory, and /tmp is never quiet.
    const credentialsFile = join(dir, 'credentials.json')
    await writeFile(credentialsFile, await readFile(await credentials(BOARDS)))
    const redisPort = await freePort()
    const redisProc = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' })
    children.push(redisProc)
    await waitPort(redisPort, redisProc, 'redis-server')
    const redisUrl = `redis://127.0.0.1:${redisPort}`
    // Central: Mosquitto in its own process where installed (it must not share a starved event loop with
    // a thousand boards: its PUBACKs pace the bridge), else the in-process stand-in.
    let central: { url: string }
    if (existsSync('/usr/sbin/mosquitto')) {
      const port = await freePort()
      const conf = join(dir, 'mosquitto.conf')
      await writeFile(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 1000000', 'max_inflight_messages 0', ''].join('\n'))
      const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' })
      children.push(proc)
      await waitPort(port, proc, 'mosquitto')
      central = { url: `mqtt://127.0.0.1:${port}` }
      say('central: Mosquitto')
    } else {
      const standIn = new CentralBroker({ host: '127.0.0.1', port: 0, log: log.child({ module: 'central' }) })
      await standIn.start()
      life.add('central stand-in', () => standIn.stop())
      central = standIn
      say('central: the in-process stand-in (install mosquitto for figures that do not share the boards\' process)')
    }

    const startNode = async (n: 'a' | 'b'): Promise<{ port: number; proc: ChildProcess }> => {
      const port = await freePort()
      const config = join(dir, `hub-${n}.json`)
      await writeFile(
        config,
        JSON.stringify({
          hall: HALL,
          host: '127.0.0.1',
          port,
          credentialsFile,
          node: n,
          redis: { url: redisUrl, leaseMs: LEASE_MS },
          upstream: { url: central.url },
          // Every simulated board comes from 127.0.0.1: the per-address guards must let a whole hall through.
          limits: { maxConnectionsPerAddress: BOARDS * 2, connectBurstPerAddress: BOARDS * 2, connectsPerSecondPerAddress: BOARDS },
        }),
      )
      // The hubs' warnings and errors go to a file per node, kept after the run.
      const out = openSync(join(tmpdir(), `counter-edge-soak-hub-${n}.log`), 'w')
      const proc = spawn(process.execPath, [CLI, 'hub', '--config', config], { env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }, stdio: ['ignore', out, out] })
      children.push(proc)
      await waitPort(port, proc, `hub ${n}`)
      return { port, proc }
    }
    const a = await startNode('a')
    await sleep(500) // a takes the lease
    const hubs = { a, b: await startNode('b') }

    // Central's accounting: every event by id, duplicates counted; bridge births by node.
    const received = new Set<string>()
    let duplicates = 0
    const hubBirths: Array<{ hub: string; at: number }> = []
    const replies = new Map<string, number>()
    const consumer = await mqtt.connectAsync(central.url, { clientId: 'soak-consumer', clean: false, reconnectPeriod: 500 })
    consumer.on('message', (topic, payload) => {
      const m = parseMessage(topic, payload)
      if (!m.ok) return
      if (m.kind === 'hub-status' && m.message.online) hubBirths.push({ hub: m.message.hub, at: Date.now() })
      if (m.kind === 'reply') replies.set(String(m.message.cmd), Date.now())
      if (m.kind !== 'event') return
      if (received.has(m.message.id)) duplicates++
      else received.add(m.message.id)
    })
    await consumer.subscribeAsync([topics.hallEvents(HALL), topics.hallReplies(HALL), topics.hubStatus(HALL)], { qos: 1 })
    life.add('central consumer', () => consumer.endAsync(true))

    // The boards: half know [a, b], half [b, a]. Every event they emit is noted, to check central got it.
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    const windows = new Map<string, SimWindow>()
    const emitted = new Set<string>()
    const t0 = Date.now()
    const startCpu = process.cpuUsage()
    for (let i = 1; i <= BOARDS; i++) {
      const c = counterOf(i)
      const order = i % 2 ? (['a', 'b'] as const) : (['b', 'a'] as const)
      const w = new SimWindow({ hall: HALL, counter: c, profile, hub: order.map((n) => ({ host: '127.0.0.1', port: hubs[n].port })), username: `${HALL}-${c}`, password: passwordOf(c), log: log.child({ counter: c }) })
      await w.start()
      const link = w.running!.link
      const publish = link.publish.bind(link)
      link.publish = (kind, fields) => {
        const id = publish(kind, fields)
        if (kind === 'event') emitted.add(id)
        return id
      }
      windows.set(c, w)
    }
    life.add('boards', async () => {
      const all = [...windows.values()]
      for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map((w) => w.shutdown().catch(() => {})))
    })
    const startedS = (Date.now() - t0) / 1000
    const connected = () => [...windows.values()].filter((w) => w.running?.link.connected).length
    let lastSaid = Date.now()
    // All boards, or after two minutes 99% of them (a board that stays away is reported, not waited for).
    while (connected() < BOARDS && !(Date.now() - t0 > 120_000 && connected() >= BOARDS * 0.99)) {
      if (Date.now() - t0 > 300_000) throw new Error(`only ${connected()} of ${BOARDS} boards connected after 300 s`)
      if (Date.now() - lastSaid > 10_000) {
        lastSaid = Date.now()
        say(`${connected()} of ${BOARDS} boards connected`)
      }
      await sleep(100)
    }
    const connectS = (Date.now() - t0) / 1000
    const connectedAtStart = connected()
    say(`${connectedAtStart} of ${BOARDS} boards connected across two hub nodes in ${connectS.toFixed(1)} s`)

    const stub = new CentralStub({ hall: HALL, url: central.url, speed: SPEED, arrivalsPerMinute: (TICKETS_PER_S * 60) / SPEED, ...(COMMANDS_PER_S > 0 ? { maxCommandsPerTick: Math.max(1, Math.round(COMMANDS_PER_S / 4)) } : {}), log: log.child({ module: 'stub' }, { level: 'error' }) })
    await stub.start()
    life.add('central stub', () => stub.stop())
    const applicants = new Applicants(windows, { thinkMs: [300, 1500] })
    applicants.start()
    life.add('applicants', () => applicants.stop())

    // Round trips: central → bridge → a board on either node → its reply back at central.
    const rtts: number[] = []
    let probeSeq = 0
    const probe = setInterval(() => {
      const c = counterOf(1 + Math.floor(Math.random() * BOARDS))
      const id = `soak-probe-${probeSeq++}`
      const sent = Date.now()
      void consumer.publishAsync(topics.cmd(HALL, c, 'identify'), JSON.stringify({ id, expires: new Date(sent + 20_000).toISOString(), seconds: 1 }), { qos: 1 })
      const check = setInterval(() => {
        const at = replies.get(id)
        if (at !== undefined) rtts.push(at - sent)
        if (at !== undefined || Date.now() - sent > 20_000) clearInterval(check)
      }, 20)
    }, 250)

    const redis = new Redis(redisUrl)
    life.add('redis client', () => void redis.disconnect())
    let maxBacklog = 0
    let lastTimeline = Date.now()
    const backlogTimer = setInterval(() => {
      redis.xlen(`counter-edge:${HALL}:custody`).then(
        (n) => {
          maxBacklog = Math.max(maxBacklog, n)
          if (Date.now() - lastTimeline >= 5_000) {
            lastTimeline = Date.now()
            say(`custody backlog ${n}; events at central ${received.size}/${emitted.size} emitted; probe replies ${rtts.length}`)
          }
        },
        () => {},
      )
    }, 200)
    const cpu0 = { self: process.cpuUsage(), a: await procStat(hubs.a.proc.pid!), b: await procStat(hubs.b.proc.pid!), redis: await procStat(redisProc.pid!) }
    const runStart = Date.now()
    const eventsAtStart = received.size
    let failover: { boardsBackS: number; bridgeBackS: number; movedBoards: number } | null = null

    if (KILL) {
      await sleep((SECONDS * 1000) / 2)
      const onA = await sessionsAt(hubs.a.port)
      const killedAt = Date.now()
      say(`SIGKILL hub node a (holding the bridge lease; ${onA} boards on it, ${await sessionsAt(hubs.b.port)} on b)`)
      hubs.a.proc.kill('SIGKILL')
      await sleep(200)
      let boardsBack = 0
      let bridgeBack = 0
      while (!boardsBack || !bridgeBack) {
        if (!boardsBack && (await sessionsAt(hubs.b.port)) >= connectedAtStart && connected() >= connectedAtStart) boardsBack = Date.now()
        if (!bridgeBack && hubBirths.some((b) => b.hub === `hub-${HALL}-b` && b.at > killedAt)) bridgeBack = Date.now()
        if (Date.now() - killedAt > 120_000) throw new Error(`after 120 s: ${connected()} boards connected, bridge back: ${Boolean(bridgeBack)}`)
        await sleep(50)
      }
      failover = { boardsBackS: (boardsBack - killedAt) / 1000, bridgeBackS: (bridgeBack - killedAt) / 1000, movedBoards: onA }
      say(`all boards connected again after ${failover.boardsBackS.toFixed(1)} s; bridge on node b after ${failover.bridgeBackS.toFixed(1)} s`)
      await sleep(Math.max(0, runStart + SECONDS * 1000 - Date.now()))
    } else {
      await sleep(SECONDS * 1000)
    }
    const runS = (Date.now() - runStart) / 1000
    const eventsInRun = received.size - eventsAtStart
    const cpu1 = { self: process.cpuUsage(cpu0.self), a: KILL ? null : await procStat(hubs.a.proc.pid!), b: await procStat(hubs.b.proc.pid!), redis: await procStat(redisProc.pid!) }
    clearInterval(probe)
    applicants.stop()
    await stub.stop()

    // Drain: everything emitted must reach central.
    const drainStart = Date.now()
    while ([...emitted].some((id) => !received.has(id)) && Date.now() - drainStart < 60_000) await sleep(200)
    clearInterval(backlogTimer)
    const missing = [...emitted].filter((id) => !received.has(id))
    const invented = [...received].filter((id) => !emitted.has(id))
    const redisMemMb = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0) / 2 ** 20
    const sorted = [...rtts].sort((x, y) => x - y)
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
    const figures = {
      boards: BOARDS,
      seconds: SECONDS,
      commandsPerSCap: COMMANDS_PER_S || null,
      kill: KILL,
      boardsStartedS: startedS,
      connectAllS: connectS,
      connectedAtStart,
      eventsPerS: Math.round(eventsInRun / runS),
      eventsEmitted: emitted.size,
      eventsMissing: missing.length,
      eventsInvented: invented.length,
      duplicatesAtCentral: duplicates,
      commandRoundTripMs: { n: sorted.length, p50: pct(50), p95: pct(95), p99: pct(99), max: sorted.at(-1) ?? NaN },
      maxCustodyBacklog: maxBacklog,
      failover,
      cpuCoresAvg: {
        boardsProcess: +((cpu1.self.user + cpu1.self.system) / 1e6 / runS).toFixed(2),
        hubA: cpu1.a ? +((cpu1.a.cpuS - cpu0.a.cpuS) / runS).toFixed(2) : null,
        hubB: +((cpu1.b.cpuS - cpu0.b.cpuS) / runS).toFixed(2),
        redis: +((cpu1.redis.cpuS - cpu0.redis.cpuS) / runS).toFixed(2),
      },
      rssMb: { boardsProcess: Math.round(process.memoryUsage().rss / 2 ** 20), hubB: Math.round(cpu1.b.rssMb), redisUsedMemory: +redisMemMb.toFixed(1) },
      setupCpuS: +((process.cpuUsage(startCpu).user + process.cpuUsage(startCpu).system) / 1e6).toFixed(1),
    }
    say(JSON.stringify(figures, null, 2))
    if (process.env.SOAK_OUT) await writeFile(process.env.SOAK_OUT, JSON.stringify(figures, null, 2) + '\n')
    if (missing.length || invented.length) {
      say(`FAIL: ${missing.length} events never reached central, ${invented.length} arrived that no board emitted`)
      process.exitCode = 1
    } else {
      say(`OK: all ${emitted.size} events at central after dedup (${duplicates} duplicates dropped), none invented`)
    }
  } finally {
    await life.stop()
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  }
}

main().then(
  () => process.exit(),
  (err: Error) => {
    console.error(err)
    process.exit(1)
  },
)

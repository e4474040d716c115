/**
 * A hall's boards logging in at once, as after a hub restart or a power cut:
 * N clients built by the edge's own connectMqtt (its connect timeout and
 * reconnect period) connect to a fresh hub together. The hub checks one
 * scrypt hash per login; if the queue of checks outlasts the boards' connect
 * timeout, the boards give up and try again while the hub is still checking
 * their abandoned logins — the storm may never settle. Reported per N: how
 * many got in, when, and what the hub spent.
 */
import { connect as netConnect } from 'node:net'
import { MqttClient } from 'mqtt'
import { connectMqtt } from '../../edge/shared/mqtt-connect.ts'
import { boardAccount, counterName, startHubProcess } from './support/bench-hub.ts'
import { CpuMeter } from './support/proc.ts'
import { round, sleep } from './support/stats.ts'

export interface LoginStormOptions {
  sizes: number[]
  /** Guessing attempts kept in flight at once while one valid board logs in again and again (issue 20 D). */
  guessStorm: { attempts: number; logins: number }
  /** How long each storm may take before it is called unsettled. */
  budgetMs: number
  log: (line: string) => void
}

export interface StormResult {
  boards: number
  connected: number
  /** Time until the last board got its CONNACK; null if not all did within the budget. */
  allInS: number | null
  /** Time until half had. */
  halfInS: number | null
  /** Connect attempts that failed (mostly "connack timeout"). */
  failedAttempts: number
  hubCores: number
  /** Hub CPU per successful login, ms. */
  hubCpuMsPerLogin: number | null
}

export interface GuessStormResult {
  /** Guessing attempts kept in flight at once. */
  inFlight: number
  /** Attempts made (and refused) while the board logged in. */
  attempts: number
  /** The board's logins, CONNECT → CONNACK, ms: the first (its password not yet remembered), then the median and worst of all. */
  logins: number
  firstMs: number
  medianMs: number
  worstMs: number
  /** Logins of the board that were refused (none expected). */
  refused: number
}

export interface LoginStormResult {
  /** One login on an idle hub, CONNECT → CONNACK, ms. */
  singleLoginMs: number
  storms: StormResult[]
  /** A valid board's login while guessers storm the hub; absent in runs from before it was measured. */
  guessStorm?: GuessStormResult
}

const HALL = 'bench-s'
const PASSWORD = 'bench-storm-password'

export async function runLoginStorm(o: LoginStormOptions): Promise<LoginStormResult> {
  let singleLoginMs = Number.NaN
  const storms: StormResult[] = []
  for (const n of o.sizes) {
    const accounts = Array.from({ length: n }, (_, i) => boardAccount(HALL, counterName(i + 1), PASSWORD))
    const hub = await startHubProcess({ hall: HALL, accounts })
    const clients: MqttClient[] = []
    try {
      if (Number.isNaN(singleLoginMs)) singleLoginMs = await oneLogin(hub.port, accounts[0]!.username)
      const t0 = performance.now()
      const meter = new CpuMeter({ hub: hub.pid })
      let connected = 0
      let failed = 0
      let halfAt: number | null = null
      let allAt: number | null = null
      const seen = new Set<MqttClient>()
      for (const a of accounts) {
        // A refused CONNACK (the hub's bounded queue of password checks was full) is retried, as the board link does.
        const c = connectMqtt({ addresses: [{ host: '127.0.0.1', port: hub.port }], clientId: a.username, username: a.username, password: PASSWORD, clean: false, reconnectOnConnackError: true })
        c.on('connect', () => {
          if (seen.has(c)) return
          seen.add(c)
          connected++
          const t = (performance.now() - t0) / 1000
          if (halfAt === null && connected >= n / 2) halfAt = t
          if (connected === n) allAt = t
        })
        c.on('error', () => failed++)
        clients.push(c)
      }
      while (allAt === null && performance.now() - t0 < o.budgetMs) await sleep(250)
      const cpu = meter.stop().hub!
      const r: StormResult = {
        boards: n,
        connected,
        allInS: allAt === null ? null : round(allAt, 1),
        halfInS: halfAt === null ? null : round(halfAt, 1),
        failedAttempts: failed,
        hubCores: cpu.cores,
        hubCpuMsPerLogin: connected ? round((cpu.cpuS * 1000) / connected, 1) : null,
      }
      storms.push(r)
      o.log(`login storm of ${n}: ${connected} in, all by ${r.allInS ?? '—'} s, ${failed} failed attempts, hub ${r.hubCores} cores`)
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})))
      await hub.stop()
    }
  }
  const guessStorm = await runGuessStorm(o)
  return { singleLoginMs: round(singleLoginMs, 1), storms, guessStorm }
}

/**
 * Issue 20 D: a valid board's CONNECT → CONNACK while `attempts` guessing logins are in flight at
 * once (each refused attempt replaced at once), from 200 rotating loopback addresses, against the
 * hall's other accounts and unknown names. Before the login limiter, 400 such attempts made the
 * board's login take 9 s. The board's first login is one its password is not yet remembered for.
 */
async function runGuessStorm(o: LoginStormOptions): Promise<GuessStormResult> {
  const { attempts: inFlight, logins } = o.guessStorm
  const accounts = Array.from({ length: 10 }, (_, i) => boardAccount(HALL, counterName(i + 1), PASSWORD))
  const board = accounts[0]!
  const hub = await startHubProcess({ hall: HALL, accounts, logLevel: 'error' })
  let stop = false
  let made = 0
  try {
    const guesser = async (g: number) => {
      for (let n = 0; !stop; n++) {
        made++
        const target = g % 5 === 4 ? `${HALL}-ghost-${g}-${n}` : accounts[1 + (g % 9)]!.username
        await oneAttempt(hub.port, target, `guess-${g}-${n}`, `127.0.20.${(g % 200) + 1}`).catch(() => {})
      }
    }
    const guessers = Array.from({ length: inFlight }, (_, g) => guesser(g))
    await sleep(1_000) // the storm under way
    const times: number[] = []
    let refused = 0
    for (let i = 0; i < logins; i++) {
      const t0 = performance.now()
      const ok = await oneAttempt(hub.port, board.username, PASSWORD, '127.0.21.1')
      times.push(performance.now() - t0)
      if (!ok) refused++
      await sleep(200)
    }
    stop = true
    await Promise.all(guessers)
    const sorted = [...times].sort((a, b) => a - b)
    const r: GuessStormResult = {
      inFlight,
      attempts: made,
      logins,
      firstMs: round(times[0]!, 1),
      medianMs: round(sorted[Math.floor(sorted.length / 2)]!, 1),
      worstMs: round(sorted.at(-1)!, 1),
      refused,
    }
    o.log(`guess storm of ${inFlight} in flight: a valid board's login first ${r.firstMs} ms, median ${r.medianMs} ms, worst ${r.worstMs} ms over ${logins}; ${made} guesses, ${refused} of its logins refused`)
    return r
  } finally {
    stop = true
    await hub.stop()
  }
}

/** One login from a given loopback address; true when it got in. */
async function oneAttempt(port: number, username: string, password: string, from: string): Promise<boolean> {
  const c = new MqttClient(
    () => {
      const s = netConnect({ host: '127.0.0.1', port, localAddress: from })
      s.setNoDelay(true)
      return s
    },
    { protocolVersion: 4, clientId: username, username, password, clean: true, reconnectPeriod: 0, connectTimeout: 30_000 },
  )
  try {
    return await new Promise<boolean>((resolve) => {
      c.once('connect', () => resolve(true))
      c.once('error', () => resolve(false))
      c.once('close', () => resolve(false))
    })
  } finally {
    await c.endAsync(true).catch(() => {})
  }
}

async function oneLogin(port: number, username: string): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now()
    const c = connectMqtt({ addresses: [{ host: '127.0.0.1', port }], clientId: username, username, password: PASSWORD, clean: true, reconnectPeriod: 0 })
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve())
      c.once('error', reject)
    })
    times.push(performance.now() - t0)
    await c.endAsync(true)
  }
  return times.sort((a, b) => a - b)[1]!
}

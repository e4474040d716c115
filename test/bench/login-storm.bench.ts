/**
 * A hall's boards logging in at once, as after a hub restart or a power cut:
 * N clients built by the edge's own connectMqtt (its connect timeout and
 * reconnect period) connect to a fresh hub together. The hub checks one
 * scrypt hash per login; if the queue of checks outlasts the boards' connect
 * timeout, the boards give up and try again while the hub is still checking
 * their abandoned logins — the storm may never settle. Reported per N: how
 * many got in, when, and what the hub spent.
 */
import type { MqttClient } from 'mqtt'
import { connectMqtt } from '../../edge/shared/mqtt-connect.ts'
import { boardAccount, counterName, startHubProcess } from './support/bench-hub.ts'
import { CpuMeter } from './support/proc.ts'
import { round, sleep } from './support/stats.ts'

export interface LoginStormOptions {
  sizes: number[]
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

export interface LoginStormResult {
  /** One login on an idle hub, CONNECT → CONNACK, ms. */
  singleLoginMs: number
  storms: StormResult[]
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
        const c = connectMqtt({ addresses: [{ host: '127.0.0.1', port: hub.port }], clientId: a.username, username: a.username, password: PASSWORD, clean: false })
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
  return { singleLoginMs: round(singleLoginMs, 1), storms }
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

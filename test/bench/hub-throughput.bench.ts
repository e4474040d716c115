/**
 * Hub throughput at QoS 1 against the broker a hall would run instead, with
 * one load generator, in one run: a hall of publishers (each a board account)
 * and one subscriber reading the hall, against
 *
 * - Mosquitto 2.0 with password_file (PBKDF2, made by mosquitto_passwd) and an
 *   acl_file giving each board its own topics, as the baseline;
 * - the same Mosquitto with its native bridge forwarding the hall to central;
 * - counter-edge hub as shipped: scrypt logins, ACL, schema check, custody log
 *   fsynced on disk before PUBACK, bridge to central, and its dashboard open
 *   and watched (the technician's page and the hall screen each hold a live
 *   stream, as in a hall all day);
 * - the hub with its data in memory (no dataDir), to show what the disk costs;
 * - a bare Aedes with a dozen-line bridge (support/bare-aedes-entry.ts): no
 *   login, ACL, check, disk or dashboard, so what Node, Aedes and mqtt.js
 *   cost by themselves against Mosquitto, the ceiling of any hub on Aedes.
 *
 * Variants alternate over rounds so that a noisy neighbour hurts them alike.
 */
import { freePort } from '../support/ports.ts'
import { mosquittoPasswdAvailable, startBenchMosquitto, type BenchMosquitto } from './support/bench-mosquitto.ts'
import { startBareAedes, type BareAedes } from './support/bare-aedes.ts'
import { boardAccount, counterName, startHubProcess, type Account, type BenchHubProcess } from './support/bench-hub.ts'
import { runLoad, type LoadResult } from './support/load.ts'
import { connectPlain } from './support/net.ts'
import { CpuMeter } from './support/proc.ts'
import { RemoteInspector, RemoteProfiler, summarizeProfile, type ProfileSummary } from './support/profile.ts'
import { ratio, round } from './support/stats.ts'

export type Variant = 'mosquitto' | 'mosquitto+bridge' | 'hub' | 'hub-memory' | 'aedes-bare'

export interface ThroughputOptions {
  publishers: number
  window: number
  warmupMs: number
  measureMs: number
  rounds: number
  variants: Variant[]
  /** Profile the hub (data on disk) during one extra run of this length; 0 to skip. */
  profileMs: number
  log: (line: string) => void
}

export interface VariantRun extends LoadResult {
  variant: Variant
  round: number
  /** Messages central received per second (bridged variants). */
  bridgedPerS: number | null
  cores: Record<string, number>
  /** Broker CPU per acknowledged message (hub or Mosquitto process), µs. */
  brokerCpuUsPerMsg: number
}

export interface ThroughputResult {
  runs: VariantRun[]
  /** Mean acked/s per variant over the rounds. */
  mean: Partial<Record<Variant, number>>
  /**
   * hub / mosquitto, acked per second: the median over rounds of each round's ratio, so a run that
   * a neighbour slowed is set only against its own round (two means moved 25,280 → 15,533 for the
   * same Mosquitto between rounds, docs/benchmarks.md).
   */
  hubOverMosquitto: number
  hubOverBridgedMosquitto: number | null
  /** The bare Aedes (no login, no disk) against each Mosquitto baseline, paired by round as the hub is; null when not run. */
  bareOverMosquitto: number | null
  bareOverBridgedMosquitto: number | null
  /** The hub against the bare Aedes, paired by round: what all of the hub's own work costs in throughput. */
  hubOverBare: number | null
  /** Mosquitto's broker CPU per message ÷ the hub's: the same comparison, less sensitive to what other tenants take. */
  cpuEfficiency: number
  /** What the Mosquitto baseline checked. */
  mosquittoSecurity: string
  payloadBytes: number
  hubProfile: ProfileSummary | null
}

const HALL = 'bench-t'
const PASSWORD = 'bench-load-password'

function mosquittoAcl(accounts: Account[], reader: string): string {
  const lines: string[] = []
  for (const a of accounts) {
    lines.push(`user ${a.username}`, `topic write hall/${a.hall}/counter/${a.counter}/#`, `topic read hall/${a.hall}/counter/${a.counter}/cmd/+`, '')
  }
  lines.push(`user ${reader}`, `topic read hall/${HALL}/#`, '')
  return lines.join('\n')
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const boards = Array.from({ length: o.publishers }, (_, i) => boardAccount(HALL, counterName(i + 1), PASSWORD))
  const reader: Account = { username: `${HALL}-dashboard`, password: 'bench-reader-password', role: 'dashboard', hall: HALL, counter: null }
  const target = {
    hall: HALL,
    publishers: boards.map((b) => ({ username: b.username, password: b.password, counter: b.counter! })),
    subscriber: { username: reader.username, password: reader.password },
  }
  const runs: VariantRun[] = []
  let payloadBytes = 0
  // Without mosquitto_passwd there is no way to make Mosquitto's password file: the baseline then runs open, and the report says so.
  const secured = mosquittoPasswdAvailable()

  const once = async (variant: Variant, round: number, profile: boolean): Promise<VariantRun | ProfileSummary> => {
    const central = await startBenchMosquitto({ nodelay: true })
    let broker: BenchMosquitto | null = null
    let hub: BenchHubProcess | null = null
    let bare: BareAedes | null = null
    let bridgedCounter: Awaited<ReturnType<typeof connectPlain>> | null = null
    try {
      const inspectPort = profile ? await freePort() : undefined
      if (variant === 'mosquitto' || variant === 'mosquitto+bridge') {
        broker = await startBenchMosquitto({
          nodelay: true,
          ...(secured ? { auth: { users: [...boards, reader].map((a) => ({ username: a.username, password: a.password })), acl: mosquittoAcl(boards, reader.username) } } : {}),
          ...(variant === 'mosquitto+bridge' ? { bridge: { port: central.port, topic: `hall/${HALL}/#` } } : {}),
        })
      } else if (variant === 'aedes-bare') {
        bare = await startBareAedes({ centralPort: central.port, hall: HALL })
      } else {
        hub = await startHubProcess({ hall: HALL, accounts: [...boards, reader], upstreamUrl: central.url, memory: variant === 'hub-memory', watched: true, ...(inspectPort ? { inspectPort } : {}) })
      }
      const port = broker?.port ?? bare?.port ?? hub!.port
      const brokerPid = broker?.pid ?? bare?.pid ?? hub!.pid
      // What reaches central, counted at QoS 0 so counting costs the generator little.
      let bridged = 0
      let counting = false
      if (variant !== 'mosquitto') {
        bridgedCounter = await connectPlain(central.port, { clientId: `bench-central-count-${process.pid}`, clean: true })
        bridgedCounter.on('message', () => {
          if (counting) bridged++
        })
        await bridgedCounter.subscribeAsync(`hall/${HALL}/counter/+/event/+`, { qos: 0 })
      }
      let meter: CpuMeter | null = null
      let cores: Record<string, number> = {}
      let cpuS = 0
      let t0 = 0
      let wallS = 0
      const inspector = inspectPort ? new RemoteInspector(inspectPort) : null
      const profiler = inspector ? new RemoteProfiler(inspector) : null
      let hubProfile: ProfileSummary | null = null
      const res = await runLoad(
        { ...target, port },
        {
          window: o.window,
          warmupMs: o.warmupMs,
          measureMs: profile ? o.profileMs : o.measureMs,
          onMeasure: async (phase) => {
            if (phase === 'start') {
              if (profiler) await profiler.start()
              meter = new CpuMeter({ broker: brokerPid, central: central.pid, bench: process.pid })
              counting = true
              t0 = performance.now()
            } else {
              counting = false
              wallS = (performance.now() - t0) / 1000
              const c = meter!.stop()
              cores = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.cores]))
              cpuS = c.broker!.cpuS
              if (profiler) hubProfile = summarizeProfile(await profiler.stop())
              inspector?.close()
            }
          },
        },
      )
      if (profile) return hubProfile!
      payloadBytes = res.payloadBytes
      const run: VariantRun = {
        ...res,
        variant,
        round,
        bridgedPerS: variant === 'mosquitto' ? null : round2(bridged / wallS),
        cores,
        brokerCpuUsPerMsg: res.ackedPerS > 0 ? Math.round((cpuS / (res.ackedPerS * wallS)) * 1e6) : Number.NaN,
      }
      o.log(`throughput ${variant} round ${round}: ${run.ackedPerS} acked/s, ${run.deliveredPerS} delivered/s, bridged ${run.bridgedPerS ?? '-'}/s, ack p50 ${run.ackMs.p50} ms, cores ${JSON.stringify(cores)}`)
      return run
    } finally {
      await bridgedCounter?.endAsync(true).catch(() => {})
      await broker?.stop()
      await hub?.stop()
      await bare?.stop()
      await central.stop()
    }
  }

  for (let r = 1; r <= o.rounds; r++) {
    for (const v of o.variants) runs.push((await once(v, r, false)) as VariantRun)
  }
  const hubProfile = o.profileMs > 0 && o.variants.includes('hub') ? ((await once('hub', 0, true)) as ProfileSummary) : null

  const mean: Partial<Record<Variant, number>> = {}
  for (const v of o.variants) {
    const xs = runs.filter((r) => r.variant === v).map((r) => r.ackedPerS)
    mean[v] = Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)
  }
  const cpuOf = (v: Variant) => {
    const xs = runs.filter((r) => r.variant === v && Number.isFinite(r.brokerCpuUsPerMsg)).map((r) => r.brokerCpuUsPerMsg)
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN
  }
  // Each round's hub (or other variant) against the same round's baseline, then the median of those ratios.
  const pairedRatio = (base: Variant, of: Variant = 'hub'): number => {
    const ratios: number[] = []
    for (let r = 1; r <= o.rounds; r++) {
      const run = runs.find((x) => x.variant === of && x.round === r)
      const b = runs.find((x) => x.variant === base && x.round === r)
      if (run && b && b.ackedPerS > 0) ratios.push(run.ackedPerS / b.ackedPerS)
    }
    if (ratios.length === 0) return Number.NaN
    const s = ratios.sort((a, b) => a - b)
    const mid = s.length >> 1
    return round(s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, 2)
  }
  return {
    runs,
    mean,
    cpuEfficiency: ratio(cpuOf('mosquitto'), cpuOf('hub')),
    hubOverMosquitto: o.variants.includes('mosquitto') ? pairedRatio('mosquitto') : Number.NaN,
    hubOverBridgedMosquitto: o.variants.includes('mosquitto+bridge') ? pairedRatio('mosquitto+bridge') : null,
    bareOverMosquitto: o.variants.includes('aedes-bare') && o.variants.includes('mosquitto') ? pairedRatio('mosquitto', 'aedes-bare') : null,
    bareOverBridgedMosquitto: o.variants.includes('aedes-bare') && o.variants.includes('mosquitto+bridge') ? pairedRatio('mosquitto+bridge', 'aedes-bare') : null,
    hubOverBare: o.variants.includes('aedes-bare') ? pairedRatio('aedes-bare') : null,
    mosquittoSecurity: secured
      ? 'password_file hashed by mosquitto_passwd (PBKDF2-SHA512) and an acl_file with one user block per board'
      : 'NONE: mosquitto_passwd is not installed, so the baseline ran without authentication or ACL (an easier baseline than the hub)',
    payloadBytes,
    hubProfile,
  }
}

function round2(x: number): number {
  return round(x, 0)
}

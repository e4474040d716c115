/**
 * The idle call's path through three hall brokers in alternating rounds (issue 22's target: an
 * idle call through the hub ≤ 1.5× central alone at p50). Each round measures, one after the
 * other and in a rotating order, the one-way time of a call-sized QoS 1 command from central
 * through:
 * - the hub as shipped (its own process, data on disk, dashboard reading its two live streams);
 * - a bare Aedes with a dozen-line bridge (support/bare-aedes-entry.ts);
 * - Mosquitto with its own bridge in from central (support/bench-mosquitto.ts);
 * and, alongside each, the same messages read off central alone. So the ratio to central alone
 * can be told apart into what any second hop costs (Mosquitto), what Node, Aedes and mqtt.js add
 * (bare Aedes) and what the hub's own work adds. Not part of `npm run bench`: the call latency
 * section measures each once; this gives several rounds for a before/after.
 *
 *   npx tsx test/bench/idle-paths.ts [--rounds 4] [--measure 10000] [--interval 50]
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { measureIdle, measureRelayIdle } from './call-latency.bench.ts'
import { startBenchMosquitto } from './support/bench-mosquitto.ts'
import { boardAccount, startHubProcess } from './support/bench-hub.ts'
import { CentralClient } from './support/central.ts'
import { FloorProbe } from './support/floor.ts'
import { ratio, type Summary } from './support/stats.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    measure: { type: 'string', default: '10000' },
    interval: { type: 'string', default: '50' },
  },
})
const rounds = Number(values.rounds)
const measureMs = Number(values.measure)
const intervalMs = Number(values.interval)
for (const [name, v] of [['--rounds', rounds], ['--measure', measureMs], ['--interval', intervalMs]] as const) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(values[name.slice(2) as 'rounds'])}`)
}

type Path = 'hub' | 'bare Aedes' | 'Mosquitto'
const PATHS: Path[] = ['hub', 'bare Aedes', 'Mosquitto']
const HALL = 'idle-a'

const central = await startBenchMosquitto({ nodelay: true })
const accounts = [boardAccount(HALL, 'floor', 'bench-floor-password')]
const hub = await startHubProcess({ hall: HALL, accounts, upstreamUrl: central.url, watched: true })
const cc = await CentralClient.connect(central.port, [HALL])
const hubProbe = await FloorProbe.connect({ central: cc, centralPort: central.port, hubPort: hub.port, hall: HALL, counter: 'floor', username: `${HALL}-floor`, password: 'bench-floor-password' })
const rows: Array<{ round: number; path: Path; through: Summary; centralOnly: Summary; load: number }> = []
try {
  for (let round = 1; round <= rounds; round++) {
    const order = PATHS.map((_, i) => PATHS[(i + round - 1) % PATHS.length]!)
    for (const path of order) {
      const load = loadavg()[0]!
      let m: { through: Summary; centralOnly: Summary }
      if (path === 'hub') {
        m = await measureIdle(hubProbe, { intervalMs, measureMs, upWithinMs: 60_000, path: 'central → hub' })
        hubProbe.stop()
      } else {
        const r = await measureRelayIdle(path, { central: cc, centralPort: central.port, floorIntervalMs: intervalMs, measureMs })
        m = { through: r.relay, centralOnly: r.centralOnly }
      }
      rows.push({ round, path, ...m, load })
      console.error(`round ${round} ${path}: p50 ${m.through.p50} ms (central alone ${m.centralOnly.p50}), ${ratio(m.through.p50, m.centralOnly.p50)}×`)
    }
  }
} finally {
  await hubProbe.close().catch(() => {})
  await cc.close().catch(() => {})
  await hub.stop()
  await central.stop()
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
console.log(`| path | round | p50 / p99 ms | central alone p50 / p99 ms | ÷ central alone at p50 | load avg |`)
console.log(`| --- | --- | --- | --- | --- | --- |`)
for (const r of rows) console.log(`| ${r.path} | ${r.round} | ${r.through.p50} / ${r.through.p99} (n=${r.through.n}) | ${r.centralOnly.p50} / ${r.centralOnly.p99} | ${ratio(r.through.p50, r.centralOnly.p50)} | ${r.load.toFixed(2)} |`)
console.log('')
for (const p of PATHS) {
  const mine = rows.filter((r) => r.path === p)
  console.log(`${p}: median over ${mine.length} rounds of p50 ÷ central alone ${median(mine.map((r) => r.through.p50 / r.centralOnly.p50)).toFixed(2)}×, p50 ${median(mine.map((r) => r.through.p50)).toFixed(3)} ms`)
}

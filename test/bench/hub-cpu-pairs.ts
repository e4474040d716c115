/**
 * Hub CPU per acknowledged QoS 1 message, one checkout's hub against another's, in alternating
 * pairs on the same shared machine (issue 22, docs/benchmarks.md "Hub CPU per message"). The load
 * is the throughput section's (test/bench/hub-throughput.bench.ts): board accounts keeping a window
 * of contract-valid QoS 1 events in flight, one clean QoS 1 reader, the hub with its data on disk
 * and a bridge to a central Mosquitto. Not part of `npm run bench`: a tool for a before/after.
 *
 *   npx tsx test/bench/hub-cpu-pairs.ts --before /tmp/base [--after .] [--pairs 5] [--measure 6000]
 *   npx tsx test/bench/hub-cpu-pairs.ts --profile . --measure 6000   # one V8 profile of that hub, summarised
 *   npx tsx test/bench/hub-cpu-pairs.ts --alloc . --measure 6000     # where that hub allocates, sampled
 *   --after-flags=--max-semi-space-size=32: Node options for the after hub only (--before may then be the same checkout)
 *   --after-env=MALLOC_ARENA_MAX=2: environment for the after hub only, KEY=VALUE, comma-separated
 *   --unwatched: the hub without its dashboard, as the benches ran it before issue 22's sixth pass;
 *   by default it runs as a hall runs it, the dashboard's two page streams read (support/page-watchers.ts).
 */
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { freePort } from '../support/ports.ts'
import { assignments } from '../support/systemd-units.ts'
import { startBenchMosquitto } from './support/bench-mosquitto.ts'
import { boardAccount, counterName, REPO, startHubProcess, type Account } from './support/bench-hub.ts'
import { runLoad } from './support/load.ts'
import { CpuMeter, memory } from './support/proc.ts'
import { RemoteAllocations, RemoteInspector, RemoteProfiler, summarizeAllocations, summarizeProfile } from './support/profile.ts'

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: REPO },
    pairs: { type: 'string', default: '5' },
    measure: { type: 'string', default: '6000' },
    warmup: { type: 'string', default: '2000' },
    publishers: { type: 'string', default: '50' },
    window: { type: 'string', default: '10' },
    profile: { type: 'string' },
    alloc: { type: 'string' },
    unwatched: { type: 'boolean', default: false },
    'after-flags': { type: 'string', default: '' },
    'after-env': { type: 'string', default: '' },
  },
  strict: true,
})

const HALL = 'bench-t'
const PASSWORD = 'bench-load-password'
const boards = Array.from({ length: Number(values.publishers) }, (_, i) => boardAccount(HALL, counterName(i + 1), PASSWORD))
const reader: Account = { username: `${HALL}-dashboard`, password: 'bench-reader-password', role: 'dashboard', hall: HALL, counter: null }
const target = { hall: HALL, publishers: boards.map((b) => ({ username: b.username, password: b.password, counter: b.counter! })), subscriber: { username: reader.username, password: reader.password } }

interface Run {
  ackedPerS: number
  cpuUsPerMsg: number
  hubCores: number
  othersCores: number
  load1: number
  /** The hub's resident memory at the end of the measured window, and its peak so far (MB). */
  rssMb: number
  hwmMb: number
}

async function once(tree: string, profileTo?: string, allocations = false, nodeFlags: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const central = await startBenchMosquitto({ nodelay: true })
  const inspectPort = profileTo || allocations ? await freePort() : undefined
  const hub = await startHubProcess({ hall: HALL, accounts: [...boards, reader], upstreamUrl: central.url, cli: join(resolve(tree), 'cli/counter-edge.mjs'), watched: !values.unwatched, nodeFlags, env, ...(inspectPort ? { inspectPort } : {}) })
  const inspector = inspectPort ? new RemoteInspector(inspectPort) : null
  const profiler = inspector && profileTo ? new RemoteProfiler(inspector) : null
  const sampler = inspector && allocations ? new RemoteAllocations(inspector) : null
  try {
    let meter: CpuMeter | null = null
    let t0 = 0
    let cpuS = 0
    let wallS = 0
    let hubCores = 0
    let othersCores = 0
    let mem = { rssMb: 0, hwmMb: 0 }
    const load1 = loadavg()[0]!
    const res = await runLoad(
      { ...target, port: hub.port },
      {
        window: Number(values.window),
        warmupMs: Number(values.warmup),
        measureMs: Number(values.measure),
        onMeasure: async (phase) => {
          if (phase === 'start') {
            if (profiler) await profiler.start()
            if (sampler) await sampler.start()
            meter = new CpuMeter({ hub: hub.pid, central: central.pid, bench: process.pid })
            t0 = performance.now()
          } else {
            wallS = (performance.now() - t0) / 1000
            const c = meter!.stop()
            cpuS = c.hub!.cpuS
            hubCores = c.hub!.cores
            othersCores = c.others!.cores
            mem = memory(hub.pid)
            if (profiler && profileTo) {
              const p = await profiler.stop()
              await writeFile(profileTo, JSON.stringify(p))
              console.log(JSON.stringify(summarizeProfile(p, 40), null, 1))
            }
            if (sampler) {
              const a = await sampler.stop()
              const to = join(REPO, '.tmp', `hub-${Date.now()}.heapprofile`)
              await writeFile(to, JSON.stringify(a))
              console.log(JSON.stringify(summarizeAllocations(a), null, 1), `\nallocation profile written to ${to}`)
            }
            inspector?.close()
          }
        },
      },
    )
    return { ackedPerS: res.ackedPerS, cpuUsPerMsg: Math.round((cpuS / (res.ackedPerS * wallS)) * 1e6), hubCores, othersCores, load1: Math.round(load1 * 100) / 100, rssMb: Math.round(mem.rssMb), hwmMb: Math.round(mem.hwmMb) }
  } finally {
    await hub.stop()
    await central.stop()
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

if (values.alloc) {
  console.log(JSON.stringify(await once(values.alloc, undefined, true)))
} else if (values.profile) {
  const to = join(REPO, '.tmp', `hub-${Date.now()}.cpuprofile`)
  const r = await once(values.profile, to)
  console.log(`profile written to ${to}; ${JSON.stringify(r)}`)
} else {
  if (!values.before) throw new Error('--before <checkout> is required (or --profile <checkout>)')
  const afterFlags = values['after-flags'].split(/\s+/).filter(Boolean)
  const afterEnv = assignments(values['after-env'].split(',').filter(Boolean))
  const rows: Array<{ before: Run; after: Run }> = []
  for (let i = 1; i <= Number(values.pairs); i++) {
    // Which goes first alternates too, so a trend in the neighbours' load favours neither.
    const order: Array<'before' | 'after'> = i % 2 ? ['before', 'after'] : ['after', 'before']
    const got: Partial<Record<'before' | 'after', Run>> = {}
    for (const side of order) got[side] = await once(side === 'before' ? values.before : values.after, undefined, false, side === 'after' ? afterFlags : [], side === 'after' ? afterEnv : {})
    const row = { before: got.before!, after: got.after! }
    rows.push(row)
    console.log(`pair ${i}: before ${JSON.stringify(row.before)} after ${JSON.stringify(row.after)}`)
  }
  console.log(
    `median µs/msg: before ${median(rows.map((r) => r.before.cpuUsPerMsg))}, after ${median(rows.map((r) => r.after.cpuUsPerMsg))}; ` +
      `median acked/s: before ${median(rows.map((r) => r.before.ackedPerS))}, after ${median(rows.map((r) => r.after.ackedPerS))}; ` +
      `median of per-pair ratio after/before: ${median(rows.map((r) => r.after.cpuUsPerMsg / r.before.cpuUsPerMsg)).toFixed(3)}`,
  )
}
setTimeout(() => process.exit(0), 500).unref()

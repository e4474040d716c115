/**
 * `npm run soak`: the fault injection of test/e2e/fault-injection.test.ts,
 * longer and with every fault at random (two fault loops, so faults on
 * different targets overlap), until SOAK_EVENTS events were made. Prints the
 * figures docs/reliability.md records; exits 1 if any event was lost,
 * doubled, invented or altered, or any command was not acted on once or refused.
 *
 * Environment (all optional):
 *   SOAK_EVENTS=10000       events to make (all boards together)
 *   SOAK_SEED=<n>           replay a fault schedule
 *   SOAK_WINDOWS=6          simulated windows running the real edge runtime in this process
 *   SOAK_BURST=2            plain mqtt.js boards publishing ratings at QoS 1
 *   SOAK_BURST_RATE=30      ratings per second per burst board
 *   SOAK_FAULTS=a,b,…       fault kinds (default: all this machine can do, see below)
 *   SOAK_PARALLEL=2         fault loops side by side
 *   SOAK_EDGES=n            windows whose edge runtime runs as a child process (for edge-kill);
 *                           default 2 once the on-disk journal exists (edge/link/journal.ts), else 0
 *   SOAK_MAX_MIN=30         give up producing after this many minutes
 *   SOAK_VERBOSE=1          log every fault as it is injected
 */
import { existsSync } from 'node:fs'
import { FAULT_KINDS, FaultRig, type FaultKind, type Figures } from '../support/fault-rig.ts'
import { canMountTmpfs } from '../support/tmpfs.ts'

const env = (name: string, fallback: number) => (process.env[name] !== undefined ? Number(process.env[name]) : fallback)

const journal = existsSync(new URL('../../edge/link/journal.ts', import.meta.url))
const edges = env('SOAK_EDGES', journal ? 2 : 0)
const tmpfs = canMountTmpfs()
const available = FAULT_KINDS.filter((k) => (k !== 'disk-full' || tmpfs) && (k !== 'edge-kill' || edges > 0))
const faults = (process.env.SOAK_FAULTS ? process.env.SOAK_FAULTS.split(',').map((s) => s.trim()) : available) as FaultKind[]
for (const k of faults) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`SOAK_FAULTS: unknown fault kind "${k}" (known: ${FAULT_KINDS.join(', ')})`)
const events = env('SOAK_EVENTS', 10_000)

console.log(`soak: ${events} events; faults ${faults.join(', ')}${tmpfs ? '' : ' (no disk-full: cannot mount a tmpfs here)'}${edges > 0 ? '' : ' (no edge-kill: ' + (journal ? 'SOAK_EDGES=0' : 'no on-disk journal yet') + ')'}`)

const rig = await FaultRig.start({
  windows: env('SOAK_WINDOWS', 6),
  edgeProcesses: edges,
  burstBoards: env('SOAK_BURST', 2),
  burstPerSecond: env('SOAK_BURST_RATE', 30),
  refusalRate: 0.1,
  ...(process.env.SOAK_SEED ? { seed: Number(process.env.SOAK_SEED) } : {}),
  ...(faults.includes('disk-full') ? { tmpfsMb: 64 } : {}),
  ...(process.env.SOAK_VERBOSE === '1' ? { log: (l: string) => console.log(l) } : {}),
})
let stopping = false
const stop = async (code: number) => {
  if (stopping) return
  stopping = true
  await rig.stop()
  process.exit(code)
}
process.on('SIGINT', () => void stop(130))
process.on('SIGTERM', () => void stop(143))
console.log(`soak: seed ${rig.seed}`)

const progress = setInterval(() => {
  const f = rig.figures()
  const faultCount = Object.values(f.faults).reduce((a, b) => a + (b ?? 0), 0)
  console.log(`soak: ${f.events.made}/${events} events made, ${f.events.arrived} arrived, ${faultCount} faults so far`)
}, 15_000)

let f: Figures
try {
  await rig.run({ faults, events, maxMs: env('SOAK_MAX_MIN', 30) * 60_000, gapMs: [300, 2_500], parallel: env('SOAK_PARALLEL', 2), minEach: 1 })
  await rig.settle(120_000)
  f = rig.figures()
} finally {
  clearInterval(progress)
}
const metrics = await rig.hubMetrics()
const hubErrors = rig.hubErrors()

const row = (k: string, v: unknown) => console.log(`  ${k.padEnd(34)} ${String(v)}`)
console.log(`\nsoak figures (seed ${f.seed}, ${(f.durationMs / 1000).toFixed(0)} s of traffic)`)
row('events made by boards', f.events.made)
row('events at central (unique ids)', f.events.arrived)
row('deliveries at central', f.events.deliveries)
row('redelivered (dropped by id)', f.events.redelivered)
row('lost', f.events.lost)
row("lost by central's broker", `${f.events.lostByCentral} (ratings ${f.ratings.lostByCentral})`)
row('invented', f.events.invented)
row('altered', f.events.altered)
row('unconfirmed but delivered (kills)', f.events.unconfirmedDelivered)
row('ratings made / at central', `${f.ratings.made} / ${f.ratings.arrived}`)
row('ratings lost / doubled / invented', `${f.ratings.lost} / ${f.ratings.doubled} / ${f.ratings.invented}`)
row('commands sent', f.commands.sent)
row('acted on / refused', `${f.commands.acted} / ${f.commands.refused} (${f.commands.refusedAsExpected} refused as the driver meant)`)
row('unanswered / acted twice', `${f.commands.unanswered} / ${f.commands.actedTwice}`)
row('effect without act / inconsistent', `${f.commands.effectWithoutAct} / ${f.commands.inconsistentReplies}`)
row('command resends by central', f.commands.resends)
for (const k of FAULT_KINDS) if (f.faults[k]) row(`fault ${k}`, f.faults[k])
row('restarts hub / central / edge', `${f.restarts.hub} / ${f.restarts.central} / ${f.restarts.edge}`)
row('hub start failures', f.restarts.hubStartFailures)
row('hub starts refused, disk full', f.restarts.hubStartRefusedDiskFull)
row('hub error lines (all runs)', hubErrors.length)
row('hub fatal lines', hubErrors.filter((l) => /"level":60/.test(l)).length)
row('hub custody backlog at end', metrics.counter_edge_custody_backlog ?? 'n/a')
console.log(`\n${JSON.stringify(f)}`)

const clean =
  f.problems.length === 0 &&
  f.events.lost === 0 &&
  f.events.invented === 0 &&
  f.events.altered === 0 &&
  f.events.invalid === 0 &&
  f.ratings.doubled === 0 &&
  f.commands.unanswered === 0 &&
  f.commands.actedTwice === 0 &&
  f.commands.effectWithoutAct === 0 &&
  f.commands.inconsistentReplies === 0 &&
  f.commands.unexpectedOutcome === 0 &&
  f.events.made >= events
if (!clean) console.log(`\nsoak: FAILED ${JSON.stringify({ problems: f.problems, lostIds: f.lostIds })}`)
else if (f.events.lostByCentral > 0) console.log(`\nsoak: every event exactly once up to central's acknowledgement, every command acted on once or refused; central's broker lost ${f.events.lostByCentral} it had acknowledged just before a SIGKILL`)
else console.log('\nsoak: every event exactly once, every command acted on once or refused')
await stop(clean ? 0 : 1)

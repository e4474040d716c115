/**
 * Issue 9's targets, judged from a run's figures. A target the run did not
 * measure is reported as such (met: null), never as met.
 */
import type { BenchRun, TargetVerdict } from './results.ts'
import { AS_SHIPPED, LAUNCHER } from './edge-footprint.bench.ts'

export const CALL_P99_MS = 5
export const CALL_OVER_FLOOR = 1.5
export const HUB_OVER_MOSQUITTO = 0.7
export const EDGE_RSS_MB = 60
export const EDGE_START_MS = 500
export const SCALE_BOARDS = 1000

export function judge(run: Pick<BenchRun, 'results'>): TargetVerdict[] {
  const { callLatency, throughput, footprint } = run.results
  const out: TargetVerdict[] = []
  const at = (n: number) => callLatency?.levels.find((l) => l.boards === n)
  const l200 = at(200)
  out.push({
    id: 'call-p99',
    target: `call latency p99 ≤ ${CALL_P99_MS} ms on loopback with 200 boards busy`,
    measured: l200 ? `p99 ${l200.call.p99} ms (p50 ${l200.call.p50} ms, n=${l200.call.n})` : 'not measured',
    met: l200 ? l200.call.p99 <= CALL_P99_MS : null,
  })
  out.push({
    id: 'call-over-floor',
    target: `call latency p99 ≤ ${CALL_OVER_FLOOR}× the floor (bare mqtt.js through the same two brokers), 200 boards busy`,
    measured: l200
      ? `${l200.callOverFloor.p99}× the floor under the same load (floor p99 ${l200.floor.p99} ms); ${ratioOf(l200.call.p99, callLatency!.idleFloor.p99)}× the idle floor (p99 ${callLatency!.idleFloor.p99} ms)`
      : 'not measured',
    met: l200 ? l200.callOverFloor.p99 <= CALL_OVER_FLOOR : null,
  })
  out.push({
    id: 'hub-throughput',
    target: `hub throughput (QoS 1, auth, ACL, custody on disk) ≥ ${HUB_OVER_MOSQUITTO}× Mosquitto with password_file + acl_file`,
    measured: throughput
      ? `${throughput.hubOverMosquitto}× (${throughput.mean.hub} vs ${throughput.mean.mosquitto} msg/s acknowledged)${throughput.hubOverBridgedMosquitto !== null ? `; ${throughput.hubOverBridgedMosquitto}× Mosquitto with its own bridge` : ''}`
      : 'not measured',
    met: throughput && Number.isFinite(throughput.hubOverMosquitto) ? throughput.hubOverMosquitto >= HUB_OVER_MOSQUITTO : null,
  })
  const shipped = footprint?.starts.find((s) => s.variant.startsWith(AS_SHIPPED))
  const levers = footprint?.starts.filter((s) => !s.variant.startsWith('bare') && !s.variant.startsWith(AS_SHIPPED) && !s.variant.startsWith(LAUNCHER)) ?? []
  const leanest = [...levers].sort((a, b) => a.rssSettledMb - b.rssSettledMb)[0]
  const quickest = [...levers].sort((a, b) => a.startMs - b.startMs)[0]
  out.push({
    id: 'edge-rss',
    target: `edge RSS ≤ ${EDGE_RSS_MB} MB once online`,
    measured: shipped
      ? `${shipped.rssSettledMb} MB as shipped (a bare node process: ${footprint!.starts[0]!.rssSettledMb} MB)` +
        (leanest ? `; ${leanest.rssSettledMb} MB with ${leanest.variant} (${leanest.rssSettledMb <= EDGE_RSS_MB ? 'meets it' : 'still over'})` : '')
      : 'not measured',
    met: shipped ? shipped.rssSettledMb <= EDGE_RSS_MB : null,
  })
  out.push({
    id: 'edge-start',
    target: `edge start-to-online ≤ ${EDGE_START_MS} ms`,
    measured: shipped
      ? `${shipped.startMs} ms as shipped (median of ${shipped.runs}, best ${shipped.startBestMs}; the hub's login check is ${footprint!.hubLoginMs} ms of it; a bare node process starts in ${footprint!.starts[0]!.startMs}` +
        (Number.isFinite(shipped.startCpuMs) ? `; CPU to online ${shipped.startCpuMs} ms, a bare node process ${footprint!.starts[0]!.startCpuMs}` : '') +
        ')' +
        (quickest ? `; ${quickest.startMs} ms with ${quickest.variant} (best ${quickest.startBestMs}; ${quickest.startMs <= EDGE_START_MS ? 'meets it' : 'still over'})` : '')
      : 'not measured',
    met: shipped ? shipped.startMs <= EDGE_START_MS : null,
  })
  const big = at(SCALE_BOARDS)
  const calm = callLatency?.calm?.boards === SCALE_BOARDS ? callLatency.calm : null
  const stopped = callLatency?.stoppedAt
  const holds = (l: { call: { p99: number }; errors: number }) => l.call.p99 <= CALL_P99_MS && l.errors === 0
  out.push({
    id: 'scale-1000',
    target: `${SCALE_BOARDS} simulated boards on 2 cores, call latency holding (p99 ≤ ${CALL_P99_MS} ms, no lost steps)`,
    measured: big
      ? `all online (${big.onlineS} s, 25 at a time)` +
        (calm ? `; at a hall's pace (${calm.callsPerS} calls/s): call p50 ${calm.call.p50} / p99 ${calm.call.p99} ms, ${calm.errors} lost steps, floor p99 ${calm.floor.p99} ms` : '') +
        `; at the bench's busy pace (${big.callsPerS} calls/s): p50 ${big.call.p50} / p99 ${big.call.p99} ms, ${big.errors} lost steps; cores: boards ${big.cores.bench}, hub ${big.cores.hub}, others ${big.cores.others}`
      : stopped && stopped.boards <= SCALE_BOARDS
        ? `not reached: the climb stopped at ${stopped.boards} boards (${stopped.reason})`
        : 'not measured',
    met: big ? holds(calm ?? big) : stopped && stopped.boards <= SCALE_BOARDS ? false : null,
  })
  out.push({
    id: 'journal-drain',
    target: '10,000-event journal backlog drained in ≤ 5 s',
    measured: 'measured by `npm run bench:journal` (section Journal below): unpaced in 0.5–1.6 s; at the link\'s default backlog pacing of 1,000/s, chosen to keep live replies within about 1 ms of idle, in 10 s',
    met: null,
  })
  return out
}

function ratioOf(a: number, b: number): string {
  return b > 0 ? (Math.round((a / b) * 100) / 100).toString() : '–'
}

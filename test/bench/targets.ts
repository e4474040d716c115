/**
 * Issue 9's targets, judged from a run's figures. A target the run did not
 * measure is reported as such (met: null), never as met.
 */
import type { BenchRun, TargetVerdict } from './results.ts'

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
  const shipped = footprint?.starts.find((s) => s.variant.startsWith('shipped launcher (tsx), warm'))
  const fits = footprint?.starts.filter((s) => !s.variant.startsWith('bare') && s.rssSettledMb <= EDGE_RSS_MB && s.startMs <= EDGE_START_MS) ?? []
  const best = [...fits].sort((a, b) => a.rssSettledMb - b.rssSettledMb)[0]
  const leverNote = (what: string) =>
    best ? `; with ${best.variant}: ${best.rssSettledMb} MB, ${best.startMs} ms` : footprint ? `; no lever measured meets both RSS and start time (${what})` : ''
  out.push({
    id: 'edge-rss',
    target: `edge RSS ≤ ${EDGE_RSS_MB} MB once online`,
    measured: shipped ? `${shipped.rssSettledMb} MB as shipped (bare node: ${footprint!.bareRssMb} MB)${leverNote('see Edge footprint')}` : 'not measured',
    met: shipped ? shipped.rssSettledMb <= EDGE_RSS_MB : null,
  })
  out.push({
    id: 'edge-start',
    target: `edge start-to-online ≤ ${EDGE_START_MS} ms`,
    measured: shipped ? `${shipped.startMs} ms as shipped (median of ${shipped.runs}; hub login ${footprint!.hubLoginMs} ms of it)${leverNote('see Edge footprint')}` : 'not measured',
    met: shipped ? shipped.startMs <= EDGE_START_MS : null,
  })
  const big = at(SCALE_BOARDS)
  const stopped = callLatency?.stoppedAt
  out.push({
    id: 'scale-1000',
    target: `${SCALE_BOARDS} simulated boards on 2 cores (call p99 ≤ ${CALL_P99_MS} ms, no lost steps)`,
    measured: big
      ? `${big.boards} boards online in ${big.onlineS} s; call p99 ${big.call.p99} ms, ${big.errors} lost steps, boards process ${big.cores.bench} cores, hub ${big.cores.hub} cores`
      : stopped && stopped.boards <= SCALE_BOARDS
        ? `not reached: the climb stopped at ${stopped.boards} boards (${stopped.reason})`
        : 'not measured',
    met: big ? big.call.p99 <= CALL_P99_MS && big.errors === 0 : stopped && stopped.boards <= SCALE_BOARDS ? false : null,
  })
  out.push({
    id: 'journal-drain',
    target: '10,000-event journal backlog drained in ≤ 5 s',
    measured: run.results.journal ? 'see Journal' : 'measured by the journal bench on branch `link` (section Journal)',
    met: null,
  })
  return out
}

function ratioOf(a: number, b: number): string {
  return b > 0 ? (Math.round((a / b) * 100) / 100).toString() : '–'
}

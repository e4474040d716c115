import type { HallSnapshot } from '../hall-view.ts'
import type { HubCounters } from '../hub-counters.ts'
import type { WindowStats } from './service-stats.ts'
import type { LiveStreamStats } from './live-streams.ts'
import type { BridgeState } from '../../edge/protocol/index.ts'
import type { ClusterSample } from '../cluster-health.ts'

/** This node's live view (issue 26): its name in a cluster, its own bridge connection, and the cluster probe. */
export interface NodeMetrics {
  /** The node's name in a cluster: every sample gets a `node` label; null on a single hub. */
  node: string | null
  /** The bridge's connection as this process holds it; null while this node runs no bridge (a standby). */
  bridgeState: () => BridgeState | null
  cluster: (() => ClusterSample) | null
}
import type { Histogram, ServiceHistograms } from './service-histograms.ts'
import type { RuntimeSample } from './runtime-metrics.ts'
import { EVALUATION_SCORES, SERVICE_OUTCOMES } from '../../edge/protocol/index.ts'
import { VERSION } from '../../edge/shared/version.ts'

export interface MetricsSources {
  hall: string
  snapshot: () => HallSnapshot
  counters: HubCounters
  stats: Map<string, WindowStats>
  connectedClients: () => number
  messagesIn: () => number
  backlog: () => number
  liveStreams: LiveStreamStats
  /** The hall screen's own streams (GET /screen/live), where the hub serves /screen. */
  screenStreams?: LiveStreamStats
  /** Absent: bridge_connected is read from the hall view (the retained hub/bridge message). */
  live?: NodeMetrics
  /** Per-window service, wait and command round-trip histograms (hub/dashboard/service-histograms.ts). */
  histograms?: ServiceHistograms
  /** Process and Node runtime figures (hub/dashboard/runtime-metrics.ts); without it only the resident memory. */
  runtime?: RuntimeSample
}

type Sample = [labels: Record<string, string>, value: number]

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',')
}

/** Prometheus text exposition format 0.0.4: what a hall's monitoring scrapes from /metrics. */
export function renderMetrics(src: MetricsSources): string {
  const out: string[] = []
  // In a cluster every sample names its node, so two nodes' series never merge in a scrape.
  const nodeLabel: Record<string, string> = src.live?.node ? { node: src.live.node } : {}
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) {
      out.push(`${name}{${labelText({ hall: src.hall, ...nodeLabel, ...labels })}} ${Number.isFinite(value) ? value : 0}`)
    }
  }
  const histogram = (name: string, help: string, series: Array<[labels: Record<string, string>, h: Histogram]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`)
    for (const [labels, h] of series) {
      const l = (extra: Record<string, string>) => labelText({ hall: src.hall, ...nodeLabel, ...labels, ...extra })
      h.bounds.forEach((b, i) => out.push(`${name}_bucket{${l({ le: String(b) })}} ${h.counts[i]}`))
      out.push(`${name}_bucket{${l({ le: '+Inf' })}} ${h.count}`, `${name}_sum{${l({})}} ${h.sum}`, `${name}_count{${l({})}} ${h.count}`)
    }
  }
  const snap = src.snapshot()
  // Every window the hub knows (heard from or provisioned) has every per-window series from the start, at 0:
  // an alert on a series that appears only after its first count cannot fire on the first one.
  const known = [...new Set([...snap.windows.map((w) => w.counter), ...src.stats.keys()])].sort((a, b) => a.localeCompare(b))
  const c = src.counters as unknown as Record<string, number>
  metric('counter_edge_build_info', 'gauge', 'Always 1; the labels say which build of the hub runs, on which Node.js (label nodejs: in a cluster, `node` names the hub node).', [[{ version: VERSION, nodejs: process.version }, 1]])
  metric('counter_edge_window_online', 'gauge', 'Per window: 1 while its board is online (birth seen, no will or stop since), else 0.', snap.windows.map((w): Sample => [{ counter: w.counter }, w.online ? 1 : 0]))
  metric('counter_edge_window_connected', 'gauge', 'Per window: 1 while its board holds an MQTT session at this hub.', snap.windows.map((w): Sample => [{ counter: w.counter }, w.connected ? 1 : 0]))
  metric(
    'counter_edge_window_journal_depth',
    'gauge',
    "Per window: records in the board's journal not yet acknowledged by the hub, as the board last reported (0 until it reports).",
    snap.windows.map((w): Sample => [{ counter: w.counter }, w.telemetry?.journal.depth ?? 0]),
  )
  metric(
    'counter_edge_window_journal_oldest_age_seconds',
    'gauge',
    "Per window: age of the oldest record waiting in the board's journal, as last reported (0 when none waits).",
    snap.windows.map((w): Sample => [{ counter: w.counter }, (w.telemetry?.journal.oldestAgeMs ?? 0) / 1000]),
  )
  metric('counter_edge_boards_online', 'gauge', 'Windows whose board is online (birth seen, no will since).', [[{}, snap.windows.filter((w) => w.online).length]])
  metric('counter_edge_boards_known', 'gauge', 'Windows the hub has heard of or has credentials for.', [[{}, snap.windows.length]])
  metric('counter_edge_clients_connected', 'gauge', 'MQTT clients connected to the hub.', [[{}, src.connectedClients()]])
  metric('counter_edge_messages_in_total', 'counter', 'Messages published to the hub by clients.', [[{}, src.messagesIn()]])
  metric('counter_edge_messages_bridged_total', 'counter', 'Messages carried by the bridge, by direction.', [
    [{ direction: 'up' }, c.bridgedUp ?? 0],
    [{ direction: 'down' }, c.bridgedDown ?? 0],
  ])
  metric('counter_edge_custody_backlog', 'gauge', 'Board messages held by the hub and not yet acknowledged by central.', [[{}, src.backlog()]])
  // The retained hub/bridge message says what the bridge last said, which a dead node or a frozen Redis leaves standing.
  const state = src.live ? src.live.bridgeState() : (snap.bridge?.state ?? 'disconnected')
  metric('counter_edge_bridge_connected', 'gauge', "1 while this node's bridge to central is connected (its own connection, not the retained hub/bridge message).", [[{}, state === 'connected' ? 1 : 0]])
  metric('counter_edge_auth_failures_total', 'counter', 'Refused logins (wrong or revoked credentials).', [[{}, c.authFailures ?? 0]])
  metric('counter_edge_password_checks_total', 'counter', 'Password checks run (scrypt, or the same work for an unknown username); logins refused by the limiter cost none.', [[{}, c.passwordChecks ?? 0]])
  metric('counter_edge_acl_denials_total', 'counter', 'Publishes and subscriptions refused by the ACL or limits.', [[{}, c.aclDenials ?? 0]])
  metric('counter_edge_invalid_payloads_total', 'counter', 'Board messages that broke the contract and were not bridged.', [[{}, src.counters.quarantined['invalid-payload']]])
  metric(
    'counter_edge_refusals_total',
    'counter',
    'Everything the hub turned away, by kind (every one, also those whose log line the refusal log limiter held back).',
    Object.entries(src.counters.refusals).map(([kind, n]): Sample => [{ kind }, n]),
  )
  // Every code from the start, at 0: an alert on central sending to a counter the hall lacks can fire on the first one.
  const refusedCommands = { 'unknown-counter': 0, 'qos-required': 0, 'retained-refused': 0, ...src.counters.commandsRefused }
  metric(
    'counter_edge_commands_refused_total',
    'counter',
    'Commands the hub itself answered with a refusal instead of passing them to a board, by code (docs/integration.md, "Commands the hub answers").',
    Object.entries(refusedCommands).map(([code, n]): Sample => [{ code }, n]),
  )
  const live = src.liveStreams
  metric('counter_edge_live_streams_open', 'gauge', 'Dashboard live streams (GET /api/live) open now.', [[{}, live.open]])
  metric('counter_edge_live_streams_dropped_total', 'counter', 'Live streams closed because their reader did not keep up.', [[{}, live.dropped]])
  metric('counter_edge_live_streams_refused_total', 'counter', 'Live streams answered 503 because a cap was reached.', [[{}, live.refused]])
  metric('counter_edge_live_streams_buffered_bytes', 'gauge', 'Bytes the hub holds for open live streams, waiting for their sockets.', [[{}, live.bufferedBytes]])
  metric('counter_edge_live_stream_peak_buffered_bytes', 'gauge', 'The most one live stream had waiting in the hub at once since the start.', [[{}, live.peakStreamBufferedBytes]])
  const screen = src.screenStreams
  if (screen) {
    metric('counter_edge_screen_streams_open', 'gauge', 'Hall screen live streams (the /screen page on the waiting-room TVs) open now.', [[{}, screen.open]])
    metric('counter_edge_screen_streams_dropped_total', 'counter', 'Hall screen streams closed because their reader did not keep up.', [[{}, screen.dropped]])
    metric('counter_edge_screen_streams_refused_total', 'counter', 'Hall screen streams answered 503 because a cap was reached.', [[{}, screen.refused]])
    metric('counter_edge_screen_streams_buffered_bytes', 'gauge', 'Bytes the hub holds for open hall screen streams, waiting for their sockets.', [[{}, screen.bufferedBytes]])
  }
  const rt = src.runtime
  metric('process_resident_memory_bytes', 'gauge', "The hub process's resident memory.", [[{}, rt?.residentBytes ?? process.memoryUsage.rss()]])
  if (rt) {
    metric('process_cpu_user_seconds_total', 'counter', 'User CPU time spent by the hub process, in seconds.', [[{}, rt.cpuUserSeconds]])
    metric('process_cpu_system_seconds_total', 'counter', 'System CPU time spent by the hub process, in seconds.', [[{}, rt.cpuSystemSeconds]])
    metric('process_cpu_seconds_total', 'counter', 'User and system CPU time spent by the hub process, in seconds.', [[{}, rt.cpuUserSeconds + rt.cpuSystemSeconds]])
    metric('process_start_time_seconds', 'gauge', 'When the hub process started, in seconds since the Unix epoch.', [[{}, rt.startTimeSeconds]])
    if (rt.openFds !== null) metric('process_open_fds', 'gauge', 'Open file descriptors of the hub process.', [[{}, rt.openFds]])
    metric('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap size, in bytes.', [[{}, rt.heapTotalBytes]])
    metric('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap used, in bytes.', [[{}, rt.heapUsedBytes]])
    metric('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JavaScript objects, in bytes.', [[{}, rt.externalBytes]])
    metric('nodejs_active_resources_total', 'gauge', 'Handles and requests keeping the event loop alive.', [[{}, rt.activeResources]])
    metric('nodejs_eventloop_lag_seconds', 'gauge', 'Mean event loop delay since the hub started, in seconds.', [[{}, rt.eventLoopLagSeconds]])
    metric('nodejs_eventloop_lag_p99_seconds', 'gauge', '99th percentile of the event loop delay since the hub started, in seconds.', [[{}, rt.eventLoopLagP99Seconds]])
    metric('nodejs_version_info', 'gauge', 'Always 1; the label is the Node version.', [[{ version: rt.nodeVersion }, 1]])
  }
  const quarantined = src.counters.quarantined
  metric(
    'counter_edge_quarantined_total',
    'counter',
    "A board's own messages acknowledged into the quarantine file instead of refused, by why the hub could not accept them.",
    Object.entries(quarantined).map(([kind, n]): Sample => [{ kind }, n]),
  )
  const served: Sample[] = []
  const ratings: Sample[] = []
  for (const counter of known) {
    const s = src.stats.get(counter)
    for (const outcome of SERVICE_OUTCOMES) served.push([{ counter, outcome }, s?.served[outcome] ?? 0])
    for (const score of EVALUATION_SCORES) ratings.push([{ counter, score }, s?.ratings[score] ?? 0])
  }
  metric('counter_edge_services_total', 'counter', 'Services finished per window, by outcome (since the hub started).', served)
  metric('counter_edge_ratings_total', 'counter', 'Evaluator ratings per window, by score (since the hub started).', ratings)
  const faults: Sample[] = snap.windows.map((w) => [{ counter: w.counter }, w.state?.faults.length ?? 0])
  metric('counter_edge_window_faults', 'gauge', 'Open device faults per window.', faults)
  const h = src.histograms
  if (h) {
    const per = (pick: (w: ReturnType<ServiceHistograms['of']>) => Histogram) => [...new Set([...known, ...h.counters()])].sort((a, b) => a.localeCompare(b)).map((counter): [Record<string, string>, Histogram] => [{ counter }, pick(h.of(counter))])
    histogram('counter_edge_service_duration_seconds', 'Per window: service time, from its start to its end, as the board reports it.', per((w) => w.service))
    histogram('counter_edge_call_wait_seconds', 'Per window: from the call to the start of service (the walk to the window, recalls), as the board reports it.', per((w) => w.wait))
    histogram('counter_edge_command_round_trip_seconds', "Per window: from a command's arrival at the hub to the window's reply passing through it.", per((w) => w.roundTrip))
  }
  const cluster = src.live?.cluster?.()
  if (cluster) renderCluster(metric, cluster)
  return out.join('\n') + '\n'
}

type MetricFn = (name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]) => void

/** A cluster node's own view: Redis, the bridge lease, and the hall totals kept in Redis. */
function renderCluster(metric: MetricFn, c: ClusterSample): void {
  metric('counter_edge_redis_up', 'gauge', "1 while this node's Redis answers its probe in time (PING every second).", [[{}, c.redisUp ? 1 : 0]])
  metric('counter_edge_redis_latency_seconds', 'gauge', 'Round trip of the last answered Redis probe; absent while Redis is away.', c.redisLatencyMs === null ? [] : [[{}, c.redisLatencyMs / 1000]])
  metric('counter_edge_bridge_lease_held', 'gauge', 'This node holds the bridge lease (it runs the bridge to central).', [[{}, c.leaseHeld ? 1 : 0]])
  metric('counter_edge_bridge_lease_holder', 'gauge', 'The bridge lease holder as read from Redis (its broker id); absent when nobody holds it or Redis is away.', c.leaseHolder ? [[{ holder: c.leaseHolder }, 1]] : [])
  metric('counter_edge_hall_totals_unwritten', 'gauge', 'Ratings and services this node saw and has not yet counted in Redis (Redis away).', [[{}, c.totalsUnwritten]])
  if (!c.totals) return
  const sorted = (o: Record<string, Record<string, number>>, label: string): Sample[] =>
    Object.entries(o)
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([counter, by]) => Object.entries(by).map(([k, n]): Sample => [{ counter, [label]: k }, n]))
  metric('counter_edge_hall_services_total', 'counter', 'Services finished per window, by outcome, for the hall (kept in Redis: survives node restarts and failovers).', sorted(c.totals.served, 'outcome'))
  metric('counter_edge_hall_ratings_total', 'counter', 'Evaluator ratings per window, by score, for the hall (kept in Redis: survives node restarts and failovers).', sorted(c.totals.ratings, 'score'))
}

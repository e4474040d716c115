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

export interface MetricsSources {
  hall: string
  snapshot: () => HallSnapshot
  counters: HubCounters
  stats: Map<string, WindowStats>
  connectedClients: () => number
  messagesIn: () => number
  backlog: () => number
  liveStreams: LiveStreamStats
  /** Absent: bridge_connected is read from the hall view (the retained hub/bridge message). */
  live?: NodeMetrics
}

type Sample = [labels: Record<string, string>, value: number]

/** Prometheus text exposition format 0.0.4: what a hall's monitoring scrapes from /metrics. */
export function renderMetrics(src: MetricsSources): string {
  const out: string[] = []
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) {
      const l = Object.entries({ hall: src.hall, ...(src.live?.node ? { node: src.live.node } : {}), ...labels })
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',')
      out.push(`${name}{${l}} ${Number.isFinite(value) ? value : 0}`)
    }
  }
  const snap = src.snapshot()
  const c = src.counters as unknown as Record<string, number>
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
  const live = src.liveStreams
  metric('counter_edge_live_streams_open', 'gauge', 'Dashboard live streams (GET /api/live) open now.', [[{}, live.open]])
  metric('counter_edge_live_streams_dropped_total', 'counter', 'Live streams closed because their reader did not keep up.', [[{}, live.dropped]])
  metric('counter_edge_live_streams_refused_total', 'counter', 'Live streams answered 503 because a cap was reached.', [[{}, live.refused]])
  metric('counter_edge_live_streams_buffered_bytes', 'gauge', 'Bytes the hub holds for open live streams, waiting for their sockets.', [[{}, live.bufferedBytes]])
  metric('counter_edge_live_stream_peak_buffered_bytes', 'gauge', 'The most one live stream had waiting in the hub at once since the start.', [[{}, live.peakStreamBufferedBytes]])
  metric('process_resident_memory_bytes', 'gauge', "The hub process's resident memory.", [[{}, process.memoryUsage.rss()]])
  const quarantined = src.counters.quarantined
  metric(
    'counter_edge_quarantined_total',
    'counter',
    "A board's own messages acknowledged into the quarantine file instead of refused, by why the hub could not accept them.",
    Object.entries(quarantined).map(([kind, n]): Sample => [{ kind }, n]),
  )
  const served: Sample[] = []
  const ratings: Sample[] = []
  for (const [counter, s] of [...src.stats.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [outcome, n] of Object.entries(s.served)) served.push([{ counter, outcome }, n])
    for (const [score, n] of Object.entries(s.ratings)) ratings.push([{ counter, score }, n])
  }
  metric('counter_edge_services_total', 'counter', 'Services finished per window, by outcome (since the hub started).', served)
  metric('counter_edge_ratings_total', 'counter', 'Evaluator ratings per window, by score (since the hub started).', ratings)
  const faults: Sample[] = snap.windows.map((w) => [{ counter: w.counter }, w.state?.faults.length ?? 0])
  metric('counter_edge_window_faults', 'gauge', 'Open device faults per window.', faults)
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

import type { HallSnapshot } from '../hall-view.ts'
import type { HubCounters } from '../hub-counters.ts'
import type { WindowStats } from './service-stats.ts'
import type { LiveStreamStats } from './live-streams.ts'

export interface MetricsSources {
  hall: string
  snapshot: () => HallSnapshot
  counters: HubCounters
  stats: Map<string, WindowStats>
  connectedClients: () => number
  messagesIn: () => number
  backlog: () => number
  liveStreams: LiveStreamStats
}

type Sample = [labels: Record<string, string>, value: number]

/** Prometheus text exposition format 0.0.4: what a hall's monitoring scrapes from /metrics. */
export function renderMetrics(src: MetricsSources): string {
  const out: string[] = []
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) {
      const l = Object.entries({ hall: src.hall, ...labels })
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
  const state = snap.bridge?.state ?? 'disconnected'
  metric('counter_edge_bridge_connected', 'gauge', '1 while the bridge to central is connected.', [[{}, state === 'connected' ? 1 : 0]])
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
  return out.join('\n') + '\n'
}

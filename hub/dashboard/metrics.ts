import type { Aedes } from 'aedes'
import { Counter, Gauge, Registry } from 'prom-client'
import type { HallSnapshot } from '../hall-view.ts'
import type { HubCounters } from '../hub-counters.ts'
import type { WindowStats } from './service-stats.ts'
import type { LiveStreamStats } from './live-streams.ts'
import type { BridgeState } from '../../edge/protocol/index.ts'
import type { ClusterSample } from '../cluster-health.ts'
import { EVALUATION_SCORES, SERVICE_OUTCOMES } from '../../edge/protocol/index.ts'
import { VERSION } from '../../edge/shared/version.ts'
import { ServiceHistograms } from './service-histograms.ts'
import { DefaultCollectors } from './default-collectors.ts'
import { FLEET_SERIES, type FleetMetricsSource } from '../fleet/fleet-metrics.ts'
import type { MessageParses } from '../message-parses.ts'

/** This node's live view (issue 26): its name in a cluster, its own bridge connection, and the cluster probe. */
export interface NodeMetrics {
  /** The node's name in a cluster: every sample gets a `node` label; null on a single hub. */
  node: string | null
  /** The bridge's connection as this process holds it; null while this node runs no bridge (a standby). */
  bridgeState: () => BridgeState | null
  cluster: (() => ClusterSample) | null
}

/** Where each series is read from at scrape time: the hub's live state, never a copy. */
export interface MetricsSources {
  hall: string
  /** The hub's broker: the histograms follow the hall's commands, replies and events through it. */
  aedes: Aedes
  snapshot: () => HallSnapshot
  counters: HubCounters
  stats: () => Map<string, WindowStats>
  connectedClients: () => number
  messagesIn: () => number
  backlog: () => number
  liveStreams: () => LiveStreamStats
  /** The hall screen's own streams (GET /screen/live), where the hub serves /screen. */
  screenStreams?: () => LiveStreamStats
  /** Absent: bridge_connected is read from the hall view (the retained hub/bridge message). */
  live?: NodeMetrics
  /** Shared with the uplink and the hall view: a board message is validated once on the hub (hub/message-parses.ts). */
  parses?: MessageParses
  /** Fleet updates (hub/fleet/rollout.ts), where the hub keeps releases: their series (hub/fleet/fleet-metrics.ts) are registered only then. */
  fleet?: FleetMetricsSource
}

type Labels = Record<string, string>
type Sample = [labels: Labels, value: number]

/**
 * One hub's Prometheus metrics (prom-client): its own registry, never the
 * global one (several hubs run in one test process), with prom-client's
 * default process and Node collectors, the per-window gauges and the
 * histograms of hub/dashboard/service-histograms.ts. Gauges and counters are
 * read from the hub's live state in their collect() at each scrape.
 */
export class HubMetrics {
  readonly registry = new Registry()
  private readonly histograms: ServiceHistograms
  private readonly defaults = new DefaultCollectors(this.registry)
  /** `hall`, and `node` in a cluster: on every sample, so two nodes' series never merge in a scrape. */
  private readonly base: Labels

  constructor(private readonly src: MetricsSources) {
    this.base = { hall: src.hall, ...(src.live?.node ? { node: src.live.node } : {}) }
    // The default collectors' series get the same labels; ours carry them first already.
    this.registry.setDefaultLabels(this.base)
    this.define()
    this.histograms = new ServiceHistograms({ hall: src.hall, aedes: src.aedes, registry: this.registry, labels: this.base, known: () => this.known(), ...(src.parses ? { parses: src.parses } : {}) })
  }

  async start(): Promise<void> {
    await this.histograms.start()
    this.defaults.start()
  }

  async stop(): Promise<void> {
    this.defaults.stop()
    await this.histograms.stop()
  }

  /** Default collectors' monitors running now: 0 once stopped. */
  get collectorsRunning(): number {
    return this.defaults.running
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** Prometheus text exposition format 0.0.4: what a hall's monitoring scrapes from /metrics. */
  render(): Promise<string> {
    return this.registry.metrics()
  }

  /**
   * Every window the hub knows (heard from or provisioned) has every per-window series from the start, at 0:
   * an alert on a series that appears only after its first count cannot fire on the first one.
   */
  private known(): string[] {
    const windows = this.src.snapshot().windows.map((w) => w.counter)
    return [...new Set([...windows, ...this.src.stats().keys()])].sort((a, b) => a.localeCompare(b))
  }

  private gauge(name: string, help: string, labelNames: string[], read: () => Sample[]): void {
    const g: Gauge<string> = new Gauge({
      name,
      help,
      labelNames: [...Object.keys(this.base), ...labelNames],
      registers: [this.registry],
      collect: () => {
        g.reset()
        for (const [labels, value] of read()) g.set({ ...this.base, ...labels }, Number.isFinite(value) ? value : 0)
      },
    })
  }

  /** A counter whose value the hub keeps elsewhere: set to it at each scrape. */
  private counter(name: string, help: string, labelNames: string[], read: () => Sample[]): void {
    const c: Counter<string> = new Counter({
      name,
      help,
      labelNames: [...Object.keys(this.base), ...labelNames],
      registers: [this.registry],
      collect: () => {
        c.reset()
        for (const [labels, value] of read()) c.inc({ ...this.base, ...labels }, Number.isFinite(value) && value > 0 ? value : 0)
      },
    })
  }

  private define(): void {
    const src = this.src
    // A window revoked and away was taken out of service on purpose: its series go, so an alert on its being offline ends.
    const windows = () => src.snapshot().windows.filter((w) => !(w.revoked && !w.online))
    const c = () => src.counters as unknown as Record<string, number>
    this.gauge('counter_edge_build_info', 'Always 1; the labels say which build of the hub runs, on which Node.js (label nodejs: in a cluster, `node` names the hub node).', ['version', 'nodejs'], () => [[{ version: VERSION, nodejs: process.version }, 1]])
    this.gauge('counter_edge_window_online', 'Per window in service: 1 while its board is online (birth seen, no will or stop since), else 0; a window revoked (out of service) has no series.', ['counter'], () => windows().map((w): Sample => [{ counter: w.counter }, w.online ? 1 : 0]))
    this.gauge('counter_edge_window_connected', 'Per window: 1 while its board holds an MQTT session at this hub.', ['counter'], () => windows().map((w): Sample => [{ counter: w.counter }, w.connected ? 1 : 0]))
    this.gauge(
      'counter_edge_window_journal_depth',
      "Per window: records in the board's journal not yet acknowledged by the hub, as the board last reported (0 until it reports).",
      ['counter'],
      () => windows().map((w): Sample => [{ counter: w.counter }, w.telemetry?.journal.depth ?? 0]),
    )
    this.gauge(
      'counter_edge_window_journal_oldest_age_seconds',
      "Per window: age of the oldest record waiting in the board's journal, as last reported (0 when none waits).",
      ['counter'],
      () => windows().map((w): Sample => [{ counter: w.counter }, (w.telemetry?.journal.oldestAgeMs ?? 0) / 1000]),
    )
    this.gauge('counter_edge_window_faults', 'Open device faults per window.', ['counter'], () => windows().map((w): Sample => [{ counter: w.counter }, w.state?.faults.length ?? 0]))
    this.gauge('counter_edge_boards_online', 'Windows whose board is online (birth seen, no will since).', [], () => [[{}, windows().filter((w) => w.online).length]])
    this.gauge('counter_edge_boards_known', 'Windows the hub has heard of or has credentials for.', [], () => [[{}, windows().length]])
    this.gauge('counter_edge_clients_connected', 'MQTT clients connected to the hub.', [], () => [[{}, src.connectedClients()]])
    this.counter('counter_edge_messages_in_total', 'Messages published to the hub by clients.', [], () => [[{}, src.messagesIn()]])
    this.counter('counter_edge_messages_bridged_total', 'Messages carried by the bridge, by direction.', ['direction'], () => [
      [{ direction: 'up' }, c().bridgedUp ?? 0],
      [{ direction: 'down' }, c().bridgedDown ?? 0],
    ])
    this.gauge('counter_edge_custody_backlog', 'Board messages held by the hub and not yet acknowledged by central.', [], () => [[{}, src.backlog()]])
    // The retained hub/bridge message says what the bridge last said, which a dead node or a frozen Redis leaves standing.
    this.gauge('counter_edge_bridge_connected', "1 while this node's bridge to central is connected (its own connection, not the retained hub/bridge message).", [], () => {
      const state = src.live ? src.live.bridgeState() : (src.snapshot().bridge?.state ?? 'disconnected')
      return [[{}, state === 'connected' ? 1 : 0]]
    })
    this.counter('counter_edge_auth_failures_total', 'Refused logins (wrong or revoked credentials).', [], () => [[{}, c().authFailures ?? 0]])
    this.counter('counter_edge_password_checks_total', 'Password checks run (scrypt, or the same work for an unknown username); logins refused by the limiter cost none.', [], () => [[{}, c().passwordChecks ?? 0]])
    this.counter('counter_edge_acl_denials_total', 'Publishes and subscriptions refused by the ACL or limits.', [], () => [[{}, c().aclDenials ?? 0]])
    this.counter('counter_edge_invalid_payloads_total', 'Board messages that broke the contract and were not bridged.', [], () => [[{}, src.counters.quarantined['invalid-payload']]])
    this.counter(
      'counter_edge_refusals_total',
      'Everything the hub turned away, by kind (every one, also those whose log line the refusal log limiter held back).',
      ['kind'],
      () => Object.entries(src.counters.refusals).map(([kind, n]): Sample => [{ kind }, n]),
    )
    // Every code from the start, at 0: an alert on central sending to a counter the hall lacks can fire on the first one.
    this.counter(
      'counter_edge_commands_refused_total',
      'Commands the hub itself answered with a refusal instead of passing them to a board, by code (docs/integration.md, "Commands the hub answers").',
      ['code'],
      () => Object.entries({ 'unknown-counter': 0, 'qos-required': 0, 'retained-refused': 0, expired: 0, ...src.counters.commandsRefused }).map(([code, n]): Sample => [{ code }, n]),
    )
    this.counter(
      'counter_edge_quarantined_total',
      "A board's own messages acknowledged into the quarantine file instead of refused, by why the hub could not accept them.",
      ['kind'],
      () => Object.entries(src.counters.quarantined).map(([kind, n]): Sample => [{ kind }, n]),
    )
    this.counter('counter_edge_services_total', 'Services finished per window, by outcome (since the hub started).', ['counter', 'outcome'], () =>
      this.known().flatMap((counter) => SERVICE_OUTCOMES.map((outcome): Sample => [{ counter, outcome }, src.stats().get(counter)?.served[outcome] ?? 0])),
    )
    this.counter('counter_edge_ratings_total', 'Evaluator ratings per window, by score (since the hub started).', ['counter', 'score'], () =>
      this.known().flatMap((counter) => EVALUATION_SCORES.map((score): Sample => [{ counter, score }, src.stats().get(counter)?.ratings[score] ?? 0])),
    )
    this.streams('live_streams', 'live_stream', src.liveStreams, {
      open: 'Dashboard live streams (GET /api/live) open now.',
      dropped: 'Live streams closed because their reader did not keep up.',
      refused: 'Live streams answered 503 because a cap was reached.',
      buffered: 'Bytes the hub holds for open live streams, waiting for their sockets.',
      peak: 'The most one live stream had waiting in the hub at once since the start.',
    })
    if (src.screenStreams) {
      this.streams('screen_streams', null, src.screenStreams, {
        open: 'Hall screen live streams (the /screen page on the waiting-room TVs) open now.',
        dropped: 'Hall screen streams closed because their reader did not keep up.',
        refused: 'Hall screen streams answered 503 because a cap was reached.',
        buffered: 'Bytes the hub holds for open hall screen streams, waiting for their sockets.',
      })
    }
    const cluster = src.live?.cluster
    if (cluster) this.defineCluster(cluster)
    const fleet = src.fleet
    if (fleet) for (const f of FLEET_SERIES) this[f.type](f.name, f.help, f.labelNames, () => f.read(fleet, src.snapshot()))
  }

  private streams(prefix: string, peakPrefix: string | null, read: () => LiveStreamStats, help: { open: string; dropped: string; refused: string; buffered: string; peak?: string }): void {
    this.gauge(`counter_edge_${prefix}_open`, help.open, [], () => [[{}, read().open]])
    this.counter(`counter_edge_${prefix}_dropped_total`, help.dropped, [], () => [[{}, read().dropped]])
    this.counter(`counter_edge_${prefix}_refused_total`, help.refused, [], () => [[{}, read().refused]])
    this.gauge(`counter_edge_${prefix}_buffered_bytes`, help.buffered, [], () => [[{}, read().bufferedBytes]])
    if (peakPrefix && help.peak) this.gauge(`counter_edge_${peakPrefix}_peak_buffered_bytes`, help.peak, [], () => [[{}, read().peakStreamBufferedBytes]])
  }

  /** A cluster node's own view: Redis, the bridge lease, and the hall totals kept in Redis. */
  private defineCluster(sample: () => ClusterSample): void {
    this.gauge('counter_edge_redis_up', "1 while this node's Redis answers its probe in time (PING every second).", [], () => [[{}, sample().redisUp ? 1 : 0]])
    this.gauge('counter_edge_redis_latency_seconds', 'Round trip of the last answered Redis probe; absent while Redis is away.', [], () => {
      const ms = sample().redisLatencyMs
      return ms === null ? [] : [[{}, ms / 1000]]
    })
    this.gauge('counter_edge_bridge_lease_held', 'This node holds the bridge lease (it runs the bridge to central).', [], () => [[{}, sample().leaseHeld ? 1 : 0]])
    this.gauge('counter_edge_bridge_lease_holder', 'The bridge lease holder as read from Redis (its broker id); absent when nobody holds it or Redis is away.', ['holder'], () => {
      const holder = sample().leaseHolder
      return holder ? [[{ holder }, 1]] : []
    })
    this.gauge('counter_edge_hall_totals_unwritten', 'Ratings and services this node saw and has not yet counted in Redis (Redis away).', [], () => [[{}, sample().totalsUnwritten]])
    const totals = (pick: (t: NonNullable<ClusterSample['totals']>) => Record<string, Record<string, number>>, label: string) => (): Sample[] => {
      const t = sample().totals
      if (!t) return []
      return Object.entries(pick(t))
        .sort(([a], [b]) => a.localeCompare(b))
        .flatMap(([counter, by]) => Object.entries(by).map(([k, n]): Sample => [{ counter, [label]: k }, n]))
    }
    this.counter('counter_edge_hall_services_total', 'Services finished per window, by outcome, for the hall (kept in Redis: survives node restarts and failovers).', ['counter', 'outcome'], totals((t) => t.served, 'outcome'))
    this.counter('counter_edge_hall_ratings_total', 'Evaluator ratings per window, by score, for the hall (kept in Redis: survives node restarts and failovers).', ['counter', 'score'], totals((t) => t.ratings, 'score'))
  }
}

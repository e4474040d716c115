import type { Aedes, AedesPublishPacket } from 'aedes'
import { Histogram, type Registry } from 'prom-client'
import { topics } from '../../edge/protocol/index.ts'
import { RecentIds } from '../recent-ids.ts'
import { MessageParses } from '../message-parses.ts'

/** A hall's services take minutes; its limits are 5 and 15 minutes by default. */
export const SERVICE_SECONDS = [30, 60, 120, 300, 600, 900, 1800, 3600] as const
/** From the call to the start of service: the walk to the window, a recall, a no-show prompt. */
export const WAIT_SECONDS = [5, 10, 30, 60, 120, 300, 600] as const
/** A command through the hub to the board and its reply back: milliseconds on a hall LAN, seconds when a board struggles. */
export const ROUND_TRIP_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

/** Commands waiting for their reply, at most; past it the oldest is forgotten (its round trip is not measured). */
const MAX_PENDING = 10_000
/** A reply later than this is not a round trip worth measuring (the board was offline; central's expiry). */
const PENDING_MS = 10 * 60_000

/** The labels every series of a hub carries: `hall`, and `node` in a cluster. */
export type BaseLabels = Record<string, string>

/**
 * Per-window histograms for /metrics, from what passes through the hub: the
 * service time and the wait the board reports in its events, and the command
 * round trip the hub itself sees, from a command published to a window to that
 * window's reply naming the command's id. A replayed event (journal after a
 * reconnect) is counted once, by its id. Every window in known() has its
 * series at 0 from the first scrape on.
 */
export class ServiceHistograms {
  private readonly service: Histogram<string>
  private readonly wait: Histogram<string>
  private readonly roundTrip: Histogram<string>
  /** Windows whose series exist (zeroed once: zero() again would wipe what they counted). */
  private readonly windows = new Set<string>()
  private readonly pending = new Map<string, { counter: string; at: number }>()
  private readonly seen = new RecentIds(20_000)
  private readonly parses: MessageParses
  private readonly filters: string[]
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    this.apply(packet.topic, packet.payload)
    done()
  }

  constructor(
    private readonly opts: {
      hall: string
      aedes: Aedes
      registry: Registry
      labels: BaseLabels
      /** The windows the hub knows at scrape time. */
      known: () => Iterable<string>
      now?: () => number
      /** Shared with the uplink and the hall view: an event is validated once on the hub (hub/message-parses.ts). */
      parses?: MessageParses
    },
  ) {
    this.parses = opts.parses ?? new MessageParses()
    this.filters = [topics.hallEvents(opts.hall), topics.hallCommands(opts.hall), topics.hallReplies(opts.hall)]
    const histogram = (name: string, help: string, buckets: readonly number[]) =>
      new Histogram({ name, help, buckets: [...buckets], labelNames: [...Object.keys(opts.labels), 'counter'], registers: [opts.registry], collect: () => this.ensureKnown() })
    this.service = histogram('counter_edge_service_duration_seconds', 'Per window: service time, from its start to its end, as the board reports it.', SERVICE_SECONDS)
    this.wait = histogram('counter_edge_call_wait_seconds', 'Per window: from the call to the start of service (the walk to the window, recalls), as the board reports it.', WAIT_SECONDS)
    this.roundTrip = histogram('counter_edge_command_round_trip_seconds', "Per window: from a command's arrival at the hub to the window's reply passing through it.", ROUND_TRIP_SECONDS)
  }

  async start(): Promise<void> {
    for (const f of this.filters) await new Promise<void>((r) => this.opts.aedes.subscribe(f, this.deliver, () => r()))
  }

  async stop(): Promise<void> {
    for (const f of this.filters) await new Promise<void>((r) => this.opts.aedes.unsubscribe(f, this.deliver, () => r()))
    this.pending.clear()
  }

  private ensureKnown(): void {
    for (const counter of this.opts.known()) this.ensure(counter)
  }

  private ensure(counter: string): Record<string, string> {
    const labels = { ...this.opts.labels, counter }
    if (!this.windows.has(counter)) {
      this.windows.add(counter)
      for (const h of [this.service, this.wait, this.roundTrip]) h.zero(labels)
    }
    return labels
  }

  private now(): number {
    return (this.opts.now ?? Date.now)()
  }

  private apply(topic: string, payload: Uint8Array | string): void {
    const m = this.parses.parse(topic, payload)
    if (!m.ok || !('counter' in m.topic)) return
    const counter = m.topic.counter
    if (m.topic.kind === 'cmd') {
      const id = (m.message as { id?: unknown }).id
      if (typeof id !== 'string') return
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!)
      this.pending.set(id, { counter, at: this.now() })
      return
    }
    if (m.topic.kind === 'reply') {
      const cmd = (m.message as { cmd?: unknown }).cmd
      if (typeof cmd !== 'string') return
      const p = this.pending.get(cmd)
      if (!p || p.counter !== counter) return
      this.pending.delete(cmd)
      const ms = this.now() - p.at
      if (ms >= 0 && ms <= PENDING_MS) this.roundTrip.observe(this.ensure(counter), ms / 1000)
      return
    }
    if (m.topic.kind !== 'event') return
    const e = m.message as { id: string; type: string; durationMs?: number; waitedMs?: number }
    if (e.type !== 'service-finished' && e.type !== 'service-started' && e.type !== 'service-transferred') return
    if (!this.seen.add(e.id)) return
    // A transfer ends this window's part of the service, as finish {"outcome": "transferred"} does.
    if ((e.type === 'service-finished' || e.type === 'service-transferred') && typeof e.durationMs === 'number') this.service.observe(this.ensure(counter), e.durationMs / 1000)
    if (e.type === 'service-started' && typeof e.waitedMs === 'number') this.wait.observe(this.ensure(counter), e.waitedMs / 1000)
  }
}

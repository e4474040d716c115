import type { Aedes, AedesPublishPacket } from 'aedes'
import { parseMessage, topics } from '../../edge/protocol/index.ts'

/** Cumulative Prometheus histogram counts for one label set: `counts[i]` observations ≤ `bounds[i]`. */
export interface Histogram {
  bounds: readonly number[]
  counts: number[]
  sum: number
  count: number
}

export function emptyHistogram(bounds: readonly number[]): Histogram {
  return { bounds, counts: bounds.map(() => 0), sum: 0, count: 0 }
}

function observe(h: Histogram, value: number): void {
  for (let i = 0; i < h.bounds.length; i++) if (value <= h.bounds[i]!) h.counts[i]!++
  h.sum += value
  h.count++
}

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

export interface WindowHistograms {
  service: Histogram
  wait: Histogram
  roundTrip: Histogram
}

/**
 * Per-window histograms for /metrics, from what passes through the hub: the
 * service time and the wait the board reports in its events, and the command
 * round trip the hub itself sees, from a command published to a window to that
 * window's reply naming the command's id. A replayed event (journal after a
 * reconnect) is counted once, by its id.
 */
export class ServiceHistograms {
  private readonly windows = new Map<string, WindowHistograms>()
  private readonly pending = new Map<string, { counter: string; at: number }>()
  private readonly seen = new Set<string>()
  private readonly seenOrder: string[] = []
  private readonly filters: string[]
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    this.apply(packet.topic, packet.payload)
    done()
  }

  constructor(private readonly opts: { hall: string; aedes: Aedes; now?: () => number }) {
    this.filters = [topics.hallEvents(opts.hall), topics.hallCommands(opts.hall), topics.hallReplies(opts.hall)]
  }

  async start(): Promise<void> {
    for (const f of this.filters) await new Promise<void>((r) => this.opts.aedes.subscribe(f, this.deliver, () => r()))
  }

  async stop(): Promise<void> {
    for (const f of this.filters) await new Promise<void>((r) => this.opts.aedes.unsubscribe(f, this.deliver, () => r()))
    this.pending.clear()
  }

  /** A window's histograms, made empty on first ask so every known window has its series from the start. */
  of(counter: string): WindowHistograms {
    let h = this.windows.get(counter)
    if (!h) {
      h = { service: emptyHistogram(SERVICE_SECONDS), wait: emptyHistogram(WAIT_SECONDS), roundTrip: emptyHistogram(ROUND_TRIP_SECONDS) }
      this.windows.set(counter, h)
    }
    return h
  }

  counters(): string[] {
    return [...this.windows.keys()]
  }

  private now(): number {
    return (this.opts.now ?? Date.now)()
  }

  private apply(topic: string, payload: Uint8Array | string): void {
    const m = parseMessage(topic, payload)
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
      if (ms >= 0 && ms <= PENDING_MS) observe(this.of(counter).roundTrip, ms / 1000)
      return
    }
    if (m.topic.kind !== 'event') return
    const e = m.message as { id: string; type: string; durationMs?: number; waitedMs?: number }
    if (e.type !== 'service-finished' && e.type !== 'service-started') return
    if (this.seen.has(e.id)) return
    this.seen.add(e.id)
    this.seenOrder.push(e.id)
    if (this.seenOrder.length > 20_000) this.seen.delete(this.seenOrder.shift()!)
    if (e.type === 'service-finished' && typeof e.durationMs === 'number') observe(this.of(counter).service, e.durationMs / 1000)
    if (e.type === 'service-started' && typeof e.waitedMs === 'number') observe(this.of(counter).wait, e.waitedMs / 1000)
  }
}

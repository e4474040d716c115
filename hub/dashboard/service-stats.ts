import type { Aedes, AedesPublishPacket } from 'aedes'
import { EVALUATION_SCORES, SCORE_LABELS, topics, type BoardEvent } from '../../edge/protocol/index.ts'
import { madeAfter, type MadeAt } from '../event-order.ts'
import { RecentIds } from '../recent-ids.ts'
import { MessageParses } from '../message-parses.ts'

export interface FeedItem {
  counter: string
  type: string
  ts: string
  ticket: string | null
  detail: string | null
  /**
   * The event's own id, boot and seq: kept with the feed so a hub restarted on its data dir still knows
   * which events it has counted (a board resends what the killed hub took but never acknowledged), and
   * which of a window's ratings was given last. Absent from lines an older hub wrote.
   */
  id?: string
  boot?: string
  bootSeq?: number
}

export interface WindowStats {
  served: Record<string, number>
  ratings: Record<string, number>
  lastRating: { ticket: string; score: string; ts: string } | null
}

/**
 * Per-window service counts and ratings for the dashboard and /metrics, from
 * the board events passing through the hub. Deduplicated by message id: a
 * journal replay after a reconnect must not count a rating twice.
 */
export class ServiceStats {
  private readonly stats = new Map<string, WindowStats>()
  /**
   * The boot and seq of each window's last rating, beside it (the rating itself is what the pages get):
   * the last is the one given last (hub/event-order.ts), not the last to arrive.
   */
  private readonly lastOrder = new Map<string, MadeAt>()
  private readonly seen = new RecentIds(20_000)
  private readonly parses: MessageParses
  private readonly listeners = new Set<(item: FeedItem) => void>()
  private readonly filter: string
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    this.apply(packet.topic, packet.payload)
    done()
  }

  /** parses: shared with the uplink and the hall view, so an event is validated once on the hub (hub/message-parses.ts). */
  constructor(private readonly opts: { hall: string; aedes: Aedes; parses?: MessageParses }) {
    this.parses = opts.parses ?? new MessageParses()
    this.filter = topics.hallEvents(opts.hall)
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.opts.aedes.subscribe(this.filter, this.deliver, () => r()))
  }

  onEvent(listener: (item: FeedItem) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  of(counter: string): WindowStats {
    let s = this.stats.get(counter)
    if (!s) {
      s = { served: {}, ratings: {}, lastRating: null }
      this.stats.set(counter, s)
    }
    return s
  }

  /**
   * A feed entry kept by the hub before a restart: its event counts as seen, so the board's resend of
   * one the killed hub took but never acknowledged is not a second line and a second count; and a
   * rating in it is the window's last if none given later is known (its tile showed 最近评价 – while the
   * feed under it listed the rating). Entries are taken oldest first.
   */
  recall(entry: FeedItem): void {
    if (entry.id !== undefined) this.seen.add(entry.id)
    if (entry.type !== 'evaluated' || entry.ticket === null || entry.detail === null || !(EVALUATION_SCORES as readonly string[]).includes(entry.detail)) return
    this.rated(entry.counter, { ticket: entry.ticket, score: entry.detail, ts: entry.ts }, { boot: entry.boot, seq: entry.bootSeq, ts: entry.ts })
  }

  private rated(counter: string, rating: NonNullable<WindowStats['lastRating']>, order: MadeAt): void {
    const s = this.of(counter)
    const before = this.lastOrder.get(counter)
    if (s.lastRating && before && !madeAfter(order, before)) return
    s.lastRating = rating
    this.lastOrder.set(counter, order)
  }

  all(): Map<string, WindowStats> {
    return this.stats
  }

  private apply(topic: string, payload: Uint8Array | string): void {
    const m = this.parses.parse(topic, payload)
    if (!m.ok || m.topic.kind !== 'event') return
    const e = m.message as BoardEvent
    if (!this.seen.add(e.id)) return
    const counter = m.topic.counter
    const s = this.of(counter)
    let detail: string | null = null
    if (e.type === 'service-finished') {
      s.served[e.outcome] = (s.served[e.outcome] ?? 0) + 1
      detail = e.outcome
    } else if (e.type === 'service-transferred') {
      // The window's part ends here as it does with finish {"outcome": "transferred"}: the transfer command
      // central uses now (docs/integration.md, "Transfer") left this window's transferred count at 0.
      // The feed's line says 转办 by its type already: no detail, which the pages would show untranslated.
      s.served.transferred = (s.served.transferred ?? 0) + 1
    } else if (e.type === 'evaluated') {
      s.ratings[e.score] = (s.ratings[e.score] ?? 0) + 1
      this.rated(counter, { ticket: e.ticket, score: e.score, ts: e.ts }, { boot: e.boot, seq: e.seq, ts: e.ts })
      detail = e.score
    } else if (e.type === 'rating-alert') detail = `${e.level} ${SCORE_LABELS[e.score].en}`
    else if (e.type === 'fault') detail = `${e.device} ${e.code}`
    else if (e.type === 'capture-failed') detail = `${e.kind} ${e.reason}`
    else if (e.type === 'overtime') detail = e.level
    const ticket = 'ticket' in e && typeof e.ticket === 'string' ? e.ticket : null
    const item: FeedItem = { counter, type: e.type, ts: e.ts, ticket, detail, id: e.id, boot: e.boot, bootSeq: e.seq }
    for (const l of this.listeners) l(item)
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.opts.aedes.unsubscribe(this.filter, this.deliver, () => r()))
  }
}

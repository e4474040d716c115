import type { MqttClient } from 'mqtt'
import { parseMessage, topics } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { connectMqtt, parseBrokerUrl } from '../edge/shared/mqtt-connect.ts'

export interface CentralRating {
  counter: string
  ticket: string
  score: string
  id: string
}

export interface CentralRatingsOptions {
  hall: string
  /** The central stand-in broker. */
  url: string
  /** Ratings kept for GET /api/ratings, newest kept; older ones are only counted. */
  keep: number
  log: Logger
}

/**
 * The ratings central received, as the control API reports them: listened to
 * at the central broker itself, so they show whether or not the central queue
 * stub runs (`--no-traffic` left /api/ratings empty while central got every
 * rating, issue 21). Deduplicated by message id (at least once on the wire),
 * and bounded: a hall left running for days keeps the last `keep`.
 */
export class CentralRatings {
  private client: MqttClient | null = null
  private readonly kept: CentralRating[] = []
  private readonly seen = new Set<string>()
  /** Every rating received, including those no longer kept. */
  total = 0

  constructor(private readonly opts: CentralRatingsOptions) {}

  get ratings(): readonly CentralRating[] {
    return this.kept
  }

  async start(): Promise<void> {
    const client = connectMqtt({ addresses: [parseBrokerUrl(this.opts.url)], clientId: `central-ratings-${this.opts.hall}`, clean: true })
    this.client = client
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'central ratings link error'))
    client.on('message', (topic, payload) => this.onMessage(topic, payload))
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
    await client.subscribeAsync(topics.hallEvents(this.opts.hall), { qos: 1 })
  }

  private onMessage(topic: string, payload: Buffer): void {
    const m = parseMessage(topic, payload)
    if (!m.ok || m.topic.kind !== 'event' || m.topic.type !== 'evaluated') return
    const e = m.message as unknown as { id: string; ticket: string; score: string }
    if (this.seen.has(e.id)) return
    this.seen.add(e.id)
    this.total++
    this.kept.push({ counter: m.topic.counter, ticket: String(e.ticket), score: String(e.score), id: e.id })
    if (this.kept.length > this.opts.keep) {
      const dropped = this.kept.shift()!
      // A duplicate comes within seconds of its first copy; ids of ratings no longer kept need not be remembered.
      this.seen.delete(dropped.id)
    }
  }

  async stop(): Promise<void> {
    const client = this.client
    this.client = null
    await client?.endAsync()
  }
}

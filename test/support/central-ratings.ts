import mqtt, { type MqttClient } from 'mqtt'
import { parseMessage, topics, type EventType } from '../../edge/protocol/index.ts'

/**
 * Central's side of the ratings, as docs/integration.md ("Ratings: one
 * outcome per served service") tells central to count them: a persistent
 * session on the central broker from the start, QoS 1, every event parsed
 * with the contract and kept by its envelope `id`, every delivery counted;
 * then `tallyRatings` keys the outcomes by service record.
 */

export interface CentralEvent {
  id: string
  counter: string
  type: EventType
  fields: Record<string, unknown>
}

export interface CentralReply {
  ok: boolean
  code: string | null
}

export class CentralRatings {
  /** Each event once, by envelope id, as first delivered. */
  readonly events = new Map<string, CentralEvent>()
  /** Deliveries per envelope id: more than one is the chain's at-least-once, which dedup by id drops. */
  readonly deliveries = new Map<string, number>()
  readonly replies = new Map<string, CentralReply[]>()
  readonly invalid: string[] = []
  private readonly waiters = new Map<string, Array<() => void>>()

  constructor(readonly client: MqttClient | null = null) {}

  static async start(url: string, hall: string): Promise<CentralRatings> {
    const client = await mqtt.connectAsync(url, { clientId: `central-ratings-${hall}`, clean: false, reconnectPeriod: 200, connectTimeout: 5_000 })
    ;(client.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true)
    const c = new CentralRatings(client)
    client.on('message', (topic, payload) => c.add(topic, payload))
    client.on('error', () => {})
    await client.subscribeAsync([topics.hallEvents(hall), topics.hallReplies(hall)], { qos: 1 })
    return c
  }

  /** One delivery as the broker handed it over (public so the tally's own test can feed it). */
  add(topic: string, payload: Buffer): void {
    const m = parseMessage(topic, payload)
    if (!m.ok) return void this.invalid.push(`${topic}: ${m.message}`)
    if (m.kind === 'reply') {
      const r = m.message
      const cmd = r.cmd ?? ''
      this.replies.set(cmd, [...(this.replies.get(cmd) ?? []), { ok: r.ok, code: r.ok ? null : (r.code ?? null) }])
      for (const w of this.waiters.get(cmd) ?? []) w()
      this.waiters.delete(cmd)
      return
    }
    if (m.kind !== 'event' || m.topic.kind !== 'event') return
    const e = m.message as unknown as Record<string, unknown> & { id: string }
    this.deliveries.set(e.id, (this.deliveries.get(e.id) ?? 0) + 1)
    if (this.events.has(e.id)) return
    this.events.set(e.id, { id: e.id, counter: m.topic.counter, type: m.topic.type as EventType, fields: e })
  }

  /** The first reply to `cmd`, once it is here (now or within ms), else null. */
  async reply(cmd: string, ms: number): Promise<CentralReply | null> {
    if (!this.replies.has(cmd)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          const rest = (this.waiters.get(cmd) ?? []).filter((w) => w !== done)
          if (rest.length) this.waiters.set(cmd, rest)
          else this.waiters.delete(cmd)
          resolve()
        }, ms)
        const done = () => {
          clearTimeout(t)
          resolve()
        }
        this.waiters.set(cmd, [...(this.waiters.get(cmd) ?? []), done])
      })
    }
    return this.replies.get(cmd)?.[0] ?? null
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true).catch(() => {})
  }
}

export interface RatingsTally {
  /** Services called (distinct records of `called`). */
  services: number
  /** Records whose `service-finished` says served: each owes exactly one outcome. */
  served: number
  /** Services that ended otherwise: not served (transferred, abandoned) or no-show. */
  notServed: number
  rated: number
  missed: number
  missedBy: Record<string, number>
  early: number
  /** Deliveries beyond the first of one envelope id. */
  transportDuplicates: number
  /** Outcome events per record that differ in id: a real double rating. */
  doubled: string[]
  /** Served records with no outcome at central. */
  missing: string[]
  /** Outcomes for a record that was not served (or that central never saw finish). */
  unserved: string[]
  /** Served finishes the driver had acknowledged whose `service-finished` never reached central. */
  finishLost: string[]
  problems: string[]
}

const OUTCOMES: ReadonlySet<EventType> = new Set<EventType>(['evaluated', 'evaluation-missed'])

/**
 * Counts as central should (docs/integration.md): dedup by envelope id, then
 * one outcome per served record. `servedCmds` are the ids of the `finish`
 * (outcome served) commands central sent and got `ok` for: each must show up
 * as a served `service-finished` carrying that `cmd`.
 */
export function tallyRatings(c: CentralRatings, servedCmds: ReadonlySet<string>): RatingsTally {
  const called = new Set<string>()
  const finished = new Map<string, { outcome: string; ids: string[]; cmd: string | null }>()
  const noShows = new Set<string>()
  const outcomes = new Map<string, CentralEvent[]>()
  const problems: string[] = []
  for (const e of c.events.values()) {
    const record = typeof e.fields.record === 'string' ? e.fields.record : null
    if (e.type === 'called' || e.type === 'service-finished' || e.type === 'no-show' || OUTCOMES.has(e.type)) {
      if (!record) {
        problems.push(`${e.type} ${e.id} carries no record`)
        continue
      }
    }
    if (!record) continue
    if (e.type === 'called') called.add(record)
    else if (e.type === 'no-show') noShows.add(record)
    else if (e.type === 'service-finished') {
      const f = finished.get(record) ?? { outcome: String(e.fields.outcome), ids: [], cmd: typeof e.fields.cmd === 'string' ? e.fields.cmd : null }
      f.ids.push(e.id)
      finished.set(record, f)
    } else if (OUTCOMES.has(e.type)) outcomes.set(record, [...(outcomes.get(record) ?? []), e])
  }
  for (const [record, f] of finished) if (f.ids.length > 1) problems.push(`record ${record} finished ${f.ids.length} times (${f.ids.join(', ')})`)

  const served = [...finished].filter(([, f]) => f.outcome === 'served').map(([r]) => r)
  const servedSet = new Set(served)
  const t: RatingsTally = {
    services: called.size,
    served: served.length,
    notServed: finished.size - served.length + noShows.size,
    rated: 0,
    missed: 0,
    missedBy: {},
    early: 0,
    transportDuplicates: [...c.deliveries.values()].reduce((n, k) => n + k - 1, 0),
    doubled: [],
    missing: [],
    unserved: [],
    finishLost: [],
    problems,
  }
  for (const record of served) {
    const got = outcomes.get(record) ?? []
    if (got.length === 0) t.missing.push(record)
    if (got.length > 1) t.doubled.push(`${record}: ${got.map((e) => `${e.type} ${e.id}`).join(', ')}`)
  }
  for (const [record, got] of outcomes) {
    if (!servedSet.has(record)) t.unserved.push(`${record} (${finished.get(record)?.outcome ?? (noShows.has(record) ? 'no-show' : 'no finish seen')}): ${got.map((e) => e.type).join(', ')}`)
    for (const e of got) {
      if (e.type === 'evaluated') {
        t.rated++
        if (e.fields.early === true) t.early++
      } else {
        t.missed++
        const reason = String(e.fields.reason ?? 'timeout')
        t.missedBy[reason] = (t.missedBy[reason] ?? 0) + 1
      }
    }
  }
  const finishCmds = new Set([...finished.values()].filter((f) => f.outcome === 'served').map((f) => f.cmd))
  for (const cmd of servedCmds) if (!finishCmds.has(cmd)) t.finishLost.push(cmd)
  if (c.invalid.length) problems.push(...c.invalid.slice(0, 5).map((l) => `invalid at central: ${l}`))
  return t
}

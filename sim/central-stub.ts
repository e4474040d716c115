import type { MqttClient } from 'mqtt'
import { parseMessage, topics, type CommandInput, type CommandName, type State } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { connectMqtt, parseBrokerUrl } from '../edge/shared/mqtt-connect.ts'

export interface CentralStubOptions {
  hall: string
  url: string
  log: Logger
  /** Seconds of simulated time per real second: the hall's day in minutes. */
  speed?: number
  /** Mean real seconds a service takes at speed 1 (halls report a handful of minutes). */
  serviceS?: number
  /** Tickets issued per real minute at speed 1. */
  arrivalsPerMinute?: number
  /** Most commands sent per tick (4 ticks a second), as a real queue system paces itself; default: no limit. */
  maxCommandsPerTick?: number
  random?: () => number
  /** Called with each human-readable line (what is called where, ratings as they come). */
  onLine?: (line: string) => void
}

interface WindowView {
  counter: string
  state: State | null
  online: boolean
  pending: boolean
  lastAction: number
}

const SERVICES = [
  { prefix: 'A', service: 'passport' },
  { prefix: 'B', service: 'permit' },
  { prefix: 'C', service: 'renewal' },
] as const

/**
 * A stand-in for the central queue system: issues tickets, signs officers in,
 * calls the next ticket to each idle window, starts and finishes services.
 * It integrates exactly as a real central system would: over MQTT, with the
 * contract's schemas, deduplicating events by id.
 */
export class CentralStub {
  private client: MqttClient | null = null
  private readonly windows = new Map<string, WindowView>()
  private readonly queue: Array<{ ticket: string; service: string; green: boolean }> = []
  private readonly seen = new Set<string>()
  private readonly counters = { A: 0, B: 0, C: 0 } as Record<string, number>
  private cmdSeq = 0
  private timer: NodeJS.Timeout | null = null
  private nextArrival = 0
  readonly ratings: Array<{ counter: string; ticket: string; score: string; id: string }> = []
  readonly replies: Array<{ counter: string; ok: boolean; name: string; code?: string }> = []

  constructor(private readonly opts: CentralStubOptions) {}

  private get speed(): number {
    return this.opts.speed ?? 20
  }

  async start(): Promise<void> {
    const { hall, log } = this.opts
    const client = connectMqtt({ addresses: [parseBrokerUrl(this.opts.url)], clientId: `central-stub-${hall}`, clean: true })
    this.client = client
    client.on('message', (topic, payload) => this.onMessage(topic, payload))
    client.on('error', (err) => log.warn({ err: err.message }, 'central stub link error'))
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
    await client.subscribeAsync(topics.hallCounters(hall), { qos: 1 })
    await client.publishAsync(topics.centralStatus(hall), JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1, retain: true })
    this.timer = setInterval(() => this.tick(), 250)
  }

  private onMessage(topic: string, payload: Buffer): void {
    const m = parseMessage(topic, payload)
    if (!m.ok) {
      if (!topic.includes('/cmd/')) this.opts.log.warn({ topic, reason: m.message }, 'central: message breaks the contract')
      return
    }
    const t = m.topic
    if (t.kind === 'cmd' || !('counter' in t)) return
    const msg = m.message as { id?: string }
    // At least once on the wire, exactly once in effect: drop what we have seen.
    if (msg.id) {
      if (this.seen.has(msg.id)) return
      this.seen.add(msg.id)
    }
    const w = this.window(t.counter)
    if (t.kind === 'status') {
      w.online = (m.message as { online: boolean }).online
      if (!w.online) w.state = null
    } else if (t.kind === 'state') {
      w.state = m.message as State
      w.pending = false
    } else if (t.kind === 'reply') {
      const r = m.message as { ok: boolean; name: string; code?: string; message?: string }
      this.replies.push({ counter: t.counter, ok: r.ok, name: r.name, ...(r.code ? { code: r.code } : {}) })
      if (!r.ok) {
        w.pending = false
        this.opts.log.warn({ counter: t.counter, command: r.name, code: r.code, reason: r.message }, 'central: command refused')
      }
    } else if (t.kind === 'event') {
      const e = m.message as unknown as Record<string, unknown>
      if (t.type === 'called') this.line(`${e.ticket} → window ${t.counter}${e.green ? ' (green channel)' : ''}`)
      if (t.type === 'evaluated') {
        this.ratings.push({ counter: t.counter, ticket: String(e.ticket), score: String(e.score), id: String(msg.id) })
        this.line(`window ${t.counter}: ${e.ticket} rated ${e.score}`)
      }
      if (t.type === 'evaluation-missed') this.line(`window ${t.counter}: ${e.ticket} left without rating`)
      if (t.type === 'no-show') this.line(`window ${t.counter}: ${e.ticket} did not come`)
      if (t.type === 'fault') this.line(`window ${t.counter}: FAULT ${e.device} ${e.code}: ${e.message}`)
    }
  }

  private window(counter: string): WindowView {
    let w = this.windows.get(counter)
    if (!w) {
      w = { counter, state: null, online: false, pending: false, lastAction: 0 }
      this.windows.set(counter, w)
    }
    return w
  }

  private line(text: string): void {
    this.opts.onLine?.(text)
  }

  private issueTickets(now: number): void {
    const rnd = this.opts.random ?? Math.random
    const perMin = (this.opts.arrivalsPerMinute ?? 3) * this.speed
    if (this.nextArrival === 0) this.nextArrival = now
    while (now >= this.nextArrival && this.queue.length < 200) {
      const kind = SERVICES[Math.floor(rnd() * SERVICES.length)]!
      const n = (this.counters[kind.prefix] = ((this.counters[kind.prefix] ?? 0) % 999) + 1)
      this.queue.push({ ticket: `${kind.prefix}${String(n).padStart(3, '0')}`, service: kind.service, green: rnd() < 0.05 })
      this.nextArrival += (-Math.log(1 - rnd()) * 60_000) / perMin
    }
  }

  private tick(): void {
    const now = Date.now()
    this.issueTickets(now)
    const serviceMs = ((this.opts.serviceS ?? 240) * 1000) / this.speed
    let budget = this.opts.maxCommandsPerTick ?? Infinity
    for (const w of this.windows.values()) {
      if (budget <= 0) break
      // A command lost with its reply (a link cut) must not park the window forever.
      if (w.pending && now - w.lastAction > 10_000) w.pending = false
      const s = w.state
      if (!w.online || !s || w.pending || now - w.lastAction < 500) continue
      const before = this.cmdSeq
      const inMode = now - Date.parse(s.since)
      switch (s.mode) {
        case 'closed':
          this.send(w, 'officer', { action: 'sign-in', officer: `officer-${w.counter}`, officerName: `Officer ${w.counter}` })
          break
        case 'idle': {
          const next = this.queue.find((q) => q.green) ?? this.queue[0]
          if (!next) break
          this.queue.splice(this.queue.indexOf(next), 1)
          this.send(w, 'call', { ticket: next.ticket, service: next.service, green: next.green })
          break
        }
        case 'calling':
          if (inMode > 3000) this.send(w, 'start', {})
          break
        case 'serving':
          if (inMode > serviceMs * (0.5 + ((now / 997) % 1))) this.send(w, 'finish', { outcome: 'served' })
          break
        default:
          break
      }
      if (this.cmdSeq !== before) budget--
    }
  }

  /** Sends a command with a fresh id and a short expiry, as the contract asks of central. */
  send<N extends CommandName>(w: WindowView | string, name: N, args: Omit<CommandInput<N>, 'id' | 'expires'>): string {
    const view = typeof w === 'string' ? this.window(w) : w
    const id = `central-${this.opts.hall}-${Date.now().toString(36)}-${this.cmdSeq++}`
    const payload = { id, expires: new Date(Date.now() + 30_000).toISOString(), ...args }
    view.pending = true
    view.lastAction = Date.now()
    this.client?.publish(topics.cmd(this.opts.hall, view.counter, name), JSON.stringify(payload), { qos: 1 })
    return id
  }

  get waiting(): number {
    return this.queue.length
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    const client = this.client
    this.client = null
    if (client) {
      await client.publishAsync(topics.centralStatus(this.opts.hall), JSON.stringify({ online: false, ts: new Date().toISOString() }), { qos: 1, retain: true }).catch(() => {})
      await client.endAsync()
    }
  }
}

import type { MqttClient } from 'mqtt'
import { parseMessage, topics, type CommandInput, type CommandName, type Continuation, type EventType, type State } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { connectMqtt, parseBrokerUrl } from '../edge/shared/mqtt-connect.ts'
import { RecentIds } from '../hub/recent-ids.ts'

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
  /** Share of services transferred (转移) part way, to another window or back to the queue; default 0.05. */
  transferRate?: number
  /** Share of services parked (挂起) to wait for a document, called back later; default 0.04. */
  parkRate?: number
  /** Share of service ends after which the stub gives the officer a break (pause after this service); default 0.03. */
  breakRate?: number
  /** Share of called applicants who do not come (the board's no-show prompt handles them); default 0.03. */
  absentRate?: number
  /**
   * Share of services that run long, past the window's overtime limit, so a
   * simulated hall shows overtime at all (its services take seconds, a real
   * hall's limits are minutes); default 0. With it, each window is given the
   * hall's 5 and 15 minute thresholds at the simulation's speed, held to the
   * least the contract allows.
   */
  longServiceRate?: number
  /** Message ids remembered to drop the chain's copies (a copy comes within seconds); default 20,000, as the hub's followers keep. */
  seenKept?: number
  /** Entries kept in `ratings`, `replies` and `flow`, the newest; default 1000. */
  kept?: number
}

const SCORE_ZH: Record<string, string> = { 'very-satisfied': '非常满意', satisfied: '满意', neutral: '基本满意', dissatisfied: '不满意', 'very-dissatisfied': '非常不满意' }

/** A ticket waiting to be called; `record` and `continues` when it continues a service handed over. */
interface Waiting {
  ticket: string
  service: string
  green: boolean
  caseNo: string
  record?: string
  continues?: Continuation
  /** Directed to this window (a transfer to it, or a parked service's own window). */
  window?: string
  /** Callable from then on at its window, and at any window a while later. */
  dueAt?: number
}

interface WindowView {
  counter: string
  state: State | null
  online: boolean
  pending: boolean
  lastAction: number
  /** Sent this window the hall's waits, scaled to the simulation's speed. */
  configured: boolean
  /** The applicant called here will not come: no start, the board's prompt leads to recall or no-show. */
  absent: boolean
  /** A break the stub gave: it ends the break itself then. A pause from the officer's key waits for the resume key. */
  resumeAt: number | null
  /** Serving: how this service ends, decided at its start. */
  ending: 'finish' | 'transfer' | 'park'
  /** Serving: this service runs past the overtime limit. */
  long: boolean
}

const SERVICES = [
  { prefix: 'A', service: 'passport' },
  { prefix: 'B', service: 'permit' },
  { prefix: 'C', service: 'renewal' },
] as const

/**
 * A stand-in for the central queue system: issues tickets, signs officers in,
 * calls the next ticket to each idle window, starts and finishes services,
 * transfers and parks some and calls them back under their record, gives
 * breaks, and does what the officers' keys ask (pause, resume, call-next,
 * no-show, finish) and what the no-show prompt suggests. It integrates exactly
 * as a real central system would: over MQTT, with the contract's schemas,
 * deduplicating events by id.
 */
export class CentralStub {
  private client: MqttClient | null = null
  private readonly windows = new Map<string, WindowView>()
  private readonly queue: Waiting[] = []
  /** Transferred to a window, or parked: called before the general queue where they may be. */
  private readonly held: Waiting[] = []
  /** The service of each ticket in the hall today, for the tickets that come back. */
  private readonly services = new Map<string, string>()
  private caseSeq = 0
  // Bounded, as the lists below: a hall left running for days sends some 800,000 messages a day at the default speed.
  private readonly seen: RecentIds
  private readonly counters = { A: 0, B: 0, C: 0 } as Record<string, number>
  private cmdSeq = 0
  private timer: NodeJS.Timeout | null = null
  private nextArrival = 0
  readonly ratings: Array<{ counter: string; ticket: string; score: string; id: string }> = []
  readonly replies: Array<{ counter: string; ok: boolean; name: string; code?: string }> = []
  /** What the service flow did, for tests and the control API: one entry per event it acted on. */
  readonly flow: Array<{ counter: string; type: EventType; ticket: string | null; record?: string }> = []

  constructor(private readonly opts: CentralStubOptions) {
    this.seen = new RecentIds(opts.seenKept ?? 20_000)
  }

  /** Adds to one of the lists kept for tests and the control API, dropping the oldest past `kept`. */
  private keep<T>(list: T[], entry: T): void {
    list.push(entry)
    const over = list.length - (this.opts.kept ?? 1000)
    if (over > 0) list.splice(0, over)
  }

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
      this.keep(this.replies, { counter: t.counter, ok: r.ok, name: r.name, ...(r.code ? { code: r.code } : {}) })
      // A config changes no state, so no state message would end the wait for it.
      if (r.ok && r.name === 'config') w.pending = false
      if (!r.ok) {
        w.pending = false
        this.opts.log.warn({ counter: t.counter, command: r.name, code: r.code, reason: r.message }, 'central: command refused')
      }
    } else if (t.kind === 'event') {
      const e = m.message as unknown as Record<string, unknown>
      this.onFlowEvent(w, t.type as EventType, e)
      if (t.type === 'called') this.line(`${e.ticket} → ${t.counter} 窗口 / window ${t.counter}${e.green ? '（绿色通道 / green channel）' : ''}${e.continues ? ` (${e.continues === 'park' ? '回叫 / called back' : '转入 / transferred'}, record ${e.record})` : ''}`)
      if (t.type === 'evaluated') {
        this.keep(this.ratings, { counter: t.counter, ticket: String(e.ticket), score: String(e.score), id: String(msg.id) })
        this.line(`${t.counter} 窗口 / window ${t.counter}: ${e.ticket} 评价 ${SCORE_ZH[String(e.score)] ?? e.score} / rated ${e.score}`)
      }
      if (t.type === 'evaluation-missed') this.line(`${t.counter} 窗口 / window ${t.counter}: ${e.ticket} 未评价离开 / left without rating`)
      if (t.type === 'no-show') this.line(`${t.counter} 窗口 / window ${t.counter}: ${e.ticket} 未到 / did not come`)
      if (t.type === 'fault') this.line(`${t.counter} 窗口 / window ${t.counter}: 设备故障 / FAULT ${e.device} ${e.code}: ${e.message}`)
    }
  }

  /** The service flow: what each event asks of central. */
  private onFlowEvent(w: WindowView, type: EventType, e: Record<string, unknown>): void {
    const rnd = this.opts.random ?? Math.random
    const ticket = typeof e.ticket === 'string' ? e.ticket : null
    const record = typeof e.record === 'string' ? e.record : undefined
    const counter = w.counter
    const note = () => this.keep(this.flow, { counter, type, ticket, ...(record ? { record } : {}) })
    const s = w.state
    switch (type) {
      case 'called':
        w.absent = rnd() < (this.opts.absentRate ?? 0.03)
        return
      case 'service-started': {
        const r = rnd()
        const tr = this.opts.transferRate ?? 0.05
        w.ending = r < tr ? 'transfer' : r < tr + (this.opts.parkRate ?? 0.04) ? 'park' : 'finish'
        // Drawn only when asked for, so a seeded run without long services keeps its sequence.
        w.long = w.ending === 'finish' && (this.opts.longServiceRate ?? 0) > 0 && rnd() < this.opts.longServiceRate!
        return
      }
      case 'service-transferred': {
        note()
        const back: Waiting = { ticket: ticket!, service: this.services.get(ticket!) ?? 'passport', green: false, caseNo: String(e.caseNo ?? ''), record: record!, continues: 'transfer' }
        // Due at once at its window; to any window if that one does not take it (closed, offline).
        if (typeof e.toWindow === 'string') this.held.push({ ...back, window: e.toWindow, dueAt: Date.now() })
        // Back to its queue, at the front: the applicant has waited once already.
        else this.queue.unshift(back)
        this.line(`${counter} 窗口 / window ${counter}: ${ticket} 转移 / transferred → ${e.toWindow ? `window ${e.toWindow}` : `queue ${e.toQueue}`} (${e.reason})`)
        return
      }
      case 'service-parked': {
        note()
        const serviceMs = ((this.opts.serviceS ?? 240) * 1000) / this.speed
        this.held.push({ ticket: ticket!, service: this.services.get(ticket!) ?? 'passport', green: false, caseNo: String(e.caseNo ?? ''), record: record!, continues: 'park', window: counter, dueAt: Date.now() + serviceMs * 2 })
        this.line(`${counter} 窗口 / window ${counter}: ${ticket} 挂起待回叫 / parked (${e.reason}), to be called back`)
        return
      }
      case 'officer-key':
        note()
        // The officer's keys ask central; the window acts on what central sends.
        switch (e.key) {
          case 'pause':
            // One pause key on most keypads: pressed while paused (or while a pause waits for the service), it resumes.
            if (s?.mode === 'paused' || s?.pauseAfter) this.send(w, 'resume', {})
            else if (s && s.mode !== 'closed') this.send(w, 'pause', { reason: 'break' })
            w.resumeAt = null
            return
          case 'resume':
            if (s?.mode === 'paused' || s?.pauseAfter) this.send(w, 'resume', {})
            return
          case 'call-next':
            if (s?.mode === 'idle') this.callNext(w, Date.now())
            return
          case 'no-show':
            if (s?.mode === 'calling') this.send(w, 'no-show', {})
            return
          case 'finish':
            if (s?.mode === 'serving') this.send(w, 'finish', { outcome: 'served' })
            return
          default:
            return
        }
      case 'call-unanswered':
        note()
        if (e.suggest === 'no-show') this.send(w, 'no-show', {})
        else {
          // Half of those recalled come after all.
          w.absent = rnd() < 0.5
          this.send(w, 'recall', {})
        }
        return
      case 'paused':
        note()
        this.line(`${counter} 窗口 / window ${counter}: 暂停 / paused (${e.reason})${e.afterService ? ' after the service' : ''}`)
        return
      case 'resumed':
        note()
        return
      case 'overtime':
        this.line(
          e.level === 'over'
            ? `${counter} 窗口 / window ${counter}: ${ticket} 办理超时 ${Math.round(Number(e.elapsedMs) / 1000)} 秒 / service OVERTIME, ${Math.round(Number(e.elapsedMs) / 1000)} s (limit ${Math.round(Number(e.limitMs) / 1000)} s)`
            : `${counter} 窗口 / window ${counter}: ${ticket} 办理即将超时 / service overtime warning at ${Math.round(Number(e.elapsedMs) / 1000)} s`,
        )
        return
      case 'pause-overtime':
        note()
        this.line(`${counter} 窗口 / window ${counter}: 暂停超时，请值班主管处理 / paused for ${Math.round(Number(e.pausedMs) / 60_000)} min (${e.reason}), over its limit: duty supervisor`)
        return
      case 'signed-in':
        this.line(`${counter} 窗口 / window ${counter}: ${e.officerName ?? e.officer} 签到 / signed in`)
        return
      case 'signed-out':
        this.line(`${counter} 窗口 / window ${counter}: ${e.officerName ?? e.officer} 签退 / signed out after ${Math.round(Number(e.staffedMs) / 60_000)} min`)
        return
      default:
        return
    }
  }

  private window(counter: string): WindowView {
    let w = this.windows.get(counter)
    if (!w) {
      w = { counter, state: null, online: false, pending: false, lastAction: 0, configured: false, absent: false, resumeAt: null, ending: 'finish', long: false }
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
      const ticket = `${kind.prefix}${String(n).padStart(3, '0')}`
      this.services.set(ticket, kind.service)
      this.queue.push({ ticket, service: kind.service, green: rnd() < 0.05, caseNo: `SIM${String(++this.caseSeq).padStart(8, '0')}` })
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
      const rnd = this.opts.random ?? Math.random
      switch (s.mode) {
        case 'closed':
          this.send(w, 'officer', { action: 'sign-in', officer: `officer-${w.counter}`, officerName: `Officer ${w.counter}` })
          break
        case 'idle':
          if (!w.configured) {
            // The hall's two-minute no-show prompt, at the simulation's speed.
            w.configured = true
            const noShowPromptS = Math.min(3600, Math.max(10, Math.round(120 / this.speed)))
            // The hall's 5 and 15 minutes at this speed, but never under the contract's 30 and 60 s.
            const overtime = this.opts.longServiceRate ? { overtimeWarnS: Math.max(30, Math.round(300 / this.speed)), overtimeLimitS: Math.max(60, Math.round(900 / this.speed)) } : {}
            this.send(w, 'config', { settings: { noShowPromptS, ...overtime } })
            break
          }
          this.callNext(w, now)
          break
        case 'calling':
          if (inMode > 3000 && !w.absent) this.send(w, 'start', {})
          break
        case 'serving': {
          // A long service runs past the overtime limit the window was given (the config above).
          const lasts = w.long ? (Math.max(60, Math.round(900 / this.speed)) + 10) * 1000 : serviceMs * (0.5 + ((now / 997) % 1))
          if (inMode <= lasts) break
          if (w.ending === 'park') this.send(w, 'park', { reason: 'document' })
          else if (w.ending === 'transfer') {
            const others = [...this.windows.values()].filter((o) => o !== w && o.online && o.state && o.state.mode !== 'closed')
            const to = others.length && rnd() < 0.6 ? others[Math.floor(rnd() * others.length)]! : null
            this.send(w, 'transfer', to ? { toWindow: to.counter, reason: 'needs-approval' } : { toQueue: this.services.get(s.ticket?.number ?? '') ?? 'passport', reason: 'wrong-queue' })
          } else {
            this.send(w, 'finish', { outcome: 'served' })
            if (rnd() < (this.opts.breakRate ?? 0.03) && !s.pauseAfter) {
              // A break after this service: the window finishes, rates, then pauses; the stub ends the break.
              this.send(w, 'pause', { reason: rnd() < 0.5 ? 'break' : 'meal' })
              w.resumeAt = now + (((this.opts.serviceS ?? 240) * 1000) / this.speed) * 2
            }
          }
          break
        }
        case 'paused':
          if (w.resumeAt !== null && now >= w.resumeAt) {
            w.resumeAt = null
            this.send(w, 'resume', {})
          }
          break
        default:
          break
      }
      if (this.cmdSeq !== before) budget--
    }
  }

  /** The next ticket for an idle window: one directed to it, a parked one due, then the queue (green channel first). */
  private callNext(w: WindowView, now: number): void {
    const serviceMs = ((this.opts.serviceS ?? 240) * 1000) / this.speed
    const mine = this.held.find((h) => h.window === w.counter && (h.dueAt === undefined || now >= h.dueAt))
    // A parked service whose window has not taken it back a while after it was due goes to any window.
    const stale = this.held.find((h) => h.dueAt !== undefined && now >= h.dueAt + serviceMs * 3)
    const held = mine ?? stale
    let next: Waiting | undefined
    if (held) {
      this.held.splice(this.held.indexOf(held), 1)
      next = held
    } else {
      next = this.queue.find((q) => q.green) ?? this.queue[0]
      if (next) this.queue.splice(this.queue.indexOf(next), 1)
    }
    if (!next) return
    this.send(w, 'call', {
      ticket: next.ticket,
      service: next.service,
      green: next.green,
      ...(next.caseNo ? { caseNo: next.caseNo } : {}),
      ...(next.record && next.continues ? { record: next.record, continues: next.continues } : {}),
    })
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
    return this.queue.length + this.held.length
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

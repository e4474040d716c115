/**
 * The real edge runtime in this process, without a broker: startEdge with its
 * real Window, BoardLink, in-memory journal and drivers, on the simulated
 * buses of the `sim-window` profile, talking to a RecordingSession instead of
 * mqtt.js. The session records every publish (validated against the
 * contract), acknowledges it, delivers commands and can drop and restore the
 * connection. Written for vitest fake timers: time moves only when the test
 * advances it, and the runtime reads the same faked clock.
 *
 * Waiting is by barrier, never by sleep: `sync()` sends a `sync` command and
 * returns once its reply is recorded. Everything the board did before the
 * command reached it was published by then (the window handles inputs in
 * order, and the journal sends in order), so "nothing else" can be asserted.
 */
import { EventEmitter } from 'node:events'
import { Store, type IStore } from 'mqtt'
import { afterEach, beforeEach, expect, vi } from 'vitest'
import {
  parseMessage,
  topics,
  type CommandInput,
  type CommandName,
  type MessageParse,
  type Reply,
  type TopicKind,
} from '../../edge/protocol/index.ts'
import type { HubSession, HubSessionFactory, SessionPublishOptions, SessionWill } from '../../edge/link/hub-session.ts'
import type { ConnectOptions } from '../../edge/shared/mqtt-connect.ts'
import { startEdge, type EdgeConfig, type RunningEdge } from '../../edge/main.ts'
import type { Settings } from '../../edge/counter/state.ts'
import type { VideoConfig } from '../../edge/devices/video-hooks.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware, type SimKeyName } from '../../sim/window-hardware.ts'

export type Parsed = Extract<MessageParse, { ok: true }>

/** One message as the board handed it to the session. */
export interface RecordedPublish {
  topic: string
  qos: 0 | 1
  retain: boolean
  /** The payload, validated by the contract's parseMessage. */
  parsed: Parsed
  /** The parsed payload as an object, for toMatchObject. */
  message: Record<string, unknown>
}

/** The hub's side of the board's MQTT session: what a broker would see, in order. */
export class RecordingNetwork {
  readonly publishes: RecordedPublish[] = []
  /** Payloads the contract refused: a test expects this to stay empty. */
  readonly violations: string[] = []
  /** The will each successful connect carried. */
  readonly willsAtConnect: Array<Record<string, unknown> | null> = []
  readonly sessions: RecordingSession[] = []
  up = true

  readonly factory: HubSessionFactory = (opts) => {
    const session = new RecordingSession(this, opts)
    this.sessions.push(session)
    return session
  }

  get session(): RecordingSession {
    const s = this.sessions[this.sessions.length - 1]
    if (!s) throw new Error('the link has not opened a session yet')
    return s
  }

  record(topic: string, payload: string | Buffer, opts: SessionPublishOptions): void {
    const parsed = parseMessage(topic, payload)
    if (!parsed.ok) {
      this.violations.push(`${topic}: ${parsed.code}: ${parsed.message}`)
      return
    }
    const message = JSON.parse(payload.toString()) as Record<string, unknown>
    this.publishes.push({ topic, qos: opts.qos, retain: opts.retain, parsed, message })
  }
}

interface Pending {
  topic: string
  payload: string | Buffer
  opts: SessionPublishOptions
  done: (() => void) | null
}

/**
 * Keeps mqtt.js's meaning (see edge/link/hub-session.ts): it connects on its
 * own when the network is up, a publish made while it is down waits for the
 * next connect, `close` follows a lost or failed connection, and only
 * `reconnect` tries again.
 */
export class RecordingSession extends EventEmitter implements HubSession {
  connected = false
  disconnected = false
  incomingStore: IStore = new Store()
  outgoingStore: IStore = new Store()
  options: { will?: SessionWill }
  readonly filters = new Set<string>()
  private readonly queued: Pending[] = []

  constructor(
    private readonly network: RecordingNetwork,
    opts: ConnectOptions,
  ) {
    super()
    this.options = opts.will ? { will: opts.will } : {}
    this.attempt()
  }

  subscribe(topic: string, _opts: { qos: 1 }, callback: (err: Error | null) => void): this {
    queueMicrotask(() => {
      if (!this.connected) return callback(new Error('connection closed'))
      this.filters.add(topic)
      callback(null)
    })
    return this
  }

  publish(topic: string, payload: string | Buffer, opts: SessionPublishOptions): this {
    this.deliver({ topic, payload, opts, done: null })
    return this
  }

  publishAsync(topic: string, payload: string | Buffer, opts: SessionPublishOptions): Promise<void> {
    return new Promise((resolve) => this.deliver({ topic, payload, opts, done: resolve }))
  }

  reconnect(stores: { incomingStore: IStore; outgoingStore: IStore }): this {
    this.incomingStore = stores.incomingStore
    this.outgoingStore = stores.outgoingStore
    this.disconnected = false
    this.attempt()
    return this
  }

  async endAsync(_force: boolean): Promise<void> {
    const was = this.connected
    this.connected = false
    this.disconnected = true
    if (was) this.emit('close')
  }

  /** The hub sends a message on a topic; delivered only if the board subscribed to it. */
  receive(topic: string, payload: string | Buffer): boolean {
    if (!this.connected || ![...this.filters].some((f) => matches(f, topic))) return false
    this.emit('message', topic, Buffer.from(payload))
    return true
  }

  /** The connection breaks (not a clean end: the broker would publish the will). */
  lose(): void {
    if (!this.connected) return
    this.connected = false
    this.filters.clear()
    this.emit('close')
  }

  private attempt(): void {
    queueMicrotask(() => {
      if (this.disconnected) return
      if (!this.network.up) {
        this.emit('close')
        return
      }
      this.connected = true
      const will = this.options.will
      this.network.willsAtConnect.push(will ? (JSON.parse(will.payload.toString()) as Record<string, unknown>) : null)
      this.emit('connect')
      // Unacknowledged publishes go first on the new connection, as mqtt.js resends them.
      for (const p of this.queued.splice(0)) this.deliver(p)
    })
  }

  private deliver(p: Pending): void {
    if (!this.connected) {
      this.queued.push(p)
      return
    }
    this.network.record(p.topic, p.payload, p.opts)
    // The broker's PUBACK (or, at QoS 0, the write) comes back after the board has moved on.
    if (p.done) queueMicrotask(p.done)
  }
}

/** MQTT topic filter matching with + and #. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false
  }
  return f.length === t.length
}

export interface EdgeHarnessOptions {
  hall?: string
  counter?: string
  /** Window settings; telemetry defaults to hourly so it stays out of short sequences. */
  settings?: Partial<Settings>
  /** The board profile (boards/<id>.json); default 'sim-window'. */
  profile?: string
  /** Video hooks (the NVR relay); default none. */
  video?: VideoConfig
  /** The public window from the board file; by default the counter id's. */
  window?: EdgeConfig['window']
  /** An installed board root (edge/update/board-root.ts): the runtime takes updates there. Default: none, a checkout's runtime. */
  root?: string
  /** Where the board keeps its state file and journal, so a second harness on it is the same board restarted. Default: none (memory). */
  dataDir?: string
  /** What the runtime does to restart into an update it installed (the CLI exits for the launcher). Default: it stops itself. */
  exitForUpgrade?: () => Promise<void>
  /** The machine's monotonic clock and boot (edge/machine-clock.ts), over the faked time; default none. */
  machineClock?: () => { boot: string; ms: number }
}

/**
 * Awaits a start that may wait on timers (a Modbus module's first poll takes
 * a few ms of line time): promise chains first, then the faked clock in 1 ms
 * steps, so a start that needs no time takes none.
 */
async function whileTimeRuns<T>(p: Promise<T>): Promise<T> {
  let done = false
  const settled = p.finally(() => {
    done = true
  })
  // Handled by the caller once the clock has run; not an unhandled rejection meanwhile.
  settled.catch(() => undefined)
  for (let i = 0; !done && i < 20; i++) await vi.advanceTimersByTimeAsync(0)
  for (let ms = 0; !done && ms < 10_000; ms++) await vi.advanceTimersByTimeAsync(1)
  return settled
}

/** Long enough for a key's hold (80 ms) and the evaluator's settle after the release (EVALUATOR_SETTLE_MS, 120 ms). */
const KEY_SETTLE_MS = 250

/**
 * The board's two clocks over the faked time: the monotonic one follows it,
 * the wall clock follows it plus whatever steps the test made (NTP, a board
 * without a real-time clock after a power cut).
 */
class SteppableClock {
  wallOffsetMs = 0
  now = (): number => Date.now() + this.wallOffsetMs
  synced = (): boolean => true
  monotonic = (): number => Date.now()
}

export class EdgeHarness {
  private commandSeq = 0

  private constructor(
    readonly hall: string,
    readonly counter: string,
    readonly network: RecordingNetwork,
    readonly hardware: SimWindowHardware,
    readonly edge: RunningEdge,
    private readonly clock: SteppableClock,
  ) {}

  /** Starts the runtime and waits until it has said its birth. Call vi.useFakeTimers() first. */
  static async start(opts: EdgeHarnessOptions = {}): Promise<EdgeHarness> {
    if (!vi.isFakeTimers()) throw new Error('EdgeHarness needs vi.useFakeTimers(): the runtime and the test share the faked clock')
    const hall = opts.hall ?? 'h1'
    const counter = opts.counter ?? 'w01'
    const profile = await loadBoardProfile(opts.profile ?? 'sim-window', BOARDS_DIR)
    const hardware = new SimWindowHardware(profile, { now: () => Date.now() })
    const network = new RecordingNetwork()
    const clock = new SteppableClock()
    const starting = startEdge(
      {
        hall,
        counter,
        hub: [{ host: 'hub.invalid', port: 1883 }],
        username: `${hall}-${counter}`,
        password: 'unused',
        settings: { telemetryPeriodS: 3600, ...opts.settings },
        ...(opts.video ? { video: opts.video } : {}),
        ...(opts.window ? { window: opts.window } : {}),
        ...(opts.root ? { root: opts.root } : {}),
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      },
      {
        profile,
        gpio: hardware.backend,
        bus: hardware.bus,
        log: silentLogger(),
        clock,
        session: network.factory,
        ...(opts.exitForUpgrade ? { exitForUpgrade: opts.exitForUpgrade } : {}),
        ...(opts.machineClock ? { machineClock: opts.machineClock } : {}),
      },
    )
    const edge = await whileTimeRuns(starting)
    const h = new EdgeHarness(hall, counter, network, hardware, edge, clock)
    await h.until(() => h.network.publishes.some((p) => p.parsed.kind === 'status'), 'the birth')
    return h
  }

  get publishes(): readonly RecordedPublish[] {
    return this.network.publishes
  }

  /** Topics from `from` on, without the hall/counter prefix ("status", "event/called", ...). */
  topicsSince(from: number): string[] {
    const prefix = topics.counterPrefix(this.hall, this.counter)
    return this.publishes.slice(from).map((p) => (p.topic.startsWith(prefix) ? p.topic.slice(prefix.length) : p.topic))
  }

  /** The recorded messages of one kind (and, for events, one type), from `from` on. */
  of(kind: TopicKind, type?: string, from = 0): RecordedPublish[] {
    return this.publishes.slice(from).filter((p) => p.parsed.kind === kind && (type === undefined || (p.parsed.topic.kind === 'event' && p.parsed.topic.type === type)))
  }

  /** Central sends a command; returns its id. */
  command<N extends CommandName>(name: N, args: Omit<CommandInput<N>, 'id' | 'expires'>, opts: { id?: string; expiresInMs?: number } = {}): string {
    const id = opts.id ?? `t-${++this.commandSeq}`
    const payload = JSON.stringify({ id, expires: new Date(Date.now() + (opts.expiresInMs ?? 60_000)).toISOString(), ...args })
    this.raw(topics.cmd(this.hall, this.counter, name), payload)
    return id
  }

  /** Any payload on any topic, as a broken or hostile central might send it. */
  raw(topic: string, payload: string | Buffer): void {
    if (!this.network.session.receive(topic, payload)) throw new Error(`the board is not listening on ${topic}`)
  }

  /** The reply to a command id, once it has been published. */
  async reply(id: string): Promise<Reply> {
    await this.until(() => this.findReply(id) !== undefined, `the reply to ${id}`)
    return this.findReply(id)!
  }

  /**
   * The barrier: a `sync` command and its reply. Returns the index just past
   * that reply, so `topicsSince` can check what came after.
   */
  async sync(): Promise<number> {
    const id = this.command('sync', {})
    await this.reply(id)
    return this.publishes.length
  }

  /** A person presses a key and lets go; returns once the keys and the evaluator have decided. */
  async press(key: SimKeyName): Promise<void> {
    const done = this.hardware.press(key)
    await vi.advanceTimersByTimeAsync(KEY_SETTLE_MS)
    await done
  }

  /** The board's wall clock jumps by `ms` (negative: back); its monotonic clock and the timers do not. */
  stepWallClock(ms: number): void {
    this.clock.wallOffsetMs += ms
  }

  /** Moves the faked clock; timers due in that time run, with their promises settled in between. */
  async advance(ms: number): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms)
  }

  /** The connection to the hub breaks, and reconnects fail until restore(). */
  drop(): void {
    this.network.up = false
    this.network.session.lose()
  }

  restore(): void {
    this.network.up = true
  }

  /**
   * Lets the runtime run to quiescence at the current instant: promise chains
   * only (journal commits, PUBACKs, the window's queue), no time passes.
   */
  async until(done: () => boolean, what: string): Promise<void> {
    // Some steps wait on real I/O too (a key file read, a journal write), which a loaded machine
    // makes slow: the fake clock stays put, the real one bounds how long we look.
    const started = process.hrtime.bigint()
    for (let i = 0; i < 200 || process.hrtime.bigint() - started < 10_000_000_000n; i++) {
      if (done()) return
      await vi.advanceTimersByTimeAsync(0)
    }
    throw new Error(`${what} did not happen without time passing`)
  }

  async stop(): Promise<void> {
    // Outputs on a Modbus module go off by frames on the line, which take faked time.
    await whileTimeRuns(this.edge.stop())
    await whileTimeRuns(this.hardware.stop())
  }

  private findReply(id: string): Reply | undefined {
    for (const p of this.publishes) if (p.parsed.kind === 'reply' && p.parsed.message.cmd === id) return p.parsed.message
    return undefined
  }
}

/**
 * Hooks every harness test file wants: fake timers from a fixed morning, and
 * after each test, that every message the board sent passed its own schema
 * and that the runtime stopped. `start()` gives the test its harness.
 */
export function harnessPerTest(): { start(opts?: EdgeHarnessOptions): Promise<EdgeHarness> } {
  let current: EdgeHarness | null = null
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-04T09:00:00.000Z') })
  })
  afterEach(async () => {
    const h = current
    current = null
    if (h) {
      // A negative duration or any other schema break would land here.
      expect(h.network.violations).toEqual([])
      await h.stop()
    }
    vi.useRealTimers()
  })
  return { start: async (opts?: EdgeHarnessOptions) => (current = await EdgeHarness.start(opts)) }
}

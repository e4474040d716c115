import { mkdirSync, rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { parseMessage, topics, type CommandName, type EvaluationScore, type EventDraft, type EventType, type WindowMode } from '../../edge/protocol/index.ts'
import { connectMqtt } from '../../edge/shared/mqtt-connect.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindow } from '../../sim/sim-window.ts'
import { Central } from '../hub/support/central.ts'
import { HubProcess } from '../hub/support/hub-process.ts'
import { boardEvent, user, writeUsers, type TestUser } from '../hub/support/hub-fixture.ts'
import { EdgeProcess, type ChildEvent } from './edge-process.ts'
import { CentralAckTap } from './central-ack-tap.ts'
import { FaultProxy } from './fault-proxy.ts'
import { freePort } from './ports.ts'
import { fillUp, mountTmpfs, unmountTmpfs } from './tmpfs.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { letTimePass } from './pace.ts'
import { eventually } from './probe.ts'

/**
 * The whole custody chain as real processes, with faults injected between
 * and inside them (issue 8):
 *
 *   windows ──▶ board proxy ──▶ hub (child process, data dir) ──▶ central proxy ──▶ Mosquitto ──▶ consumer
 *   (SimWindow runtimes in this process, edge runtimes as child processes,      ▲
 *    plain mqtt.js boards publishing ratings at QoS 1)                   central driver (commands)
 *
 * The central driver runs every window through services as a queue system
 * would (sign-in, call, start, finish) and presses an evaluator key when the
 * evaluation opens; it resends a command with the same id until it gets a
 * reply. Everything a board makes is written down where it is made; the
 * consumer at central writes down what arrives. figures() compares the two.
 */

export const FAULT_KINDS = [
  'board-link-cut',
  'board-link-stall',
  'board-link-delay',
  'central-link-cut',
  'central-link-stall',
  'central-link-delay',
  'hub-kill',
  'central-kill',
  'disk-full',
  'edge-kill',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface RigOptions {
  hall?: string
  /** Windows whose real edge runtime runs in this process, on simulated hardware. */
  windows: number
  /** Windows whose edge runtime runs as its own process (for edge-kill), on a data directory each. */
  edgeProcesses?: number
  /** Plain mqtt.js boards publishing contract-valid ratings at QoS 1, relying on mqtt.js's own resend. */
  burstBoards?: number
  burstPerSecond?: number
  /** Chance per service that the driver also sends a command the window must refuse. */
  refusalRate?: number
  seed?: number
  /** Put the hub's data directory on its own small tmpfs (needs root), so disk-full can fill it. */
  tmpfsMb?: number
  log?: (line: string) => void
}

export interface RunOptions {
  faults: readonly FaultKind[]
  /** Stop producing once this many events were made (all boards together)… */
  events?: number
  /** …and every kind of fault was injected at least this often… */
  minEach?: number
  /** …and this says so (a scripted scenario's end)… */
  until?: () => boolean
  /** …or after this long, whichever comes first. */
  maxMs: number
  /** Pause between two faults. */
  gapMs?: [number, number]
  /** 'random' picks each fault at random; 'cycle' takes the kinds in turn from a random start (every kind early). */
  order?: 'random' | 'cycle'
  /** Scales how long each fault is held (1: as in inject()); CI uses less to fit more faults in. */
  holdScale?: number
  /** Fault loops running side by side, so faults overlap (on different targets). */
  parallel?: number
}

type Target = 'board-link' | 'central-link' | 'hub' | 'central' | 'disk' | 'edge'

function targetOf(kind: FaultKind): Target {
  if (kind.startsWith('board-link')) return 'board-link'
  if (kind.startsWith('central-link')) return 'central-link'
  if (kind === 'hub-kill') return 'hub'
  if (kind === 'central-kill') return 'central'
  if (kind === 'disk-full') return 'disk'
  return 'edge'
}

/** What a board made, as the board itself reported it. */
interface Made {
  counter: string
  type: EventType
  ticket: string | null
  score: string | null
  /** The command whose action made it, if any. */
  cmd: string | null
}

interface SentCommand {
  id: string
  counter: string
  name: CommandName
  /** What the driver expected: acted on, or refused with this code. */
  expect: 'act' | string
  retries: number
}

interface Arrived {
  counter: string
  type: EventType
  ticket: string | null
  score: string | null
  cmd: string | null
  deliveries: number
}

export interface Figures {
  seed: number
  durationMs: number
  /**
   * lost: made and never delivered, and not lostByCentral (counter-edge's loss).
   * lostByCentral: acknowledged by central's broker (custody passed), never delivered, and the broker was
   * SIGKILLed after that acknowledgement: Mosquitto keeps what it has not saved yet in memory only.
   */
  events: { made: number; arrived: number; deliveries: number; redelivered: number; lost: number; lostByCentral: number; invented: number; unconfirmedDelivered: number; altered: number; invalid: number }
  ratings: { made: number; arrived: number; lost: number; lostByCentral: number; doubled: number; invented: number }
  commands: {
    sent: number
    acted: number
    refused: number
    refusedAsExpected: number
    unanswered: number
    actedTwice: number
    effectWithoutAct: number
    inconsistentReplies: number
    unexpectedOutcome: number
    resends: number
  }
  faults: Partial<Record<FaultKind, number>>
  restarts: { hub: number; central: number; edge: number; hubStartFailures: number; hubStartRefusedDiskFull: number }
  lostIds: string[]
  lostByCentralIds: string[]
  problems: string[]
}


/**
 * Longest a message central acknowledged may go unsaved before a SIGKILL takes it: central saves at the end
 * of the loop turn, so this is a turn plus the time this (busy) test process takes to see the PUBACK and
 * to see Mosquitto exit.
 */
const CENTRAL_UNSAVED_MS = 2_000

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed by its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SCORES: EvaluationScore[] = ['satisfied', 'neutral', 'dissatisfied']
/** Events a command's own action produces (each carries the command's id in `cmd`). */
// No count for `officer`: a sign-in gives signed-in (and signed-out of the officer it replaces), or
// nothing when that officer is already signed in, as after a resend acted on before a restart.
const EFFECTS_OF: Partial<Record<CommandName, number>> = { call: 1, start: 1, finish: 1 }

/** Central's consumer: a persistent session on Mosquitto that records every event and reply, by id. */
class Consumer {
  readonly events = new Map<string, Arrived>()
  readonly replies = new Map<string, Array<{ ok: boolean; code: string | null }>>()
  /** cmd id → ids of the events that carry it. */
  readonly effects = new Map<string, Set<string>>()
  readonly invalid: string[] = []
  deliveries = 0
  private readonly waiters = new Map<string, Array<() => void>>()

  private constructor(readonly client: MqttClient) {}

  static async start(url: string, hall: string): Promise<Consumer> {
    const client = await mqtt.connectAsync(url, { clientId: `central-consumer-${hall}`, clean: false, reconnectPeriod: 200, connectTimeout: 5_000 })
    ;(client.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true)
    const c = new Consumer(client)
    client.on('message', (topic, payload) => c.onMessage(topic, payload))
    client.on('error', () => {})
    await client.subscribeAsync([`hall/${hall}/counter/+/event/+`, `hall/${hall}/counter/+/reply`], { qos: 1 })
    return c
  }

  get connected(): boolean {
    return this.client.connected
  }

  private onMessage(topic: string, payload: Buffer): void {
    const m = parseMessage(topic, payload)
    if (!m.ok) return void this.invalid.push(`${topic}: ${m.message}`)
    if (m.kind === 'reply') {
      const r = m.message
      const list = this.replies.get(r.cmd ?? '') ?? []
      list.push({ ok: r.ok, code: r.ok ? null : (r.code ?? null) })
      this.replies.set(r.cmd ?? '', list)
      for (const w of this.waiters.get(r.cmd ?? '') ?? []) w()
      this.waiters.delete(r.cmd ?? '')
      return
    }
    if (m.kind !== 'event' || m.topic.kind !== 'event') return
    this.deliveries++
    const e = m.message as unknown as Record<string, unknown> & { id: string }
    const have = this.events.get(e.id)
    if (have) {
      have.deliveries++
      return
    }
    const cmd = typeof e.cmd === 'string' ? e.cmd : null
    this.events.set(e.id, {
      counter: m.topic.counter,
      type: m.topic.type as EventType,
      ticket: typeof e.ticket === 'string' ? e.ticket : null,
      score: typeof e.score === 'string' ? e.score : null,
      cmd,
      deliveries: 1,
    })
    if (cmd) {
      const set = this.effects.get(cmd) ?? new Set<string>()
      set.add(e.id)
      this.effects.set(cmd, set)
    }
  }

  /** Resolves true once a reply to cmd has arrived (now or within ms). */
  waitReply(cmd: string, ms: number): Promise<boolean> {
    if (this.replies.has(cmd)) return Promise.resolve(true)
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const list = this.waiters.get(cmd)?.filter((w) => w !== done)
        if (list?.length) this.waiters.set(cmd, list)
        else this.waiters.delete(cmd)
        resolve(false)
      }, ms)
      const done = () => {
        clearTimeout(t)
        resolve(true)
      }
      this.waiters.set(cmd, [...(this.waiters.get(cmd) ?? []), done])
    })
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => {})
  }
}

/** What the driver needs of a window, whether its runtime runs here or in a child process. */
interface WindowHandle {
  readonly counter: string
  mode(): Promise<WindowMode | null>
  /** Presses a key while an evaluation is open; true once the window closed the evaluation. */
  press(score: EvaluationScore): Promise<boolean>
  stop(): Promise<void>
}

class InProcessWindow implements WindowHandle {
  constructor(
    private readonly sim: SimWindow,
    private readonly onEvent: (id: string, counter: string, type: EventType, fields: Record<string, unknown>) => void,
  ) {}

  get counter(): string {
    return this.sim.counter
  }

  async start(): Promise<void> {
    await this.sim.start()
    // Every event the runtime makes goes through its link: note the id it stamped, where it is made.
    const link = this.sim.running!.link
    const publish = link.publish.bind(link)
    link.publish = (kind, fields) => {
      const id = publish(kind, fields)
      if (kind === 'event') {
        const { type, ...rest } = fields as EventDraft
        this.onEvent(id, this.counter, type, rest)
      }
      return id
    }
  }

  async mode(): Promise<WindowMode | null> {
    return this.sim.running?.window.current.mode ?? null
  }

  get link() {
    return this.sim.running?.link ?? null
  }

  async press(score: EvaluationScore): Promise<boolean> {
    if ((await this.mode()) !== 'evaluating') return false
    await this.sim.hardware.press(score)
    await eventually(async () => (await this.mode()) !== 'evaluating', 5_000, 'the window to close the evaluation', 10).catch(() => {})
    return (await this.mode()) !== 'evaluating'
  }

  async stop(): Promise<void> {
    await this.sim.shutdown()
  }
}

class ChildWindow implements WindowHandle {
  constructor(readonly proc: EdgeProcess) {}

  get counter(): string {
    return this.proc.config.counter
  }

  mode(): Promise<WindowMode | null> {
    return this.proc.mode()
  }

  press(score: EvaluationScore): Promise<boolean> {
    return this.proc.press(score)
  }

  stop(): Promise<void> {
    return this.proc.stop()
  }
}

/** A board that is only an mqtt.js client: contract-valid ratings at QoS 1, resent by mqtt.js until the hub acknowledges. */
class BurstBoard {
  sent = 0
  acked = 0
  resent = 0
  readonly errors = new Map<string, number>()
  private seq = 0
  private readonly boot: string

  constructor(
    private readonly u: TestUser,
    readonly client: MqttClient,
    private readonly hall: string,
    private readonly onMade: (id: string, counter: string, ticket: string, score: string) => void,
    private readonly rand: () => number,
  ) {
    this.boot = `burst${Math.floor(rand() * 1e6).toString(36)}`
  }

  static connect(u: TestUser, port: number, hall: string, onMade: BurstBoard['onMade'], rand: () => number): BurstBoard {
    const client = connectMqtt({
      addresses: [{ host: '127.0.0.1', port }],
      clientId: u.username,
      username: u.username,
      password: u.password,
      clean: false,
      reconnectPeriod: 300,
      connectTimeout: 5_000,
    })
    client.on('error', () => {})
    return new BurstBoard(u, client, hall, onMade, rand)
  }

  get counter(): string {
    return this.u.counter!
  }

  publishOne(): void {
    const seq = this.seq++
    const counter = this.u.counter!
    const ticket = `B${seq}`
    const score = SCORES[Math.floor(this.rand() * SCORES.length)]!
    const ev = boardEvent('evaluated', this.boot, seq, { id: `${counter}-${this.boot}-${seq}`, ticket, score, officer: `officer-${counter}` })
    this.onMade(ev.id as string, counter, ticket, score)
    this.sent++
    this.send(topics.event(this.hall, counter, 'evaluated'), JSON.stringify(ev))
  }

  /** mqtt.js resends what was in flight when a connection drops, but fails some publishes outright (e.g. one queued as the connection closed): those are sent again, as a board's journal would. */
  private send(topic: string, payload: string): void {
    this.client.publish(topic, payload, { qos: 1 }, (err) => {
      if (!err) return void this.acked++
      this.errors.set(err.message, (this.errors.get(err.message) ?? 0) + 1)
      this.resent++
      setTimeout(() => this.send(topic, payload), 200)
    })
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => {})
  }
}

export class FaultRig {
  readonly rand: () => number
  readonly seed: number
  readonly faults: Partial<Record<FaultKind, number>> = {}
  readonly restarts = { hub: 0, central: 0, edge: 0, hubStartFailures: 0, hubStartRefusedDiskFull: 0 }
  readonly problems: string[] = []
  private readonly made = new Map<string, Made>()
  /** When central's broker acknowledged each message to the bridge, read off the hub↔central link. */
  private readonly centralAcks = new CentralAckTap()
  /** When central's broker was SIGKILLed. */
  private readonly centralKills: number[] = []
  /** Counters whose runtime runs as a child process: an unreported id from them may be a kill's last words. */
  private readonly childCounters = new Set<string>()
  private readonly commands = new Map<string, SentCommand>()
  private readonly handles: WindowHandle[] = []
  private readonly children: EdgeProcess[] = []
  private readonly bursts: BurstBoard[] = []
  private driver!: MqttClient
  consumer!: Consumer
  central!: Central
  hub!: HubProcess
  boardProxy!: FaultProxy
  centralProxy!: FaultProxy
  private producing = false
  private holdScale = 1
  private readonly busy = new Set<Target>()
  /** Output of hub processes killed earlier in the run. */
  private pastHubOutput = ''
  private startedAt = 0
  private endedAt = 0
  private tmpfs: string | null = null
  private ballast: string | null = null

  private constructor(
    private readonly o: RigOptions,
    private readonly dir: string,
    private readonly hall: string,
    private readonly hubPort: number,
    private readonly configPath: string,
    readonly httpPort: number,
  ) {
    this.seed = o.seed ?? Math.floor(Math.random() * 2 ** 31)
    this.rand = seeded(this.seed)
  }

  static async start(o: RigOptions): Promise<FaultRig> {
    const dir = await mkdtemp(join(tmpdir(), 'fault-rig-'))
    const hall = o.hall ?? 'h1'
    const rig = new FaultRig(o, dir, hall, await freePort(), join(dir, 'hub.json'), await freePort())
    try {
      await rig.boot()
      return rig
    } catch (err) {
      await rig.stop()
      throw err
    }
  }

  log(line: string): void {
    this.o.log?.(`${((Date.now() - (this.startedAt || Date.now())) / 1000).toFixed(1).padStart(6)}s ${line}`)
  }

  private async boot(): Promise<void> {
    const { hall, dir } = this
    const dataDir = join(dir, 'hub-data')
    mkdirSync(dataDir, { recursive: true })
    if (this.o.tmpfsMb) {
      mountTmpfs(dataDir, this.o.tmpfsMb)
      this.tmpfs = dataDir
    }
    // Central saves after every change, as a central that cares about its messages would be set up; a SIGKILL
    // can still lose what it acknowledged in the same loop turn, which centralAcks tells apart from our losses.
    this.central = await Central.start({ saveEveryChange: true })
    this.centralProxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: this.central.port }, name: 'hub↔central', observe: this.centralAcks.observe })
    this.boardProxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: this.hubPort }, name: 'boards↔hub' })

    const nWin = this.o.windows
    const nChild = this.o.edgeProcesses ?? 0
    const nBurst = this.o.burstBoards ?? 0
    const windowUsers = Array.from({ length: nWin }, (_, i) => user('board', hall, `w${String(i + 1).padStart(2, '0')}`))
    const childUsers = Array.from({ length: nChild }, (_, i) => user('board', hall, `e${String(i + 1).padStart(2, '0')}`))
    const burstUsers = Array.from({ length: nBurst }, (_, i) => user('board', hall, `b${String(i + 1).padStart(2, '0')}`))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [...windowUsers, ...childUsers, ...burstUsers])
    await writeFile(
      this.configPath,
      JSON.stringify({
        hall,
        host: '127.0.0.1',
        port: this.hubPort,
        credentialsFile,
        dataDir,
        upstream: { url: this.centralProxy.url, clientId: `hub-${hall}` },
        bridge: { window: 32, reconnectMinMs: 100, reconnectMaxMs: 1_000, stateIntervalMs: 500 },
        http: { port: this.httpPort, host: '127.0.0.1' },
      }),
    )
    this.hub = await HubProcess.start(this.configPath, this.hubPort)

    this.consumer = await Consumer.start(this.central.url, hall)
    this.driver = await mqtt.connectAsync(this.central.url, { clientId: `central-driver-${hall}`, reconnectPeriod: 200, connectTimeout: 5_000 })
    this.driver.on('error', () => {})

    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    const onEvent = (id: string, counter: string, type: EventType, fields: Record<string, unknown>) => this.noteMade(id, counter, type, fields)
    for (const u of windowUsers) {
      const sim = new SimWindow({ hall, counter: u.counter!, profile, hub: [{ host: '127.0.0.1', port: this.boardProxy.port }], username: u.username, password: u.password, log: silentLogger() })
      const h = new InProcessWindow(sim, onEvent)
      await h.start()
      this.handles.push(h)
    }
    for (const u of childUsers) {
      const p = new EdgeProcess(
        { hall, counter: u.counter!, host: '127.0.0.1', port: this.boardProxy.port, username: u.username, password: u.password, dataDir: join(dir, `edge-${u.counter}`) },
        (e: ChildEvent) => this.noteMade(e.id, u.counter!, e.type, e.fields),
      )
      await p.start()
      this.childCounters.add(u.counter!)
      this.children.push(p)
      this.handles.push(new ChildWindow(p))
    }
    for (const u of burstUsers) {
      this.bursts.push(BurstBoard.connect(u, this.boardProxy.port, hall, (id, counter, ticket, score) => this.made.set(id, { counter, type: 'evaluated', ticket, score, cmd: null }), this.rand))
    }
    // Mosquitto saves the consumer's session at the end of the loop turn that made it; the wait lets the
    // hub's bridge subscribe at central before the first command goes out.
    await letTimePass(1_200, "Mosquitto saves the consumer's session and the hub's bridge subscribes at central, neither of which says when")
  }

  private noteMade(id: string, counter: string, type: EventType, fields: Record<string, unknown>): void {
    this.made.set(id, {
      counter,
      type,
      ticket: typeof fields.ticket === 'string' ? fields.ticket : null,
      score: typeof fields.score === 'string' ? fields.score : null,
      cmd: typeof fields.cmd === 'string' ? fields.cmd : null,
    })
  }

  get eventsMade(): number {
    return this.made.size
  }

  /** Produces traffic and injects faults until `events` were made or `maxMs` passed; then heals every fault. */
  async run(r: RunOptions): Promise<void> {
    this.startedAt ||= Date.now()
    this.producing = true
    const deadline = Date.now() + r.maxMs
    const bounded = r.events !== undefined || r.minEach !== undefined || r.until !== undefined
    const enough = () =>
      bounded &&
      (r.events === undefined || this.made.size >= r.events) &&
      (r.minEach === undefined || r.faults.every((k) => (this.faults[k] ?? 0) >= r.minEach!)) &&
      (r.until?.() ?? true)
    const done = () => !this.producing || Date.now() > deadline || enough()
    this.holdScale = r.holdScale ?? 1
    const drivers = [...this.handles.map((h) => this.drive(h, done)), ...this.children.map((c) => this.officer(c, done))]
    const bursts = this.bursts.map((b) => this.burst(b, done))
    const faults = Promise.all(Array.from({ length: r.parallel ?? 1 }, () => this.faultLoop(r.faults, r.gapMs ?? [500, 2_000], r.order ?? 'random', done)))
    await eventually(done, r.maxMs + 10_000, 'the run to end', 50)
    this.producing = false
    await faults
    this.heal()
    await Promise.all([...drivers, ...bursts])
    this.endedAt = Date.now()
  }

  /** Waits until every made event has arrived at central and every command has a reply (or the timeout). */
  async settle(timeoutMs = 30_000): Promise<void> {
    const left = () => ({
      missing: [...this.made.keys()].filter((id) => !this.consumer.events.has(id) && !this.lostByCentral(id)).length,
      unanswered: [...this.commands.keys()].filter((id) => !this.consumer.replies.has(id)).length,
      unacked: this.bursts.reduce((n, b) => n + b.sent - b.acked, 0),
    })
    const settled = await eventually(() => Object.values(left()).every((n) => n === 0), timeoutMs, 'the run to settle', 100).then(
      () => true,
      () => {
        const { missing, unanswered, unacked } = left()
        this.problems.push(`not settled after ${timeoutMs} ms: ${missing} events missing, ${unanswered} commands unanswered, ${unacked} burst publishes unacknowledged`)
        return false
      },
    )
    if (!settled) return
    // Barrier, so duplicates and inventions still on their way are counted too: a sync to each window,
    // answered on central's consumer. Every board message the hub acknowledged before the sync's reply
    // entered its custody log is bridged to central before that reply (custody order), and the window
    // made every event of its own before answering (it handles its inputs in order).
    for (const counter of [...this.handles.map((h) => h.counter), ...this.children.map((c) => c.config.counter)]) {
      await this.command(counter, 'sync', {}, 'act')
    }
  }

  private heal(): void {
    this.boardProxy.resume()
    this.centralProxy.resume()
    this.freeDisk()
  }

  // ---------------------------------------------------------------- central driver

  private async drive(h: WindowHandle, done: () => boolean): Promise<void> {
    let ticketNo = 0
    const counter = h.counter
    const refusal = this.o.refusalRate ?? 0.1
    while (!done()) {
      const mode = await h.mode()
      if (done()) break
      if (mode === null) {
        await letTimePass(100, 'the window is down (killed, or its link cut); ask again in a moment')
        continue
      }
      switch (mode) {
        case 'closed':
          await this.command(counter, 'officer', { action: 'sign-in', officer: `officer-${counter}` }, 'act')
          break
        case 'idle':
          if (this.rand() < refusal) await this.command(counter, 'call', { ticket: '9999' }, 'expired', -5_000)
          await this.command(counter, 'call', { ticket: String(ticketNo++ % 10_000).padStart(4, '0') }, 'act')
          break
        case 'calling':
          if (this.rand() < refusal) await this.command(counter, 'start', { ticket: 'ZZZZ' }, 'wrong-ticket')
          await this.command(counter, 'start', {}, 'act')
          break
        case 'serving':
          if (this.rand() < refusal) await this.command(counter, 'call', { ticket: '8888' }, 'wrong-mode')
          await this.command(counter, 'finish', { outcome: 'served' }, 'act')
          break
        case 'evaluating':
          await h.press(SCORES[Math.floor(this.rand() * SCORES.length)]!)
          break
        case 'paused':
          await this.command(counter, 'resume', {}, 'act')
          break
      }
    }
  }

  /** An officer at a child window presses keys now and then: events its board makes even while the hub is away. */
  private async officer(p: EdgeProcess, done: () => boolean): Promise<void> {
    while (!done()) {
      if (!(await p.officerKey(this.rand() < 0.5 ? 'call-next' : 'help'))) await letTimePass(100, 'the edge process is down; the officer tries again in a moment')
      await letTimePass(this.between(20, 120), 'an officer presses now and then')
    }
  }

  /** Sends a command as central does: one id, resent with that id until a reply comes. */
  private async command(counter: string, name: CommandName, args: Record<string, unknown>, expect: 'act' | string, expiresInMs = 120_000): Promise<void> {
    const id = `${counter}-${name}-${this.commands.size}`
    const payload = JSON.stringify({ id, expires: new Date(Date.now() + expiresInMs).toISOString(), ...args })
    const sent: SentCommand = { id, counter, name, expect, retries: 0 }
    this.commands.set(id, sent)
    const topic = topics.cmd(this.hall, counter, name)
    const giveUp = Date.now() + 90_000
    for (;;) {
      this.driver.publish(topic, payload, { qos: 1 }, () => {})
      if (await this.consumer.waitReply(id, 3_000)) return
      if (Date.now() > giveUp) return
      sent.retries++
    }
  }

  // ---------------------------------------------------------------- burst boards

  private async burst(b: BurstBoard, done: () => boolean): Promise<void> {
    const per = this.o.burstPerSecond ?? 40
    const interval = 1000 / per
    let next = Date.now()
    while (!done()) {
      // Publishes queue in mqtt.js while the board is offline; keep the queue bounded, as a real board's journal is.
      if (b.sent - b.acked < 500) b.publishOne()
      next += interval
      await letTimePass(next - Date.now(), 'a burst board publishes at a steady rate')
    }
  }

  // ---------------------------------------------------------------- faults

  /** For scripted scenarios: counts a fault the test injects itself. */
  count(kind: FaultKind): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1
    this.log(`fault ${kind} (scripted)`)
  }

  between(min: number, max: number): number {
    return Math.round(min + this.rand() * (max - min))
  }

  /** How long a fault is held: a random time in [min, max], scaled for the run. */
  private hold(min: number, max: number): number {
    return Math.round(this.between(min, max) * this.holdScale)
  }

  private async faultLoop(kinds: readonly FaultKind[], gap: [number, number], order: 'random' | 'cycle', done: () => boolean): Promise<void> {
    if (kinds.length === 0) return
    let next = Math.floor(this.rand() * kinds.length)
    while (!done()) {
      await letTimePass(this.between(gap[0], gap[1]), 'the gap between two faults')
      if (done()) break
      const kind = order === 'cycle' ? kinds[next++ % kinds.length]! : kinds[Math.floor(this.rand() * kinds.length)]!
      // With several loops, a target takes one fault at a time (two hub kills at once would start two hubs).
      if (this.busy.has(targetOf(kind))) continue
      try {
        await this.inject(kind)
      } catch (err) {
        this.problems.push(`fault ${kind}: ${(err as Error).message}`)
        this.log(`fault ${kind} failed: ${(err as Error).message}`)
      }
    }
  }

  /** One fault, held for a random while, then healed. */
  async inject(kind: FaultKind): Promise<void> {
    const target = targetOf(kind)
    this.busy.add(target)
    try {
      await this.injectOn(kind)
    } finally {
      this.busy.delete(target)
    }
  }

  private async injectOn(kind: FaultKind): Promise<void> {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1
    this.log(`fault ${kind}`)
    const proxy = kind.startsWith('board-link') ? this.boardProxy : this.centralProxy
    switch (kind) {
      case 'board-link-cut':
      case 'central-link-cut':
        proxy.setDown(true)
        proxy.cut()
        await letTimePass(this.hold(100, 2_000), 'the link stays cut')
        proxy.resume()
        return
      case 'board-link-stall':
      case 'central-link-stall':
        proxy.stall()
        await letTimePass(this.hold(300, 4_000), 'the link stays stalled')
        proxy.resume()
        return
      case 'board-link-delay':
      case 'central-link-delay':
        proxy.delay(this.between(5, 150), this.between(0, 50))
        await letTimePass(this.hold(500, 4_000), 'the link stays slow')
        proxy.resume()
        return
      case 'hub-kill':
        await this.hub.kill('SIGKILL')
        await letTimePass(this.hold(0, 1_000), 'the hub stays down')
        await this.restartHub()
        return
      case 'central-kill':
        await this.central.kill()
        this.centralKills.push(Date.now())
        await letTimePass(this.hold(0, 1_000), 'central stays down')
        await this.central.startProcess()
        this.restarts.central++
        // The consumer back, and the bridge with it, before the next fault may strike (this also paces the faults).
        await eventually(() => this.consumer.connected, 10_000, "central's consumer back", 50).catch(() => {})
        await letTimePass(1_200, "the hub's bridge subscribes at central again, which nothing announces")
        return
      case 'disk-full':
        if (!this.tmpfs) throw new Error('disk-full needs the hub data directory on a tmpfs (tmpfsMb)')
        this.fillDisk()
        await letTimePass(this.hold(500, 3_000), 'the disk stays full')
        this.freeDisk()
        return
      case 'edge-kill': {
        const alive = this.children.filter((c) => c.alive)
        const victim = alive[Math.floor(this.rand() * alive.length)]
        if (!victim) throw new Error('edge-kill needs edge processes (edgeProcesses)')
        // Half the kills strike while the hub is unreachable, when the board holds events only it has.
        const offline = this.rand() < 0.5 && !this.busy.has('board-link')
        if (offline) {
          this.busy.add('board-link')
          this.boardProxy.setDown(true)
          this.boardProxy.cut()
          await letTimePass(this.hold(300, 2_000), 'the board is offline a while before it dies')
        }
        await victim.kill()
        await letTimePass(this.hold(0, 1_000), 'the board stays powered off')
        await victim.start()
        if (offline) {
          this.boardProxy.resume()
          this.busy.delete('board-link')
        }
        this.restarts.edge++
        return
      }
    }
  }

  private async restartHub(): Promise<void> {
    this.pastHubOutput += this.hub.output
    for (let attempt = 0; ; attempt++) {
      try {
        this.hub = await HubProcess.start(this.configPath, this.hubPort)
        this.restarts.hub++
        return
      } catch (err) {
        const message = (err as Error).message.slice(0, 500)
        // A hub cannot open its databases on a full disk; it exits, and systemd (Restart=always, 2 s) starts it again.
        if (this.ballast && /No space left on device/.test(message)) this.restarts.hubStartRefusedDiskFull++
        else {
          this.restarts.hubStartFailures++
          this.problems.push(`hub did not start after a kill (attempt ${attempt + 1}): ${message}`)
        }
        if (attempt >= 9) throw err
        await letTimePass(500, 'a restart delay, as systemd has one')
      }
    }
  }

  /** Fills the hub's tmpfs to the last byte: its next writes fail with ENOSPC. */
  fillDisk(): void {
    if (!this.tmpfs || this.ballast) return
    this.ballast = fillUp(this.tmpfs)
  }

  freeDisk(): void {
    if (!this.ballast) return
    rmSync(this.ballast, { force: true })
    this.ballast = null
  }

  // ---------------------------------------------------------------- figures

  /**
   * Central's broker acknowledged it and was SIGKILLed soon after: lost in central's custody, not in ours.
   * Central saves after every change, so only what it acknowledged just before the kill can be gone; a
   * message acknowledged longer before still counts as lost by us, so this can never hide a loss of ours.
   */
  private lostByCentral(id: string): boolean {
    const acked = this.centralAcks.ackedAt.get(id)
    return acked !== undefined && this.centralKills.some((k) => k >= acked && k - acked <= CENTRAL_UNSAVED_MS)
  }

  figures(): Figures {
    const c = this.consumer
    const ev: Figures['events'] = { made: this.made.size, arrived: 0, deliveries: c.deliveries, redelivered: 0, lost: 0, lostByCentral: 0, invented: 0, unconfirmedDelivered: 0, altered: 0, invalid: c.invalid.length }
    const lostIds: string[] = []
    const lostByCentralIds: string[] = []
    for (const [id, m] of this.made) {
      const a = c.events.get(id)
      if (!a && this.lostByCentral(id)) {
        ev.lostByCentral++
        lostByCentralIds.push(id)
        continue
      }
      if (!a) {
        ev.lost++
        lostIds.push(id)
        continue
      }
      if (a.counter !== m.counter || a.type !== m.type || a.ticket !== m.ticket || a.score !== m.score) ev.altered++
    }
    for (const [id, a] of c.events) {
      ev.redelivered += a.deliveries - 1
      if (this.made.has(id)) {
        ev.arrived++
        continue
      }
      // A child killed between making an event and reporting it: its own id, from its own counter.
      if (this.childCounters.has(a.counter) && id.startsWith(`${a.counter}-`)) ev.unconfirmedDelivered++
      else ev.invented++
    }

    const ratingsMade = [...this.made.values()].filter((m) => m.type === 'evaluated')
    const perTicket = new Map<string, number>()
    let ratingsArrived = 0
    let ratingsInvented = 0
    for (const [id, a] of c.events) {
      if (a.type !== 'evaluated') continue
      ratingsArrived++
      const key = `${a.counter}/${a.ticket}`
      perTicket.set(key, (perTicket.get(key) ?? 0) + 1)
      if (!this.made.has(id) && !this.childCounters.has(a.counter)) ratingsInvented++
    }
    const ratings: Figures['ratings'] = {
      made: ratingsMade.length,
      arrived: ratingsArrived,
      lost: lostIds.filter((id) => this.made.get(id)!.type === 'evaluated').length,
      lostByCentral: lostByCentralIds.filter((id) => this.made.get(id)!.type === 'evaluated').length,
      doubled: [...perTicket.values()].reduce((n, k) => n + (k - 1), 0),
      invented: ratingsInvented,
    }

    const found: string[] = [...this.centralAcks.errors.slice(0, 5)]
    /** cmd id → how many of the events its action made central's broker lost. */
    const effectsLostByCentral = new Map<string, number>()
    for (const id of lostByCentralIds) {
      const made = this.made.get(id)!.cmd
      if (made) effectsLostByCentral.set(made, (effectsLostByCentral.get(made) ?? 0) + 1)
    }
    const cmd: Figures['commands'] = { sent: this.commands.size, acted: 0, refused: 0, refusedAsExpected: 0, unanswered: 0, actedTwice: 0, effectWithoutAct: 0, inconsistentReplies: 0, unexpectedOutcome: 0, resends: 0 }
    for (const s of this.commands.values()) {
      cmd.resends += s.retries
      const replies = c.replies.get(s.id) ?? []
      const effects = c.effects.get(s.id)?.size ?? 0
      if (replies.length === 0) {
        cmd.unanswered++
        if (effects > 1) cmd.actedTwice++
        continue
      }
      const first = replies[0]!
      if (replies.some((r) => r.ok !== first.ok || r.code !== first.code)) cmd.inconsistentReplies++
      if (first.ok) {
        cmd.acted++
        const want = EFFECTS_OF[s.name]
        if (want !== undefined && effects > want) cmd.actedTwice++
        if (want !== undefined && effects + (effectsLostByCentral.get(s.id) ?? 0) < want) found.push(`command ${s.id} acted on (ok) but ${effects} of its ${want} events arrived`)
        if (s.expect !== 'act') {
          cmd.unexpectedOutcome++
          found.push(`command ${s.id} (${s.name}) expected ${s.expect}, was acted on`)
        }
      } else {
        cmd.refused++
        if (effects > 0) cmd.effectWithoutAct++
        if (s.expect === first.code) cmd.refusedAsExpected++
        else {
          cmd.unexpectedOutcome++
          found.push(`command ${s.id} (${s.name}) expected ${s.expect}, was refused ${first.code}`)
        }
      }
    }
    return {
      seed: this.seed,
      durationMs: (this.endedAt || Date.now()) - this.startedAt,
      events: ev,
      ratings,
      commands: cmd,
      faults: { ...this.faults },
      restarts: { ...this.restarts },
      lostIds: lostIds.slice(0, 20),
      lostByCentralIds: lostByCentralIds.slice(0, 20),
      problems: [...this.problems, ...found, ...c.invalid.slice(0, 5)],
    }
  }

  /** The hub's /metrics as name{labels} → value (empty while the hub is down). */
  async hubMetrics(): Promise<Record<string, number>> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`, { signal: AbortSignal.timeout(2_000) })
      const out: Record<string, number> = {}
      for (const line of (await res.text()).split('\n')) {
        const m = /^(counter_edge_[a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line)
        if (m && !line.includes('counter="')) out[m[1]!] = Number(m[2])
      }
      return out
    } catch {
      return {}
    }
  }

  /** Where each board stands, for a report when something did not settle. */
  async boardsReport(): Promise<string[]> {
    const out: string[] = []
    for (const h of this.handles) {
      const link = h instanceof InProcessWindow ? h.link : null
      out.push(`${h.counter}: mode ${await h.mode()}${link ? `, link ${link.connected ? 'up' : 'down'}, backlog ${link.backlog}` : ''}`)
    }
    for (const b of this.bursts) out.push(`${b.counter}: sent ${b.sent}, acked ${b.acked}, resent ${b.resent} (${[...b.errors].map(([m, n]) => `${n}× ${m}`).join('; ')}), connected ${b.client.connected}, outgoing ${Object.keys(b.client.outgoing).length}`)
    return out
  }

  /** Hub output lines at error or fatal level, of every hub process of the run (a crash would show here). */
  hubErrors(): string[] {
    return (this.pastHubOutput + this.hub.output).split('\n').filter((l) => /"level":(50|60)/.test(l))
  }

  async stop(): Promise<void> {
    this.producing = false
    this.boardProxy?.resume()
    this.centralProxy?.resume()
    for (const h of this.handles) await h.stop().catch(() => {})
    for (const b of this.bursts) await b.close()
    await this.driver?.endAsync(true).catch(() => {})
    await this.consumer?.close()
    if (this.hub?.alive) await this.hub.kill('SIGTERM')
    await this.boardProxy?.close()
    await this.centralProxy?.close()
    await this.central?.dispose()
    if (this.tmpfs) unmountTmpfs(this.tmpfs)
    await rm(this.dir, { recursive: true, force: true })
  }
}

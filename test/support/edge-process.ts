import { spawn, type ChildProcess } from 'node:child_process'
import type { EventType, EvaluationScore, WindowMode } from '../../edge/protocol/index.ts'
import { settlesWithin } from './deadline.ts'

const SCRIPT = new URL('./edge-child.ts', import.meta.url).pathname

export interface EdgeProcessConfig {
  hall: string
  counter: string
  host: string
  port: number
  username: string
  password: string
  /** The board's SD card: state file (and, with the journal, the journal) live here across kills. */
  dataDir: string
  /** Every hub the board knows, in its order of preference (a hall cluster's nodes); absent: host and port only. */
  hubs?: Array<{ host: string; port: number }>
}

export interface ChildEvent {
  id: string
  type: EventType
  fields: Record<string, unknown>
}

type Message = { kind: 'ready'; boot: string } | ({ kind: 'event' } & ChildEvent) | { kind: 'reply'; n: number; mode?: WindowMode; pressed?: boolean; wall?: number }

/**
 * A window's edge runtime in a child process (test/support/edge-child.ts):
 * start, ask its mode, press an evaluator key, SIGKILL it, start it again on
 * the same data directory. Events reach onEvent only once the child reported
 * them durable.
 */
export class EdgeProcess {
  output = ''
  boot: string | null = null
  readonly boots: string[] = []
  private child: ChildProcess | null = null
  private n = 0
  private readonly pending = new Map<number, (m: Message | null) => void>()

  constructor(
    readonly config: EdgeProcessConfig,
    private readonly onEvent: (e: ChildEvent, boot: string) => void,
    /** Added to the child's environment, e.g. libfaketime's (test/support/faketime.ts), so the board's own clock can step. */
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  /** Processes started so far: a change tells a caller the board restarted (from its last durable state) meanwhile. */
  starts = 0

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null
  }

  async start(timeoutMs = 20_000): Promise<void> {
    this.starts++
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
      env: { ...process.env, ...this.env, EDGE_CHILD: JSON.stringify(this.config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    this.child = child
    child.stdout!.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000)))
    child.stderr!.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000)))
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`edge ${this.config.counter} not ready within ${timeoutMs} ms: ${this.output}`)), timeoutMs)
      child.on('message', (m: Message) => {
        if (m.kind === 'ready') {
          this.boot = m.boot
          this.boots.push(m.boot)
          clearTimeout(t)
          resolve()
        } else if (m.kind === 'event') {
          this.onEvent({ id: m.id, type: m.type, fields: m.fields }, this.boot ?? '')
        } else if (m.kind === 'reply') {
          this.pending.get(m.n)?.(m)
          this.pending.delete(m.n)
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(t)
        for (const r of this.pending.values()) r(null)
        this.pending.clear()
        reject(new Error(`edge ${this.config.counter} exited (code ${code}, signal ${signal}): ${this.output}`))
      })
    })
    await ready
  }

  private request(m: { op: 'mode' } | { op: 'clock' } | { op: 'press'; score: EvaluationScore } | { op: 'officer-key'; key: 'call-next' | 'help' }, timeoutMs: number): Promise<Message | null> {
    const child = this.child
    if (!child || !this.alive || !child.connected) return Promise.resolve(null)
    const n = this.n++
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pending.delete(n)
        resolve(null)
      }, timeoutMs)
      this.pending.set(n, (reply) => {
        clearTimeout(t)
        resolve(reply)
      })
      child.send({ ...m, n }, (err) => {
        if (err) {
          this.pending.delete(n)
          clearTimeout(t)
          resolve(null)
        }
      })
    })
  }

  /** The window's mode, or null while the process is down or does not answer. */
  async mode(): Promise<WindowMode | null> {
    const r = await this.request({ op: 'mode' }, 5_000)
    return r && r.kind === 'reply' ? (r.mode ?? null) : null
  }

  /** The wall clock as the board process reads it (Date.now() there), or null while it is down. */
  async wallClock(): Promise<number | null> {
    const r = await this.request({ op: 'clock' }, 5_000)
    return r && r.kind === 'reply' ? (r.wall ?? null) : null
  }

  /** Presses a key of an open evaluation; true once the window closed it. */
  async press(score: EvaluationScore): Promise<boolean> {
    const r = await this.request({ op: 'press', score }, 10_000)
    return Boolean(r && r.kind === 'reply' && r.pressed)
  }

  /** Presses an officer key: an event the window makes on its own, with or without a hub. */
  async officerKey(key: 'call-next' | 'help'): Promise<boolean> {
    const r = await this.request({ op: 'officer-key', key }, 5_000)
    return Boolean(r && r.kind === 'reply' && r.pressed)
  }

  /** SIGKILL: the board loses power. */
  async kill(): Promise<void> {
    const child = this.child
    if (!child || !this.alive) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGKILL')
    await exited
  }

  async stop(): Promise<void> {
    const child = this.child
    if (!child || !this.alive) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    await settlesWithin(exited, 3_000)
    if (this.alive) await this.kill()
  }
}

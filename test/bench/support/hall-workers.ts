/**
 * The bench process's side of the hall workers: starting them, asking them
 * things over IPC, and a BoardHandle per remote window for the central driver.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { REPO } from './bench-hub.ts'
import type { BoardHandle } from './board-handle.ts'
import { epochNow } from './clock.ts'
import type { FromWorker, ToWorker, WorkerStats } from './hall-worker.ts'

const WORKER = new URL('./hall-worker.ts', import.meta.url).pathname

type Reply = Extract<FromWorker, { type: 'reply' }>

/** Distributes a message without its `req`, which the worker handle assigns. */
type Request = ToWorker extends infer T ? (T extends { req: number } ? Omit<T, 'req'> : never) : never

export class HallWorker {
  private seq = 0
  private readonly pending = new Map<number, (r: Reply) => void>()
  private readyWaiter: { resolve: (b: Array<{ hall: string; counter: string }>) => void; reject: (e: Error) => void } | null = null
  private stoppedWaiter: (() => void) | null = null

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: FromWorker) => {
      if (m.type === 'reply') {
        this.pending.get(m.req)?.(m)
        this.pending.delete(m.req)
      } else if (m.type === 'ready') this.readyWaiter?.resolve(m.boards)
      else if (m.type === 'failed') this.readyWaiter?.reject(new Error(`hall worker failed: ${m.error}`))
      else if (m.type === 'stopped') this.stoppedWaiter?.()
    })
    child.once('exit', (code) => this.readyWaiter?.reject(new Error(`hall worker exited (${code}) before it was ready`)))
  }

  static spawn(): HallWorker {
    // tsx as the loader, like every TypeScript process of the project; logs of the halls go to /dev/null inside.
    const child = fork(WORKER, [], { cwd: REPO, execArgv: ['--import', 'tsx/esm'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    return new HallWorker(child)
  }

  get pid(): number {
    return this.child.pid!
  }

  start(halls: string[], windows: number, centralUrl: string): Promise<Array<{ hall: string; counter: string }>> {
    return new Promise((resolve, reject) => {
      this.readyWaiter = { resolve, reject }
      this.post({ type: 'start', halls, windows, centralUrl })
    })
  }

  ask(m: Request): Promise<Reply> {
    const req = this.seq++
    return new Promise((resolve) => {
      this.pending.set(req, resolve)
      this.post({ ...m, req } as ToWorker)
    })
  }

  /** The worker's clock minus ours, from the ping with the shortest round trip; and that round trip. */
  async clockOffset(pings = 20): Promise<{ offsetMs: number; rttMs: number }> {
    let best = { offsetMs: 0, rttMs: Number.POSITIVE_INFINITY }
    for (let i = 0; i < pings; i++) {
      const t0 = epochNow()
      const r = await this.ask({ type: 'ping' })
      const t1 = epochNow()
      if (t1 - t0 < best.rttMs) best = { offsetMs: r.t! - (t0 + t1) / 2, rttMs: t1 - t0 }
    }
    return best
  }

  async stats(): Promise<WorkerStats> {
    return (await this.ask({ type: 'stats' })).stats!
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()))
    await new Promise<void>((resolve) => {
      this.stoppedWaiter = resolve
      this.post({ type: 'stop' })
      setTimeout(resolve, 60_000).unref()
    })
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
    if (this.child.exitCode === null) this.child.kill('SIGKILL')
  }

  private post(m: ToWorker): void {
    this.child.send(m)
  }
}

export class WorkerBoard implements BoardHandle {
  constructor(
    private readonly worker: HallWorker,
    readonly hall: string,
    readonly counter: string,
  ) {}

  async expectDisplay(text: string, timeoutMs: number, notBefore = 0): Promise<number> {
    const r = await this.worker.ask({ type: 'expect', hall: this.hall, counter: this.counter, text, timeoutMs, notBefore })
    if (r.error) throw new Error(r.error)
    return r.t!
  }

  async press(score: 'satisfied' | 'neutral' | 'dissatisfied'): Promise<number> {
    const r = await this.worker.ask({ type: 'press', hall: this.hall, counter: this.counter, score })
    if (r.error) throw new Error(r.error)
    return r.t!
  }

  async mode(): Promise<string | null> {
    return (await this.worker.ask({ type: 'mode', hall: this.hall, counter: this.counter })).mode ?? null
  }
}

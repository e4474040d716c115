import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import type { Logger } from '../edge/shared/logger.ts'

export interface RestartingChildOptions {
  /** What the hall calls it: `hub`, `w01`, … */
  name: string
  /** The program and its arguments, e.g. [node, …execArgv, counter-edge.mjs, 'edge', '--config', …]. */
  command: string[]
  /** Its stdout and stderr, appended. */
  logFile: string
  env?: NodeJS.ProcessEnv
  /** Pause before a process that died is started again (default 500 ms). */
  restartDelayMs?: number
  log: Logger
  onLine?: (line: string) => void
}

/**
 * One process of a simulated hall run as separate processes (the hub, or one
 * window): started again whenever it dies, by a signal (an integrator's
 * `kill -9`) or on its own, as systemd's Restart= would on a real board or
 * hub host, until the hall stops.
 */
export class RestartingChild {
  /** Times it was started again after dying. */
  restarts = 0
  private child: ChildProcess | null = null
  private out: WriteStream | null = null
  private stopping = false
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly opts: RestartingChildOptions) {}

  get name(): string {
    return this.opts.name
  }

  /** The running process's id, or null while it is down. */
  get pid(): number | null {
    const c = this.child
    return c && c.exitCode === null && c.signalCode === null ? (c.pid ?? null) : null
  }

  async start(): Promise<void> {
    this.out = createWriteStream(this.opts.logFile, { flags: 'a' })
    await this.spawn()
  }

  private spawn(): Promise<void> {
    const [program, ...args] = this.opts.command
    const child = spawn(program!, args, { env: { ...process.env, ...this.opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    child.stdout!.pipe(this.out!, { end: false })
    child.stderr!.pipe(this.out!, { end: false })
    child.once('exit', (code, signal) => {
      if (this.stopping) return
      const how = signal ? `signal ${signal}` : `code ${code}`
      this.opts.log.info({ process: this.opts.name, code, signal }, 'process exited; starting it again')
      this.opts.onLine?.(`${this.opts.name} 进程已退出 exited (${how}); 重新启动 starting it again`)
      this.timer = setTimeout(() => {
        this.timer = null
        if (this.stopping) return
        this.restarts++
        this.spawn().catch((err: Error) => this.opts.log.error({ process: this.opts.name, err: err.message }, 'could not start the process again'))
      }, this.opts.restartDelayMs ?? 500)
    })
    return new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve())
      child.once('error', reject)
    })
  }

  /** SIGTERM for a clean stop (the runtime says goodbye), SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer) clearTimeout(this.timer)
    const child = this.child
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(killer)
    }
    const out = this.out
    this.out = null
    if (out) await new Promise<void>((r) => out.end(() => r()))
  }
}

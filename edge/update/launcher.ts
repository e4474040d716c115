import { spawn, type ChildProcess } from 'node:child_process'
import type { Logger } from '../shared/logger.ts'
import type { BoardRoot, UpdateJournal } from './board-root.ts'
import type { LauncherMessage } from './health-signal.ts'

export interface LauncherOptions {
  root: BoardRoot
  /** What follows `node <root>/current/dist/counter-edge.js`, e.g. ['edge', '--config', '/etc/counter-edge/board.json']. */
  args: string[]
  log: Logger
  /** Node flags for the runtime (the unit's memory flags). */
  nodeFlags?: string[]
  /** A tried version that exits this many times before it said `healthy` is rolled back. */
  crashesBeforeRollback?: number
  backoff?: { minMs: number; maxMs: number }
  /** How long a child has to stop after SIGTERM before it is killed. */
  killGraceMs?: number
  /** Where the child's stderr is copied (default this process's). */
  stderr?: NodeJS.WritableStream
  now?: () => number
}

/**
 * The launcher (issue 24): the small, stable process the board's unit runs.
 * It starts `current`'s runtime with an IPC channel and starts it again when
 * it exits, with backoff (at once after a clean exit for an update). While
 * update.json names a version on trial it confirms it when the runtime says
 * `healthy` in time, and otherwise goes back to `previous` by itself: after
 * crashesBeforeRollback exits before `healthy`, or when the deadline passes.
 * The rollback is written into update.json with the reason, which the
 * previous version reports when it starts (edge/update/installer.ts).
 */
export class Launcher {
  private child: ChildProcess | null = null
  private stopping = false
  private crashes = 0
  private restartTimer: NodeJS.Timeout | null = null
  private deadlineTimer: NodeJS.Timeout | null = null
  private lastError = ''
  private readonly now: () => number
  private done: Promise<void> = Promise.resolve()
  /** Each start of a child, for tests and the log: the version and its pid. */
  readonly starts: Array<{ version: string | null; pid: number | undefined }> = []

  constructor(private readonly opts: LauncherOptions) {
    this.now = opts.now ?? Date.now
  }

  async start(): Promise<void> {
    await this.launch()
  }

  private async launch(): Promise<void> {
    if (this.stopping) return
    const { root, log } = this.opts
    let j = await root.readJournal(log)
    const current = await root.versionOf('current')
    if (j.trying && current && current !== j.trying) {
      // The install was cut (power, kill) after update.json named the trial but before `current` was switched to it
      // (edge/update/installer.ts): what runs is the version that ran before, so there is nothing to try and nothing
      // to go back from. Left as it was, the deadline would "roll back" the running version to the one before it.
      j = { ...j, trying: null, deadline: null, rolledBack: { from: j.trying, to: current, reason: `${j.trying} was never switched to (the install stopped before current pointed at it); ${current} kept running`, at: new Date(this.now()).toISOString() } }
      await root.writeJournal(j)
      log.warn({ from: j.rolledBack!.from, to: current }, `安装未完成，保留 ${current} / install cut off before the switch; ${current} kept`)
    }
    if (j.trying && j.deadline && Date.parse(j.deadline) <= this.now()) {
      await this.rollBack(j, `${j.trying} not online with devices answering by its deadline ${j.deadline}`)
      return this.launch()
    }
    const version = await root.versionOf('current')
    const child = spawn(process.execPath, [...(this.opts.nodeFlags ?? []), root.entry, ...this.opts.args], {
      stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
      cwd: root.dir,
    })
    this.child = child
    this.starts.push({ version, pid: child.pid })
    log.info({ version, pid: child.pid, trying: j.trying }, `启动 starting runtime ${version}`)
    let healthy = false
    this.lastError = ''
    child.stderr!.on('data', (d: Buffer) => {
      ;(this.opts.stderr ?? process.stderr).write(d)
      const lines = d.toString().split('\n').map((l) => l.trim()).filter(Boolean)
      // The line that names the error, else the last one: what the rollback's reason quotes.
      const named = lines.filter((l) => /error/i.test(l)).pop()
      if (named) this.lastError = named
      else if (lines.length && !this.lastError) this.lastError = lines[lines.length - 1]!
    })
    // The trial's verdict, decided once and synchronously by whichever comes first: `healthy` from the version on
    // trial, or its deadline. Decided after the journal reads instead, a `healthy` landing while the deadline's
    // rollback was under way confirmed a version that was then stopped and rolled back (and the reverse).
    let verdict: 'healthy' | 'deadline' | null = null
    const trying = j.trying
    if (trying && j.deadline) {
      this.deadlineTimer = setTimeout(() => {
        this.deadlineTimer = null
        // One turn of the event loop later: a `healthy` already waiting on the channel when the timer fired
        // (a busy board reads both in the same turn) was said in time, and is read and decided first.
        setImmediate(() => {
          if (verdict !== null || this.stopping || this.child !== child) return
          verdict = 'deadline'
          void this.onDeadline(child)
        })
      }, Math.max(0, Date.parse(j.deadline) - this.now()))
    }
    child.on('message', (m: Partial<LauncherMessage>) => {
      if (m?.type !== 'healthy') return
      healthy = true
      this.crashes = 0
      if (verdict !== null || !trying || m.version !== trying) return
      verdict = 'healthy'
      if (this.deadlineTimer) clearTimeout(this.deadlineTimer)
      this.deadlineTimer = null
      void this.onHealthy(child, trying)
    })
    this.done = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.child = null
        if (this.deadlineTimer) clearTimeout(this.deadlineTimer)
        this.deadlineTimer = null
        void this.onExit(code, signal, healthy, version).finally(resolve)
      })
    })
  }

  private async onHealthy(child: ChildProcess, version: string): Promise<void> {
    const j = await this.opts.root.readJournal()
    if (!j.trying || j.trying !== version) return
    await this.opts.root.writeJournal({ ...j, trying: null, deadline: null, rolledBack: null })
    this.opts.log.info({ version }, `已确认 confirmed ${version}`)
    if (child.connected) child.send({ type: 'confirmed', version } satisfies LauncherMessage)
  }

  private async onDeadline(child: ChildProcess): Promise<void> {
    const j = await this.opts.root.readJournal()
    if (!j.trying) return
    await this.rollBack(j, `${j.trying} not online with devices answering by its deadline ${j.deadline}`)
    // The exit handler starts the previous version.
    await this.terminate(child)
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null, healthy: boolean, version: string | null): Promise<void> {
    if (this.stopping) return
    const { log } = this.opts
    const j = await this.opts.root.readJournal()
    // The version on trial ending before it said healthy failed to start, whatever its exit code: a clean exit
    // there hands over to no one, and taken as one it was started again at once until the deadline, in a loop.
    const failedTrial = j.trying !== null && !healthy && (code !== 0 || version === j.trying)
    if (failedTrial) {
      this.crashes++
      const max = this.opts.crashesBeforeRollback ?? 3
      log.warn({ version: j.trying, code, signal, crashes: this.crashes }, 'tried version exited before it was online')
      if (this.crashes >= max) {
        await this.rollBack(j, `${j.trying} exited ${this.crashes} times before it was online: ${this.lastError || `exit code ${code ?? signal}`}`)
        this.crashes = 0
      }
    }
    // A clean exit is an update handing over (or a stop asked for): the next version at once; a crash after a pause.
    const delay = code === 0 && !failedTrial ? 0 : this.backoffMs()
    if (delay > 0) log.warn({ code, signal, delayMs: delay }, `运行时退出，稍后重启 runtime exited; restarting in ${delay} ms`)
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null
      void this.launch()
    }, delay)
  }

  private backoffMs(): number {
    const b = this.opts.backoff ?? { minMs: 500, maxMs: 10_000 }
    return Math.min(b.maxMs, b.minMs * 2 ** Math.min(this.crashes, 10))
  }

  private async rollBack(j: UpdateJournal, reason: string): Promise<void> {
    const { root, log } = this.opts
    const from = j.trying!
    const to = (await root.versionOf('previous')) ?? j.previous
    if (!to || to === from) {
      log.error({ from, reason }, 'no previous version to go back to; keeping the tried one')
      await root.writeJournal({ ...j, trying: null, deadline: null })
      return
    }
    await root.point('current', to)
    await root.writeJournal({ ...j, trying: null, deadline: null, rolledBack: { from, to, reason: reason.slice(0, 480), at: new Date(this.now()).toISOString() } })
    log.error({ from, to, reason }, `回退 rolled back from ${from} to ${to}`)
  }

  private async terminate(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    const grace = setTimeout(() => child.kill('SIGKILL'), this.opts.killGraceMs ?? 10_000)
    await exited
    clearTimeout(grace)
  }

  /** SIGTERM to the runtime (its clean stop), then wait for it. */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.restartTimer) clearTimeout(this.restartTimer)
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer)
    if (this.child) await this.terminate(this.child)
    await this.done
  }
}

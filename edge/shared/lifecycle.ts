import type { Logger } from './logger.ts'

export interface LifecycleOptions {
  log: Logger
  /** All stop steps together get this long (default 8 s); a step that cannot finish must not keep the process from stopping. */
  deadlineMs?: number
  /** Past the deadline, each remaining step still gets this long before it is left behind (default 200 ms). */
  graceMs?: number
}

interface Step {
  name: string
  stop: () => unknown
}

/**
 * The start/stop pairs of one composition root. Each part's stop is added,
 * under a name, as soon as the part has started; `stop()` runs them in
 * reverse, each on its own: a step that throws is logged by name and the
 * rest still run, and one that hangs (a cluster's Redis gone) is left behind
 * once the deadline has passed, so one broken part never keeps the others
 * running. A composition run through `build` that fails half-way stops what
 * had already started and rethrows.
 */
export class Lifecycle {
  private readonly steps: Step[] = []
  private stopping: Promise<void> | null = null
  private readonly deadlineMs: number
  private readonly graceMs: number

  constructor(private readonly opts: LifecycleOptions) {
    this.deadlineMs = opts.deadlineMs ?? 8_000
    this.graceMs = opts.graceMs ?? 200
  }

  /** Whether stop() has been called. */
  get stopped(): boolean {
    return this.stopping !== null
  }

  /**
   * Adds a started part's stop. After stop() it runs at once (isolated, and
   * not awaited by anyone): a part that finished starting too late must not be
   * left running.
   */
  add(name: string, stop: () => unknown): void {
    if (this.stopping) {
      void this.runStep({ name, stop }, Date.now() + this.graceMs)
      return
    }
    this.steps.push({ name, stop })
  }

  /** Starts a part with a start()/stop() pair and adds its stop once start() has resolved. */
  async start<P extends { start(): unknown; stop(): unknown }>(name: string, part: P): Promise<P> {
    await part.start()
    this.add(name, () => part.stop())
    return part
  }

  /** Runs a composition; if it throws, stops whatever it had started, then rethrows. */
  async build<T>(compose: () => Promise<T>): Promise<T> {
    try {
      return await compose()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** Runs every stop in reverse order of adding. Idempotent: later calls get the first call's promise. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll()
    return this.stopping
  }

  private async stopAll(): Promise<void> {
    const deadline = Date.now() + this.deadlineMs
    for (const step of this.steps.splice(0).reverse()) await this.runStep(step, deadline)
  }

  private async runStep(step: Step, deadline: number): Promise<void> {
    const { log } = this.opts
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        log.warn({ step: step.name }, 'a stop step did not finish in time; going on without it')
        resolve()
      }, Math.max(this.graceMs, deadline - Date.now()))
    })
    await Promise.race([
      Promise.resolve()
        .then(step.stop)
        .then(
          () => undefined,
          (err: unknown) => log.error({ step: step.name, err: err instanceof Error ? err.message : String(err) }, 'a stop step failed; stopping the rest'),
        ),
      late,
    ])
    clearTimeout(timer)
  }
}

/**
 * Digital outputs: a timed pulse (capture triggers, the NVR alarm relay) and
 * a lamp (steady or blinking). Both drive one GpioLine at logical levels, so
 * active-low relay boards need no special case here.
 *
 * Neither closes its line: whoever opened the line (build-devices) closes it.
 * stop() leaves the output inactive.
 *
 * A lamp is a device of its own and reports its health: a write that fails
 * is fault 'io', the next write that succeeds clears it. A pulse output is a
 * part of something else (a capture trigger), which reports for it.
 */
import type { Logger } from 'pino'
import type { GpioLine, Level } from './gpio-port.ts'
import type { DeviceHealthSink } from '../devices/device-health.ts'

export interface OutputOptions {
  line: GpioLine
  log?: Logger
  /** Clock for pulse deadlines; default Date.now (faked by vitest's timers). */
  now?: () => number
}

export class PulseOutput {
  private readonly line: GpioLine
  private readonly log: Logger | undefined
  private readonly now: () => number
  private busy = false
  private raised = false
  private endsAt = 0
  private timer: NodeJS.Timeout | undefined
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = []

  constructor(opts: OutputOptions) {
    this.line = opts.line
    this.log = opts.log
    this.now = opts.now ?? (() => Date.now())
  }

  get active(): boolean {
    return this.busy
  }

  /**
   * Holds the output active for `ms`, resolving when it is released. A pulse
   * asked for while one is running extends it instead of cutting it short:
   * an NVR samples its alarm input, so a relay must stay closed long enough.
   */
  pulse(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms <= 0) return Promise.reject(new RangeError(`pulse length must be > 0 ms, got ${ms}`))
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    this.endsAt = Math.max(this.endsAt, this.now() + ms)
    if (this.busy) {
      if (this.raised) this.schedule()
      return done
    }
    this.busy = true
    this.line.write(1).then(
      () => {
        this.raised = true
        if (this.busy) this.schedule()
      },
      (err: unknown) => {
        this.busy = false
        this.settle(err)
      },
    )
    return done
  }

  async stop(): Promise<void> {
    if (!this.busy) return
    clearTimeout(this.timer)
    await this.release()
  }

  private schedule(): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.release(), Math.max(0, this.endsAt - this.now()))
  }

  private async release(): Promise<void> {
    this.timer = undefined
    this.busy = false
    this.raised = false
    this.endsAt = 0
    try {
      await this.line.write(0)
      this.settle()
    } catch (err) {
      this.log?.error({ line: this.line.name, err }, 'could not release pulse output')
      this.settle(err)
    }
  }

  private settle(err?: unknown): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) {
      if (err === undefined) w.resolve()
      else w.reject(err)
    }
  }
}

export type LampMode = 'off' | 'on' | 'blink'

export interface BlinkPattern {
  onMs: number
  offMs: number
}

export interface LampOptions extends OutputOptions {
  /** The name its health is reported under ('status-lamp', 'evaluator-lamp'). */
  device: string
  health: DeviceHealthSink
}

export class Lamp {
  readonly device: string
  private readonly line: GpioLine
  private readonly log: Logger | undefined
  private readonly health: DeviceHealthSink
  private current: LampMode = 'off'
  private timer: NodeJS.Timeout | undefined
  private generation = 0

  constructor(opts: LampOptions) {
    this.line = opts.line
    this.log = opts.log
    this.device = opts.device
    this.health = opts.health
    this.health.register(opts.device)
  }

  get mode(): LampMode {
    return this.current
  }

  async on(): Promise<void> {
    this.setMode('on')
    await this.write(1)
  }

  async off(): Promise<void> {
    this.setMode('off')
    await this.write(0)
  }

  async blink(pattern: BlinkPattern = { onMs: 500, offMs: 500 }): Promise<void> {
    if (pattern.onMs <= 0 || pattern.offMs <= 0) throw new RangeError('blink phases must be > 0 ms')
    const generation = this.setMode('blink')
    const phase = async (lit: boolean): Promise<void> => {
      if (generation !== this.generation) return
      try {
        await this.write(lit ? 1 : 0)
      } catch (err) {
        this.log?.warn({ line: this.line.name, err }, 'lamp write failed while blinking')
      }
      if (generation !== this.generation) return
      this.timer = setTimeout(() => void phase(!lit), lit ? pattern.onMs : pattern.offMs)
    }
    await phase(true)
  }

  async stop(): Promise<void> {
    await this.off()
  }

  private async write(v: Level): Promise<void> {
    try {
      await this.line.write(v)
    } catch (err) {
      this.health.report(this.device, { code: 'io', message: `${this.device}: ${(err as Error).message}` })
      throw err
    }
    this.health.report(this.device, null)
  }

  /** Switching mode cancels a running blink; the generation guards writes already in flight. */
  private setMode(mode: LampMode): number {
    clearTimeout(this.timer)
    this.timer = undefined
    this.current = mode
    return ++this.generation
  }
}

import type { Logger } from 'pino'
import type { GpioLine, Level } from './gpio-port.ts'
import { PulseOutput } from './output.ts'
import type { DeviceHealthSink } from '../devices/device-health.ts'

export type CaptureFailureReason = 'timeout' | 'busy' | 'stuck' | 'not-ready'

export type CaptureOutcome = { ok: true; latencyMs: number } | { ok: false; reason: CaptureFailureReason; message: string }

export interface CaptureTriggerOptions {
  /** 'photo' or 'fingerprint': for messages and logs. */
  name: string
  /** The name its health is reported under ('photo-capture', 'fingerprint-capture'). */
  device: string
  health: DeviceHealthSink
  trigger: GpioLine
  done: GpioLine
  pulseMs: number
  /** From the trigger to `done`; a camera that never answers is reported, never waited on forever. */
  timeoutMs: number
  /**
   * This many timeouts in a row, with no capture answered between them, make
   * fault 'no-answer': one timeout may be an applicant who did not put a
   * finger down, several in a row are a device that is off or unplugged.
   */
  timeoutsToFault?: number
  /** After `done`, how long the line may stay active before the device counts as stuck. */
  releaseMs?: number
  /** `done` is polled this often as well as watched: some boards lose edge interrupts. */
  pollMs?: number
  now: () => number
  log: Logger
}

/**
 * Starts a camera or fingerprint scanner and reports how it went. Only lines
 * move here: the photo or template goes from the device to the case system
 * directly and never through this runtime (docs/architecture.md §11).
 *
 * Contract (docs/hardware.md §4.4): `done` must be idle, pulse `trigger`, wait for
 * `done` with a timeout, check `done` returns to idle, report the latency.
 *
 * Its health: a trigger line it cannot write is fault 'io'; a `done` line
 * that stays active (before the trigger or after the answer) is fault 'stuck';
 * a capture that works clears them. One timeout is not a fault of the device:
 * the applicant may simply not have put a finger on the scanner. Several in a
 * row are fault 'no-answer', so a camera that is off shows on the dashboard
 * before the next self-test; the next capture it answers clears it.
 */
export class CaptureTrigger {
  private readonly pulse: PulseOutput
  private running = false
  private timeoutsInRow = 0

  constructor(private readonly opts: CaptureTriggerOptions) {
    this.pulse = new PulseOutput({ line: opts.trigger, log: opts.log, now: opts.now })
    opts.health.register(opts.device)
  }

  get busy(): boolean {
    return this.running
  }

  async capture(): Promise<CaptureOutcome> {
    const { name } = this.opts
    if (this.running) return { ok: false, reason: 'busy', message: `the ${name} device is already capturing` }
    this.running = true
    try {
      if ((await this.opts.done.read()) === 1) {
        // Still signalling from a previous capture, or wired wrong: give it a moment before blaming it.
        const idle = await this.waitFor(0, this.opts.releaseMs ?? 1000)
        if (idle === null) return this.stuck({ ok: false, reason: 'not-ready', message: `the ${name} device signals done before it was triggered` })
      }
      const start = this.opts.now()
      const answered = this.waitFor(1, this.opts.timeoutMs)
      try {
        await this.pulse.pulse(this.opts.pulseMs)
      } catch (err) {
        this.opts.health.report(this.opts.device, { code: 'io', message: `the ${name} device's trigger line: ${(err as Error).message}` })
        throw err
      }
      const at = await answered
      if (at === null) return this.timedOut()
      // Whole milliseconds, as the contract carries them: a monotonic clock (performance.now) reads fractions.
      const latencyMs = Math.max(0, Math.round(at - start))
      this.timeoutsInRow = 0
      const released = await this.waitFor(0, this.opts.releaseMs ?? 1000)
      if (released === null) return this.stuck({ ok: false, reason: 'stuck', message: `the ${name} device's done line stayed active after the capture` })
      this.opts.health.report(this.opts.device, null)
      return { ok: true, latencyMs }
    } finally {
      this.running = false
    }
  }

  private timedOut(): CaptureOutcome {
    const { name, timeoutMs, timeoutsToFault = 3 } = this.opts
    this.timeoutsInRow++
    if (this.timeoutsInRow >= timeoutsToFault) {
      this.opts.health.report(this.opts.device, { code: 'no-answer', message: `the ${name} device did not answer ${this.timeoutsInRow} captures in a row (${timeoutMs} ms each)` })
    }
    return { ok: false, reason: 'timeout', message: `the ${name} device did not signal done within ${timeoutMs} ms` }
  }

  private stuck(outcome: Extract<CaptureOutcome, { ok: false }>): CaptureOutcome {
    this.opts.health.report(this.opts.device, { code: 'stuck', message: outcome.message })
    return outcome
  }

  /** Resolves with the time `done` reached `level`, or null after `ms`. Watches and polls, whichever sees it first. */
  private waitFor(level: Level, ms: number): Promise<number | null> {
    return new Promise((resolve) => {
      let settled = false
      const finish = (v: number | null) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        clearInterval(poll)
        unwatch()
        resolve(v)
      }
      const unwatch = this.opts.done.watch((v) => {
        if (v === level) finish(this.opts.now())
      })
      const poll = setInterval(() => {
        this.opts.done.read().then(
          (v) => v === level && finish(this.opts.now()),
          () => undefined,
        )
      }, this.opts.pollMs ?? 25)
      const timer = setTimeout(() => finish(null), ms)
      this.opts.done.read().then(
        (v) => v === level && finish(this.opts.now()),
        () => undefined,
      )
    })
  }

  async stop(): Promise<void> {
    await this.opts.trigger.write(0).catch(() => undefined)
  }
}

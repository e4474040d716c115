/**
 * A relay contact with a minimum hold time, for inputs that are sampled
 * rather than edge-triggered: an NVR reads its alarm inputs every few hundred
 * milliseconds, so a closure shorter than its sampling period can fall
 * between two samples and never be recorded (docs/hardware.md §4.4).
 *
 * - a closure lasts at least `minHoldMs`, however short the pulse asked for;
 * - after opening, the contact stays open at least `minGapMs` (default: the
 *   hold time), so two alarms in a row are two closures the NVR can tell
 *   apart, not one long one; a pulse asked for in the gap starts when it ends;
 * - a pulse asked for while closed extends the closure instead of cutting it.
 *
 * The relay drives one GpioLine at LOGICAL levels (1 = energised), so an
 * active-low relay board needs nothing here; that the line starts released
 * is the backend's job (onoff: direction 'high'/'low', never 'out').
 * It does not close its line: whoever opened it does.
 *
 * It reports its own health, timer-driven writes included: a write that
 * fails is fault 'io', the next write that succeeds clears it.
 */
import type { Logger } from 'pino'
import type { GpioLine } from './gpio-port.ts'
import type { DeviceHealthSink } from '../devices/device-health.ts'
import { SerialQueue } from '../shared/serial-queue.ts'

export interface RelayOptions {
  line: GpioLine
  /** The name its health is reported under ('nvr-relay'). */
  device: string
  health: DeviceHealthSink
  /** Shortest closure in ms; set it above the NVR's sampling period. */
  minHoldMs: number
  /** Shortest opening between two closures in ms; default minHoldMs. */
  minGapMs?: number
  /** Clock for the hold deadlines; default Date.now (faked by vitest's timers). */
  now?: () => number
  log?: Logger
}

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

export class Relay {
  readonly name: string
  readonly device: string
  private readonly health: DeviceHealthSink
  private readonly line: GpioLine
  private readonly minHoldMs: number
  private readonly minGapMs: number
  private readonly now: () => number
  private readonly log: Logger | undefined

  private contact: 'open' | 'closed' = 'open'
  private closedAt = -Infinity
  private openedAt = -Infinity
  /** close() without open(): held until released. */
  private latched = false
  /** Pulse length waiting for the contact to close (asked for while open). */
  private pendingPulseMs = 0
  /** While closed: when the longest pulse asked for ends. */
  private pulseUntil = -Infinity
  private timer: NodeJS.Timeout | undefined
  private readonly writes = new SerialQueue()
  private openWaiters: Waiter[] = []
  private closeWaiters: Waiter[] = []
  private stopped = false

  constructor(opts: RelayOptions) {
    if (!Number.isFinite(opts.minHoldMs) || opts.minHoldMs < 0) throw new RangeError(`minHoldMs must be >= 0, got ${opts.minHoldMs}`)
    this.line = opts.line
    this.name = opts.line.name
    this.device = opts.device
    this.health = opts.health
    this.health.register(opts.device)
    this.minHoldMs = opts.minHoldMs
    this.minGapMs = opts.minGapMs ?? opts.minHoldMs
    this.now = opts.now ?? (() => Date.now())
    this.log = opts.log
  }

  /** Whether the contact is closed (the coil energised) right now. */
  get closed(): boolean {
    return this.contact === 'closed'
  }

  /**
   * Closes the contact and keeps it closed until open(); resolves once it is
   * closed (after the gap, if it opened less than `minGapMs` ago).
   */
  close(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error(`relay '${this.name}': close after stop()`))
    this.latched = true
    if (this.contact === 'closed') return this.step()
    const closed = new Promise<void>((resolve, reject) => this.closeWaiters.push({ resolve, reject }))
    void this.step()
    return closed
  }

  /** Opens the contact, but not before it has been closed `minHoldMs`; resolves once it is open. */
  open(): Promise<void> {
    this.latched = false
    const opened = this.whenOpen()
    void this.step()
    return opened
  }

  /**
   * Closes the contact for `ms`, or for `minHoldMs` when that is longer, and
   * resolves when it has opened again.
   */
  pulse(ms: number): Promise<void> {
    if (this.stopped) return Promise.reject(new Error(`relay '${this.name}': pulse after stop()`))
    if (!Number.isFinite(ms) || ms <= 0) return Promise.reject(new RangeError(`pulse length must be > 0 ms, got ${ms}`))
    if (ms < this.minHoldMs) {
      this.log?.debug({ relay: this.name, ms, minHoldMs: this.minHoldMs }, 'pulse extended to the minimum hold')
    }
    const opened = this.whenOpen()
    if (this.contact === 'closed') this.pulseUntil = Math.max(this.pulseUntil, this.now() + ms)
    else this.pendingPulseMs = Math.max(this.pendingPulseMs, ms)
    void this.step()
    return opened
  }

  /** Releases everything asked for; the contact opens once its minimum hold is over. */
  async stop(): Promise<void> {
    this.stopped = true
    this.latched = false
    this.pendingPulseMs = 0
    this.pulseUntil = -Infinity
    if (this.contact === 'open') {
      clearTimeout(this.timer)
      this.timer = undefined
      this.settle()
      return
    }
    const opened = this.whenOpen()
    void this.step()
    await opened
  }

  private whenOpen(): Promise<void> {
    return new Promise((resolve, reject) => this.openWaiters.push({ resolve, reject }))
  }

  /** Moves the contact toward what is asked, one write at a time. */
  private step(): Promise<void> {
    return this.writes.run(() => this.reconcile())
  }

  private async reconcile(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    let now = this.now()
    if (this.contact === 'open') {
      if (!this.latched && this.pendingPulseMs === 0) return this.settle()
      const gapEnds = this.openedAt + this.minGapMs
      if (now < gapEnds) return this.wake(gapEnds - now)
      await this.write(1)
      this.contact = 'closed'
      // Timed from when the write is done, not asked for: a relay on a Modbus
      // module closes only when its frame gets through, after a poll in
      // flight, so the hold the NVR sees still lasts minHoldMs.
      this.closedAt = now = this.now()
      this.settle(undefined, 'close')
      this.pulseUntil = this.pendingPulseMs > 0 ? now + this.pendingPulseMs : -Infinity
      this.pendingPulseMs = 0
    }
    const releaseAt = Math.max(this.closedAt + this.minHoldMs, this.pulseUntil)
    if (this.latched) return
    if (now < releaseAt) return this.wake(releaseAt - now)
    await this.write(0)
    this.contact = 'open'
    this.openedAt = this.now()
    this.pulseUntil = -Infinity
    if (this.pendingPulseMs > 0) return this.wake(this.minGapMs)
    this.settle()
  }

  private wake(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.step().catch((err: unknown) => this.log?.error({ relay: this.name, err }, 'relay write failed'))
    }, ms)
  }

  private async write(v: 0 | 1): Promise<void> {
    try {
      await this.line.write(v)
    } catch (err) {
      this.health.report(this.device, { code: 'io', message: `${this.device}: could not ${v ? 'close' : 'open'} the contact: ${(err as Error).message}` })
      this.settle(err)
      this.settle(err, 'close')
      throw err
    }
    this.health.report(this.device, null)
  }

  private settle(err?: unknown, which: 'open' | 'close' = 'open'): void {
    const waiters = which === 'open' ? this.openWaiters : this.closeWaiters
    if (which === 'open') this.openWaiters = []
    else this.closeWaiters = []
    for (const w of waiters) {
      if (err === undefined) w.resolve()
      else w.reject(err)
    }
  }
}

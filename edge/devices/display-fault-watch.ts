import type { Logger } from '../shared/logger.ts'
import { DeviceFault } from '../hardware/device-fault.ts'
import type { DeviceHealthSink } from './device-health.ts'

export interface DisplayFaultWatchOptions {
  /** The name its health is reported under ('display', 'officer-panel'). */
  device: string
  /** What the log calls it when it works again ('display', 'screen'). */
  noun: string
  health: DeviceHealthSink
  log: Logger
  /** While faulted, run `restore` this often (ms; 0 = never). */
  retryMs: number
  /** Writes the whole picture again; a failure lands back in track(). */
  restore: () => Promise<void>
  /** The driver failed with a DeviceFault; `isNew` when its code differs from the fault already held. */
  onFault: (isNew: boolean) => void
  /** The first success after a fault. */
  onRecovered: () => void
}

/**
 * The health of a display, shared by the segment call display and the pixel
 * window screen (edge/devices/call-display.ts, window-screen.ts): a fault
 * reported when a driver call fails with a new code, cleared when one
 * succeeds again, and while faulted the whole picture re-sent every
 * `retryMs`, so a reseated cable comes back on its own without a restart.
 */
export class DisplayFaultWatch {
  private current: DeviceFault | null = null
  private retryTimer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(private readonly opts: DisplayFaultWatchOptions) {}

  get fault(): DeviceFault | null {
    return this.current
  }

  /** The fault as the `screen` report carries it. */
  get wireFault(): { code: string; message: string } | null {
    return this.current ? { code: this.current.code, message: this.current.message.slice(0, 200) } : null
  }

  start(): void {
    this.stopped = false
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  /** Awaits one driver operation and records the display's health from its outcome; rethrows its error. */
  async track(op: Promise<void>): Promise<void> {
    try {
      await op
    } catch (err) {
      if (err instanceof DeviceFault) {
        const isNew = this.current?.code !== err.code
        this.current = err
        if (isNew) {
          this.opts.log.error({ device: err.device, code: err.code }, err.message)
          this.opts.health.report(this.opts.device, { code: err.code, message: err.message })
        }
        this.opts.onFault(isNew)
        this.scheduleRetry()
      }
      throw err
    }
    if (this.current !== null) {
      this.opts.log.info({ device: this.current.device }, `${this.opts.noun} works again`)
      this.current = null
      this.opts.health.report(this.opts.device, null)
      this.opts.onRecovered()
    }
  }

  /**
   * A driver's periodic refresh: one that fails is a fault as a write's would be (a display unplugged in the
   * middle of a service must not read as lit with its number until the next call); one that works while a
   * fault is held restores the whole picture, which clears the fault; after stop() it restores nothing.
   * `track` is the display's own track(), which may tell its listeners too.
   */
  followRefresh(refresh: Promise<void>, track: (op: Promise<void>) => Promise<void>): void {
    refresh
      .then(
        () => (this.current !== null && !this.stopped ? this.opts.restore() : undefined),
        (err: unknown) => track(Promise.reject(err)),
      )
      .catch(() => undefined)
  }

  private scheduleRetry(): void {
    if (this.opts.retryMs <= 0 || this.retryTimer !== undefined || this.stopped) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (this.current === null || this.stopped) return
      this.opts.restore().catch(() => undefined)
    }, this.opts.retryMs)
  }
}

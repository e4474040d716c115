import type { Logger } from '../edge/shared/logger.ts'
import { DeviceFault } from '../edge/hardware/device-fault.ts'

export interface DeviceFaultLogOptions {
  log: Logger
  /** After a device's first line of one kind, its repeats in this long are counted, then summed up in one line. */
  windowMs: number
}

interface Repeats {
  counter: string
  device: string
  message: string
  suppressed: number
  timer: NodeJS.Timeout
}

/**
 * One faulty display in a simulated hall retries every show and every refresh,
 * and each try logged two or three lines: 904 of 2,423 lines in one run
 * (issue 21), burying the call and rating lines a person watches. The board's
 * own logging is right for a board (one window, one log); in a hall of many
 * windows the same line again says nothing new. So, per window, device and
 * message, the first line is written, the repeats of the next windowMs are
 * counted, and one line says how many there were. The fault itself is on the
 * dashboard, in `counter-edge status` and in the window's state, never hidden.
 *
 * A DeviceFault is an expected condition of the hardware, not a bug: it is
 * logged by its message, without a stack trace.
 */
export class DeviceFaultLog {
  private readonly repeats = new Map<string, Repeats>()

  constructor(private readonly opts: DeviceFaultLogOptions) {}

  /** The logger a window's runtime gets: its device lines pass through here, everything else as is. */
  forWindow(counter: string, log: Logger): Logger {
    return this.wrap(counter, log)
  }

  /** Writes the summaries still pending. */
  stop(): void {
    for (const key of [...this.repeats.keys()]) this.flush(key)
  }

  private wrap(counter: string, log: Logger): Logger {
    return new Proxy(log, {
      get: (target, prop, receiver) => {
        if (prop === 'child') {
          return (bindings: Record<string, unknown>): Logger => this.wrap(counter, target.child(bindings))
        }
        if (prop === 'warn' || prop === 'error') {
          const level = prop
          return (first: unknown, ...rest: unknown[]) => {
            if (typeof first !== 'object' || first === null || !('device' in first)) {
              return (target[level] as (...a: unknown[]) => void)(first, ...rest)
            }
            const fields = withoutStack(first as Record<string, unknown>)
            const message = typeof rest[0] === 'string' ? rest[0] : ''
            if (!this.admit(counter, String(fields.device), message)) return
            return (target[level] as (...a: unknown[]) => void)(fields, ...rest)
          }
        }
        return Reflect.get(target, prop, receiver)
      },
    })
  }

  /** True for the first line of its kind in a window; false (counted) for a repeat. */
  private admit(counter: string, device: string, message: string): boolean {
    const key = `${counter}\u0000${device}\u0000${message}`
    const r = this.repeats.get(key)
    if (r) {
      r.suppressed++
      return false
    }
    const timer = setTimeout(() => this.flush(key), this.opts.windowMs)
    timer.unref()
    this.repeats.set(key, { counter, device, message, suppressed: 0, timer })
    return true
  }

  private flush(key: string): void {
    const r = this.repeats.get(key)
    if (!r) return
    clearTimeout(r.timer)
    this.repeats.delete(key)
    if (r.suppressed === 0) return
    const seconds = Math.round(this.opts.windowMs / 1000)
    this.opts.log.warn(
      { counter: r.counter, device: r.device, repeated: r.suppressed, windowS: seconds },
      `窗口 ${r.counter} 的 ${r.device} 在 ${seconds} 秒内又出现 ${r.suppressed} 次同样的故障 / window ${r.counter}: "${r.message}" (${r.device}) ${r.suppressed} more times in ${seconds} s, not logged one by one`,
    )
  }
}

/** A device fault is logged by its message; a stack trace would say only where the driver noticed it. */
function withoutStack(fields: Record<string, unknown>): Record<string, unknown> {
  const err = fields.err
  if (err instanceof DeviceFault) return { ...fields, err: err.message, code: fields.code ?? err.code }
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).errno === 'number') return { ...fields, err: err.message }
  return fields
}

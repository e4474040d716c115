import type { Logger } from '../edge/shared/logger.ts'

export interface LogLimiterOptions {
  log: Logger
  /** Lines of one kind written in one window; past it they are only counted. */
  linesPerKind: number
  /** Lines of one kind for one key (an address, else a client) in one window: one noisy peer cannot use up its kind's lines. */
  linesPerKey: number
  windowMs: number
}

interface KindWindow {
  written: number
  suppressed: number
  byKey: Map<string, number>
}

/** Keys tracked per kind in one window; past it new keys share one slot, so a scan of many addresses cannot grow the map. */
const MAX_KEYS = 10_000

/**
 * Warn lines for a storm of the same refusal. One refused connection a line
 * was 7,590 lines in one connection storm (issue 20): the log a technician
 * reads drowned, and writing them cost the hub the CPU the storm was already
 * taking. Per kind, and per key within a kind, the first lines of each window
 * are written as they come; the rest are counted, and when the window ends one
 * summary line says how many were not written ("N more refused (kind) in the
 * last T s"). Counting for /metrics happens before this and is never limited.
 *
 * The window starts with a kind's first line; a kind with nothing suppressed
 * writes no summary. stop() writes what is pending.
 */
export class LogLimiter {
  private readonly kinds = new Map<string, KindWindow>()
  private timer: NodeJS.Timeout | null = null
  private windowStarted = 0

  constructor(private readonly opts: LogLimiterOptions) {}

  /** Writes the line unless its kind or key is over its lines for this window; true when written. */
  warn(kind: string, key: string | null, fields: Record<string, unknown>, message: string): boolean {
    this.openWindow()
    let k = this.kinds.get(kind)
    if (!k) {
      k = { written: 0, suppressed: 0, byKey: new Map() }
      this.kinds.set(kind, k)
    }
    const slot = key === null ? null : k.byKey.has(key) || k.byKey.size < MAX_KEYS ? key : '(other keys)'
    const forKey = slot === null ? 0 : (k.byKey.get(slot) ?? 0)
    if (k.written >= this.opts.linesPerKind || (slot !== null && forKey >= this.opts.linesPerKey)) {
      k.suppressed++
      return false
    }
    k.written++
    if (slot !== null) k.byKey.set(slot, forKey + 1)
    this.opts.log.warn(fields, message)
    return true
  }

  /** Lines not written so far in this window, by kind (for tests and the summary). */
  suppressed(kind: string): number {
    return this.kinds.get(kind)?.suppressed ?? 0
  }

  private openWindow(): void {
    if (this.timer) return
    this.windowStarted = Date.now()
    this.timer = setTimeout(() => this.closeWindow(), this.opts.windowMs)
    this.timer.unref()
  }

  private closeWindow(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const seconds = Math.max(1, Math.round((Date.now() - this.windowStarted) / 1000))
    for (const [kind, k] of this.kinds) {
      if (k.suppressed === 0) continue
      this.opts.log.warn(
        { refusalsNotLogged: kind, count: k.suppressed, logged: k.written, windowS: seconds },
        `${k.suppressed} more refused (${kind}) in the last ${seconds} s, not logged one by one; /metrics counts every one`,
      )
    }
    this.kinds.clear()
  }

  /** Writes the summary of the window in progress (at the hub's stop, so no count is lost from the log). */
  stop(): void {
    if (this.timer) this.closeWindow()
  }
}

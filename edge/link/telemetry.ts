import { readFile } from 'node:fs/promises'
import type { DeviceHealth, TelemetryFields } from '../protocol/index.ts'
import type { Logger } from '../shared/logger.ts'
import type { Journal } from './journal.ts'
import type { LinkHealth } from './board-link.ts'

export const SOC_THERMAL_ZONE = '/sys/class/thermal/thermal_zone0/temp'

/** What telemetry reads from the window it reports on. */
export interface WindowReadings {
  ignoredPresses: number
  telemetryPeriodS: number
  /** Staffed and paused time (edge/counter/view.ts staffingFigures); absent where the caller has no window. */
  staffing?: { staffedMs: number | null; shiftPausedMs: number | null; pauseMs: number | null }
}

export interface TelemetryOptions {
  link: { publish(kind: 'telemetry', fields: TelemetryFields): string; linkHealth(): LinkHealth; readonly journal: Journal }
  window: () => WindowReadings
  /** Every device of the board and its health now, healthy ones included (the device-health sink's snapshot). */
  devices: () => Record<string, DeviceHealth>
  log: Logger
  now?: () => number
  /** Millidegrees Celsius, as Linux thermal zones give it; null where the board has no sensor. */
  thermalPath?: string | null
}

/**
 * Periodic health on `telemetry` (QoS 0): what a technician looks at to see
 * whether a window is well before anyone complains. The period comes from the
 * window's settings, so `config` changes it without a restart (reschedule()).
 */
export class Telemetry {
  private timer: NodeJS.Timeout | null = null
  private readonly now: () => number
  private readonly startedAt: number
  private thermalPath: string | null
  private cpuMark = { usage: process.cpuUsage(), at: 0 }
  private periodS = 0

  constructor(private readonly opts: TelemetryOptions) {
    this.now = opts.now ?? Date.now
    this.startedAt = this.now()
    this.cpuMark.at = this.now()
    this.thermalPath = opts.thermalPath === undefined ? SOC_THERMAL_ZONE : opts.thermalPath
  }

  start(): void {
    this.reschedule()
  }

  /** Re-arms the timer if the configured period changed; a shorter period takes effect now, not after the old one. */
  reschedule(): void {
    const periodS = this.opts.window().telemetryPeriodS
    if (this.timer && periodS === this.periodS) return
    this.periodS = periodS
    if (this.timer) clearInterval(this.timer)
    this.timer = setInterval(() => void this.send(), periodS * 1000)
    this.timer.unref?.()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  async send(): Promise<void> {
    try {
      this.opts.link.publish('telemetry', await this.sample())
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not take a telemetry sample')
    }
  }

  async sample(): Promise<TelemetryFields> {
    const now = this.now()
    const window = this.opts.window()
    const journal = this.opts.link.journal
    const oldest = journal.oldest()
    const mem = process.memoryUsage()
    const rtt = this.opts.link.linkHealth().rttMs
    return {
      uptimeS: Math.max(0, Math.round((now - this.startedAt) / 1000)),
      rssBytes: mem.rss > 0 ? mem.rss : await rssFromStatus(),
      heapUsedBytes: mem.heapUsed,
      cpuPct: this.cpuPct(now),
      tempC: await this.temperature(),
      journal: { depth: journal.depth, oldestAgeMs: oldest ? Math.max(0, Math.round(now - oldest.at)) : null },
      rttMs: rtt === null ? null : Math.round(rtt * 100) / 100,
      devices: this.opts.devices(),
      ignoredPresses: window.ignoredPresses,
      ...(window.staffing ?? {}),
    }
  }

  private cpuPct(now: number): number | null {
    const usage = process.cpuUsage(this.cpuMark.usage)
    const elapsedMs = now - this.cpuMark.at
    this.cpuMark = { usage: process.cpuUsage(), at: now }
    if (elapsedMs <= 0) return null
    return Math.round(((usage.user + usage.system) / 1000 / elapsedMs) * 1000) / 10
  }

  private async temperature(): Promise<number | null> {
    if (!this.thermalPath) return null
    try {
      const milli = Number((await readFile(this.thermalPath, 'utf8')).trim())
      return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : null
    } catch (err) {
      // No sensor on this board (or a VM): stop looking rather than fail every period.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.thermalPath = null
      return null
    }
  }
}

/**
 * libuv reads the RSS from /proc/self/stat, which qemu-user (the ARM proof in
 * CI) fills with zeros; /proc/self/status's VmRSS is the process as the kernel
 * sees it. 0 only where neither says.
 */
async function rssFromStatus(): Promise<number> {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile('/proc/self/status', 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

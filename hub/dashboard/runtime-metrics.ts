import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { readdirSync } from 'node:fs'

export interface RuntimeSample {
  residentBytes: number
  cpuUserSeconds: number
  cpuSystemSeconds: number
  startTimeSeconds: number
  /** Open file descriptors; null where /proc is not there (not Linux). */
  openFds: number | null
  heapTotalBytes: number
  heapUsedBytes: number
  externalBytes: number
  activeResources: number
  eventLoopLagSeconds: number
  eventLoopLagP99Seconds: number
  nodeVersion: string
}

/**
 * The process and Node runtime figures prom-client's default collectors give,
 * under the same names, written here because the hub does not depend on
 * prom-client. The event loop delay is sampled by Node itself (perf_hooks)
 * between start() and stop().
 */
export class RuntimeMetrics {
  private delay: IntervalHistogram | null = null
  private readonly startTime = Date.now() / 1000 - process.uptime()

  start(): void {
    this.delay = monitorEventLoopDelay({ resolution: 20 })
    this.delay.enable()
  }

  stop(): void {
    this.delay?.disable()
    this.delay = null
  }

  sample(): RuntimeSample {
    const mem = process.memoryUsage()
    const cpu = process.cpuUsage()
    const d = this.delay
    // Delay figures are in nanoseconds; mean is NaN before the first sample.
    const mean = d && Number.isFinite(d.mean) ? d.mean / 1e9 : 0
    const p99 = d && d.count > 0 ? d.percentile(99) / 1e9 : 0
    return {
      residentBytes: mem.rss,
      cpuUserSeconds: cpu.user / 1e6,
      cpuSystemSeconds: cpu.system / 1e6,
      startTimeSeconds: Math.round(this.startTime),
      openFds: openFds(),
      heapTotalBytes: mem.heapTotal,
      heapUsedBytes: mem.heapUsed,
      externalBytes: mem.external,
      activeResources: process.getActiveResourcesInfo().length,
      eventLoopLagSeconds: mean,
      eventLoopLagP99Seconds: p99,
      nodeVersion: process.version,
    }
  }
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return null
  }
}

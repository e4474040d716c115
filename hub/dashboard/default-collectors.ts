import perfHooks, { type IntervalHistogram, type PerformanceObserver } from 'node:perf_hooks'
import { collectDefaultMetrics, type Registry } from 'prom-client'

/**
 * prom-client's default process and Node collectors (process_*, nodejs_*) in
 * one hub's registry, between start() and stop().
 *
 * Two of them sample for as long as the process lives: the event loop delay
 * monitor (a native timer every 10 ms) and the garbage collection observer,
 * and prom-client gives no handle to stop either. Several hubs run in one test
 * process and a hub may stop while its process goes on, so start() catches the
 * monitors those collectors create (their constructors, wrapped only for the
 * synchronous call to collectDefaultMetrics) and stop() ends them, then takes
 * the collectors' metrics out of the registry so a later start() can add them
 * again.
 */
export class DefaultCollectors {
  private monitors: IntervalHistogram[] = []
  private observers: PerformanceObserver[] = []
  private names: string[] = []

  constructor(private readonly registry: Registry) {}

  start(): void {
    if (this.names.length > 0) return
    const before = new Set(this.registry.getMetricsAsArray().map((m) => m.name))
    // prom-client reaches these through require('perf_hooks'), the very object imported here.
    const hooks = perfHooks as { monitorEventLoopDelay: typeof perfHooks.monitorEventLoopDelay; PerformanceObserver: typeof perfHooks.PerformanceObserver }
    const { monitorEventLoopDelay, PerformanceObserver: Observer } = hooks
    const monitors = this.monitors
    const observers = this.observers
    hooks.monitorEventLoopDelay = (options) => {
      const m = monitorEventLoopDelay(options)
      monitors.push(m)
      return m
    }
    hooks.PerformanceObserver = class extends Observer {
      constructor(callback: ConstructorParameters<typeof Observer>[0]) {
        super(callback)
        observers.push(this)
      }
    }
    try {
      collectDefaultMetrics({ register: this.registry })
    } finally {
      hooks.monitorEventLoopDelay = monitorEventLoopDelay
      hooks.PerformanceObserver = Observer
    }
    this.names = this.registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => !before.has(n))
  }

  stop(): void {
    for (const m of this.monitors) m.disable()
    for (const o of this.observers) o.disconnect()
    for (const n of this.names) this.registry.removeSingleMetric(n)
    this.monitors = []
    this.observers = []
    this.names = []
  }

  /** Monitors and observers running now (0 after stop()): what a test of stop() looks at. */
  get running(): number {
    return this.monitors.length + this.observers.length
  }
}

import type { SimGpio, PinChange } from './gpio.ts'

/** How a simulated camera or fingerprint scanner misbehaves (docs/hardware.md §4.4). */
export type CaptureFault = 'none' | 'never' | 'stuck' | 'early' | 'bounce'

export interface CaptureModelOptions {
  gpio: SimGpio
  kind: 'photo' | 'fingerprint'
  /** From the trigger's rising edge to `done`. */
  latencyMs?: number
  /** How long `done` stays active. */
  doneHoldMs?: number
}

/**
 * A capture device on two pins: it sees the trigger line rise and, after its
 * latency, raises `done` for a while. Faults make it never answer, hold
 * `done` forever, signal before it was asked, or bounce its `done` line.
 */
export class CaptureModel {
  fault: CaptureFault = 'none'
  /** Triggers seen: what a test asserts the runtime did on the wire. */
  triggers = 0
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly onChange = (c: PinChange) => {
    if (c.name === this.triggerLine && c.active) this.triggered()
  }

  constructor(private readonly opts: CaptureModelOptions) {
    opts.gpio.on('change', this.onChange)
  }

  private get triggerLine(): string {
    return `${this.opts.kind}-trigger`
  }

  private get doneLine(): string {
    return `${this.opts.kind}-done`
  }

  /** Sets a fault; 'early' and 'stuck' take effect on the pins at once. */
  setFault(fault: CaptureFault): void {
    this.fault = fault
    if (fault === 'early' || fault === 'stuck') this.opts.gpio.setActive(this.doneLine, true)
    if (fault === 'none') this.opts.gpio.setActive(this.doneLine, false)
  }

  private later(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      f()
    }, ms)
    this.timers.add(t)
  }

  private triggered(): void {
    this.triggers++
    if (this.fault === 'never' || this.fault === 'early') return
    const latency = this.opts.latencyMs ?? 120
    const hold = this.opts.doneHoldMs ?? 60
    this.later(latency, () => {
      this.opts.gpio.setActive(this.doneLine, true)
      if (this.fault === 'bounce') {
        this.later(1, () => this.opts.gpio.setActive(this.doneLine, false))
        this.later(2, () => this.opts.gpio.setActive(this.doneLine, true))
      }
      if (this.fault !== 'stuck') this.later(hold, () => this.opts.gpio.setActive(this.doneLine, false))
    })
  }

  stop(): void {
    this.opts.gpio.off('change', this.onChange)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}

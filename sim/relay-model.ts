/**
 * The NVR alarm relay as the NVR sees it (docs/hardware.md §4.4): a contact on a
 * simulated GPIO pin whose every transition is logged with its time, and a
 * sampler that reads the contact the way an NVR reads an alarm input, every
 * `periodMs`, so a closure shorter than the period can fall between two
 * samples and be missed, exactly as in the hall.
 */
import type { PinChange, SimGpio } from './gpio.ts'

export interface ContactChange {
  closed: boolean
  at: number
}

export interface Closure {
  from: number
  /** Undefined while still closed. */
  to: number | undefined
}

export interface RelayModelOptions {
  gpio: SimGpio
  /** The relay's pin, by line name ('nvr-relay'). */
  line: string
  /** 'NO': the contact closes while the coil is energised (default); 'NC': it opens. */
  contact?: 'NO' | 'NC'
}

export class RelayModel {
  readonly line: string
  readonly contact: 'NO' | 'NC'
  private readonly gpio: SimGpio
  private readonly log: ContactChange[] = []
  private readonly listener: (c: PinChange) => void

  constructor(opts: RelayModelOptions) {
    this.gpio = opts.gpio
    this.line = opts.line
    this.contact = opts.contact ?? 'NO'
    this.listener = (c) => {
      if (c.name === this.line) this.log.push({ closed: this.closedFor(c.active), at: c.at })
    }
    opts.gpio.on('change', this.listener)
  }

  /** Whether the contact is closed now. */
  get closed(): boolean {
    return this.closedFor(this.gpio.isActive(this.line))
  }

  /** Every contact transition so far, oldest first. */
  changes(): readonly ContactChange[] {
    return [...this.log]
  }

  /** The closures so far, with their start and end times. */
  closures(): Closure[] {
    const out: Closure[] = []
    for (const c of this.log) {
      if (c.closed) out.push({ from: c.at, to: undefined })
      else {
        const last = out[out.length - 1]
        if (last !== undefined && last.to === undefined) last.to = c.at
      }
    }
    return out
  }

  detach(): void {
    this.gpio.off('change', this.listener)
  }

  private closedFor(energised: boolean): boolean {
    return this.contact === 'NO' ? energised : !energised
  }
}

export interface NvrSamplerOptions {
  relay: RelayModel
  /** How often the NVR reads its alarm input. */
  periodMs: number
  /** When the first sample is taken after start(); default periodMs (samples are not aligned to anything). */
  phaseMs?: number
}

export interface NvrSample {
  closed: boolean
  at: number
}

/** An NVR alarm input: samples the contact on a timer and counts an alarm for each open → closed it sees. */
export class NvrSampler {
  readonly periodMs: number
  private readonly relay: RelayModel
  private readonly phaseMs: number
  private readonly sampleLog: NvrSample[] = []
  private readonly alarmLog: number[] = []
  private last = false
  private timer: NodeJS.Timeout | undefined
  private interval: NodeJS.Timeout | undefined

  constructor(opts: NvrSamplerOptions) {
    if (!(opts.periodMs > 0)) throw new RangeError(`an NVR samples with a period > 0 ms, got ${opts.periodMs}`)
    this.relay = opts.relay
    this.periodMs = opts.periodMs
    this.phaseMs = opts.phaseMs ?? opts.periodMs
  }

  start(): void {
    this.stop()
    this.last = this.relay.closed
    this.timer = setTimeout(() => {
      this.sample()
      this.interval = setInterval(() => this.sample(), this.periodMs)
    }, this.phaseMs)
  }

  stop(): void {
    clearTimeout(this.timer)
    clearInterval(this.interval)
    this.timer = this.interval = undefined
  }

  /** The times at which the NVR recorded an alarm (a sample closed after one open). */
  alarms(): readonly number[] {
    return [...this.alarmLog]
  }

  samples(): readonly NvrSample[] {
    return [...this.sampleLog]
  }

  private sample(): void {
    const closed = this.relay.closed
    const at = Date.now()
    this.sampleLog.push({ closed, at })
    if (closed && !this.last) this.alarmLog.push(at)
    this.last = closed
  }
}

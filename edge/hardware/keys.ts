/**
 * One push key on one GPIO line, debounced for votes (docs/hardware.md §6).
 *
 * Leading edge with lockout: the first edge counts at once, then the line is
 * ignored for `lockoutMs`; at the end of the lockout the last level seen is
 * applied, so a tap shorter than the lockout is never lost (onoff's trailing
 * debounce and johnny-five's 7 ms debounce both lose such taps).
 *
 * Guards against keys that lie:
 * - arm on release: a key already down at start emits nothing until released;
 * - stuck: held longer than `stuckMs` raises fault 'stuck'; the release clears
 *   it without counting as a press;
 * - chatter: more than `chatterEdges` raw edges within `chatterWindowMs`
 *   (floating input, missing pull-up, EMI) raises fault 'chatter' and mutes
 *   the key until it has been quiet for `chatterQuietMs`;
 * - missed edges: the line is re-read every `reconcileMs`.
 *
 * Faults go to the device-health sink under the key's device name. The
 * sink's null clears every fault of a device, so a key reports null only once
 * its last fault has cleared. As the guards work, a key holds one fault at a
 * time (the release that ends 'stuck' is the first edge of any chatter burst,
 * and a chattering key arms no stuck timer); should it ever hold both, both
 * stay listed until both are over, because a key that still lies must not
 * look healthy.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { GpioLine, Level } from './gpio-port.ts'
import type { DeviceHealthSink } from '../devices/device-health.ts'

/** 'io': the line cannot be read (a Firmata board unplugged, a sysfs file gone). */
export type KeyFaultCode = 'stuck' | 'chatter' | 'io'

export interface KeyPress {
  key: string
  at: number
}
export interface KeyRelease {
  key: string
  at: number
  heldMs: number
}
export interface KeyInputEvents {
  press: [KeyPress]
  release: [KeyRelease]
}

export interface KeyInputOptions {
  key: string
  /** The name its health is reported under ('key-<score>', 'officer-<key>'). */
  device: string
  health: DeviceHealthSink
  line: GpioLine
  now: () => number
  lockoutMs?: number
  stuckMs?: number
  chatterEdges?: number
  chatterWindowMs?: number
  chatterQuietMs?: number
  /** 0 turns the periodic re-read off. */
  reconcileMs?: number
  log?: Logger
}

export const KEY_DEFAULTS = {
  lockoutMs: 40,
  stuckMs: 15_000,
  chatterEdges: 20,
  chatterWindowMs: 1_000,
  chatterQuietMs: 2_000,
  reconcileMs: 1_000,
} as const

export class KeyInput extends EventEmitter<KeyInputEvents> {
  readonly key: string
  readonly device: string
  private readonly health: DeviceHealthSink
  private readonly line: GpioLine
  private readonly now: () => number
  private readonly opts: Required<Omit<KeyInputOptions, 'key' | 'device' | 'health' | 'line' | 'now' | 'log'>>
  private readonly log: Logger | undefined

  private raw: Level = 0
  private level: Level = 0
  private armed = false
  private pressedAt = 0
  private pressEmitted = false
  private lockedUntil = -Infinity
  private readonly activeFaults = new Set<KeyFaultCode>()
  private edges: number[] = []
  private lastEdge = -Infinity
  private raised = 0
  private running = false
  private unwatch: (() => void) | undefined
  private lockoutTimer: NodeJS.Timeout | undefined
  private stuckTimer: NodeJS.Timeout | undefined
  private quietTimer: NodeJS.Timeout | undefined
  private reconcileTimer: NodeJS.Timeout | undefined

  constructor(opts: KeyInputOptions) {
    super()
    this.key = opts.key
    this.device = opts.device
    this.health = opts.health
    this.health.register(opts.device)
    this.line = opts.line
    this.now = opts.now
    this.log = opts.log
    this.opts = {
      lockoutMs: opts.lockoutMs ?? KEY_DEFAULTS.lockoutMs,
      stuckMs: opts.stuckMs ?? KEY_DEFAULTS.stuckMs,
      chatterEdges: opts.chatterEdges ?? KEY_DEFAULTS.chatterEdges,
      chatterWindowMs: opts.chatterWindowMs ?? KEY_DEFAULTS.chatterWindowMs,
      chatterQuietMs: opts.chatterQuietMs ?? KEY_DEFAULTS.chatterQuietMs,
      reconcileMs: opts.reconcileMs ?? KEY_DEFAULTS.reconcileMs,
    }
  }

  /** Debounced state: true while the key is held (whether or not that counted as a press). */
  get isDown(): boolean {
    return this.level === 1
  }

  /** The raw line, debounced or not: a key muted for chatter keeps following it here. */
  get lineDown(): boolean {
    return this.raw === 1
  }

  get faults(): readonly KeyFaultCode[] {
    return [...this.activeFaults]
  }

  /** When the raw line last changed, muted or not: a press is only decided once its key has been still (edge/devices/evaluator.ts). */
  get lastEdgeAt(): number {
    return this.lastEdge
  }

  /** How many faults this key has raised so far: a press is void if its key raised one while it was being decided, even one cleared since. */
  get faultsRaised(): number {
    return this.raised
  }

  async start(): Promise<void> {
    if (this.running) return
    const initial = await this.line.read()
    this.running = true
    this.raw = initial
    this.level = initial
    this.armed = initial === 0
    this.pressEmitted = false
    if (initial === 1) {
      this.pressedAt = this.now()
      this.log?.info({ key: this.key }, 'key is down at start; ignored until released')
      this.armStuckTimer()
    }
    this.unwatch = this.line.watch((v) => this.onEdge(v, this.now()))
    if (this.opts.reconcileMs > 0) {
      this.reconcileTimer = setInterval(() => this.reconcile(), this.opts.reconcileMs)
    }
  }

  stop(): void {
    this.running = false
    this.unwatch?.()
    this.unwatch = undefined
    for (const t of [this.lockoutTimer, this.stuckTimer, this.quietTimer]) clearTimeout(t)
    clearInterval(this.reconcileTimer)
    this.lockoutTimer = this.stuckTimer = this.quietTimer = this.reconcileTimer = undefined
  }

  private onEdge(v: Level, at: number): void {
    if (!this.running) return
    this.raw = v
    this.lastEdge = at
    if (this.countEdge(at)) return
    if (at < this.lockedUntil) return // settle() applies the last level when the lockout ends
    this.apply(v, at)
  }

  /** Records a raw edge; returns true when the key is (now) muted for chatter. */
  private countEdge(at: number): boolean {
    const since = at - this.opts.chatterWindowMs
    this.edges.push(at)
    while (this.edges.length > 0 && (this.edges[0] ?? at) <= since) this.edges.shift()
    if (this.activeFaults.has('chatter')) {
      this.armQuietTimer()
      return true
    }
    if (this.edges.length <= this.opts.chatterEdges) return false
    // The press that started this burst was probably noise too; no release will follow it.
    this.pressEmitted = false
    clearTimeout(this.stuckTimer)
    clearTimeout(this.lockoutTimer)
    this.log?.warn({ key: this.key, edges: this.edges.length }, 'key chatters; muted')
    this.raise('chatter', `key "${this.key}" chatters (${this.edges.length} edges within ${this.opts.chatterWindowMs} ms); muted`)
    this.armQuietTimer()
    return true
  }

  private apply(v: Level, at: number): void {
    if (v === this.level) return
    this.level = v
    this.lockedUntil = at + this.opts.lockoutMs
    clearTimeout(this.lockoutTimer)
    this.lockoutTimer = setTimeout(() => this.settle(), this.opts.lockoutMs)
    if (v === 1) {
      this.pressedAt = at
      this.armStuckTimer()
      this.pressEmitted = this.armed && this.activeFaults.size === 0
      if (this.pressEmitted) this.emit('press', { key: this.key, at })
      return
    }
    clearTimeout(this.stuckTimer)
    if (this.activeFaults.has('stuck')) {
      this.log?.info({ key: this.key }, 'stuck key released')
      this.clear('stuck')
    }
    if (this.pressEmitted) this.emit('release', { key: this.key, at, heldMs: at - this.pressedAt })
    this.pressEmitted = false
    this.armed = true
  }

  private settle(): void {
    this.lockoutTimer = undefined
    if (!this.running || this.activeFaults.has('chatter')) return
    if (this.raw !== this.level) this.apply(this.raw, this.now())
  }

  private armStuckTimer(): void {
    clearTimeout(this.stuckTimer)
    this.stuckTimer = setTimeout(() => {
      this.stuckTimer = undefined
      if (!this.running || this.level !== 1 || this.activeFaults.has('stuck')) return
      const heldMs = this.now() - this.pressedAt
      this.log?.warn({ key: this.key, heldMs }, 'key stuck')
      this.raise('stuck', `key "${this.key}" held down for ${heldMs} ms`)
    }, this.opts.stuckMs)
  }

  private armQuietTimer(): void {
    clearTimeout(this.quietTimer)
    this.quietTimer = setTimeout(() => this.clearChatter(), this.opts.chatterQuietMs)
  }

  private clearChatter(): void {
    this.quietTimer = undefined
    if (!this.running) return
    const at = this.now()
    this.edges = []
    this.clear('chatter')
    // Resume from the level the line settled at, as after a start: a key that
    // is down now has to be released before it can count.
    this.level = this.raw
    this.lockedUntil = -Infinity
    if (this.raw === 1) {
      this.armed = false
      this.pressedAt = at
      this.armStuckTimer()
    } else {
      this.armed = true
      this.clear('stuck')
    }
  }

  private raise(code: KeyFaultCode, message: string): void {
    this.raised++
    this.activeFaults.add(code)
    this.health.report(this.device, { code, message })
  }

  /** Healthy again only once no fault is left (see the header). */
  private clear(code: KeyFaultCode): void {
    if (!this.activeFaults.delete(code)) return
    if (this.activeFaults.size === 0) this.health.report(this.device, null)
  }

  private reconcile(): void {
    this.line.read().then(
      (v) => {
        if (!this.running) return
        this.clear('io')
        if (v !== this.raw) {
          this.log?.debug({ key: this.key, level: v }, 'missed edge found by re-read')
          this.onEdge(v, this.now())
        }
      },
      (err: unknown) => {
        this.log?.warn({ key: this.key, err }, 'key re-read failed')
        if (this.running && !this.activeFaults.has('io')) this.raise('io', `${this.device}: the line cannot be read: ${(err as Error).message ?? String(err)}`)
      },
    )
  }
}

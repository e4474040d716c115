/**
 * One push key on one GPIO line, debounced for votes (hardware.md §6).
 *
 * Leading edge with lockout: the first edge counts at once, then the line is
 * ignored for `lockoutMs`; at the end of the lockout the last level seen is
 * applied, so a tap shorter than the lockout is never lost (onoff's trailing
 * debounce and johnny-five's 7 ms debounce both lose such taps).
 *
 * Guards against keys that lie:
 * - arm on release: a key already down at start emits nothing until released;
 * - stuck: held longer than `stuckMs` raises fault 'stuck'; the release clears
 *   it ('fault-cleared') without counting as a press;
 * - chatter: more than `chatterEdges` raw edges within `chatterWindowMs`
 *   (floating input, missing pull-up, EMI) raises fault 'chatter' and mutes
 *   the key until it has been quiet for `chatterQuietMs`;
 * - missed edges: the line is re-read every `reconcileMs`.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { GpioLine, Level } from './gpio-port.ts'

export type KeyFaultCode = 'stuck' | 'chatter'

export interface KeyPress {
  key: string
  at: number
}
export interface KeyRelease {
  key: string
  at: number
  heldMs: number
}
export interface KeyFault {
  key: string
  code: KeyFaultCode
  at: number
}

export interface KeyInputEvents {
  press: [KeyPress]
  release: [KeyRelease]
  fault: [KeyFault]
  'fault-cleared': [KeyFault]
}

export interface KeyInputOptions {
  key: string
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
  private readonly line: GpioLine
  private readonly now: () => number
  private readonly opts: Required<Omit<KeyInputOptions, 'key' | 'line' | 'now' | 'log'>>
  private readonly log: Logger | undefined

  private raw: Level = 0
  private level: Level = 0
  private armed = false
  private pressedAt = 0
  private pressEmitted = false
  private lockedUntil = -Infinity
  private readonly activeFaults = new Set<KeyFaultCode>()
  private edges: number[] = []
  private running = false
  private unwatch: (() => void) | undefined
  private lockoutTimer: NodeJS.Timeout | undefined
  private stuckTimer: NodeJS.Timeout | undefined
  private quietTimer: NodeJS.Timeout | undefined
  private reconcileTimer: NodeJS.Timeout | undefined

  constructor(opts: KeyInputOptions) {
    super()
    this.key = opts.key
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

  get faults(): readonly KeyFaultCode[] {
    return [...this.activeFaults]
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
    this.activeFaults.add('chatter')
    // The press that started this burst was probably noise too; no release will follow it.
    this.pressEmitted = false
    clearTimeout(this.stuckTimer)
    clearTimeout(this.lockoutTimer)
    this.log?.warn({ key: this.key, edges: this.edges.length }, 'key chatters; muted')
    this.emit('fault', { key: this.key, code: 'chatter', at })
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
    if (this.activeFaults.delete('stuck')) {
      this.log?.info({ key: this.key }, 'stuck key released')
      this.emit('fault-cleared', { key: this.key, code: 'stuck', at })
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
      this.activeFaults.add('stuck')
      this.log?.warn({ key: this.key, heldMs: this.now() - this.pressedAt }, 'key stuck')
      this.emit('fault', { key: this.key, code: 'stuck', at: this.now() })
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
    this.activeFaults.delete('chatter')
    this.edges = []
    this.emit('fault-cleared', { key: this.key, code: 'chatter', at })
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
      if (this.activeFaults.delete('stuck')) this.emit('fault-cleared', { key: this.key, code: 'stuck', at })
    }
  }

  private reconcile(): void {
    this.line.read().then(
      (v) => {
        if (this.running && v !== this.raw) {
          this.log?.debug({ key: this.key, level: v }, 'missed edge found by re-read')
          this.onEdge(v, this.now())
        }
      },
      (err: unknown) => this.log?.warn({ key: this.key, err }, 'key re-read failed'),
    )
  }
}

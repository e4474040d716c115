/**
 * The satisfaction evaluator: three (or five) keys in front of the window and
 * the lamp that says an evaluation is open.
 *
 * A rating must come from one deliberate press, so a press is held back
 * until it is decided: at least `ambiguityMs`, and until its key's raw line
 * has been still for `settleMs`. If another key goes down in that time, or
 * was already down, both are rejected as ambiguous instead of guessing which
 * one the applicant meant. A key that raises a fault while its press is held
 * (a chatter burst), or will not be still within `maxSettleMs` of the press,
 * gives no rating. So a burst whose edges come closer together than
 * `settleMs` (however much slower than the 40 ms key lockout) is never a
 * rating: it is decided only after its last edge, by when the key has
 * already reported the chatter if the burst was one. The press is reported
 * with its own time, so a rating is judged by when the applicant pressed,
 * not by when it was decided. Whether a press counts (one vote per service,
 * only while open) is the counter's decision, not this device's; it reports
 * every press.
 *
 * Each key and the lamp report their own health (key-<score>,
 * evaluator-lamp) to the sink they were built with; nothing passes through here.
 */
import type { Logger } from 'pino'
import type { Score } from '../../boards/profile-schema.ts'
import type { KeyFaultCode, KeyInput } from '../hardware/keys.ts'
import type { Lamp } from '../hardware/output.ts'

export interface EvaluatorKeysOptions {
  keys: Partial<Record<Score, KeyInput>>
  lamp?: Lamp
  /** A monotonic clock (the keys' own): press times are compared with the window's evaluation on it. */
  now: () => number
  /** How long a press waits for a second key before it counts; default 40 ms (one key lockout). */
  ambiguityMs?: number
  /** How long the pressed key's line must be still before the press is decided; default EVALUATOR_SETTLE_MS. */
  settleMs?: number
  /** A press whose key is not still by this long after it is no rating; default EVALUATOR_MAX_SETTLE_MS. */
  maxSettleMs?: number
  log?: Logger
}

/**
 * Longer than any edge gap of a chatter burst the keys detect (more than 20
 * edges within 1 s: on average under 50 ms apart) and than a press's contact
 * bounce; short enough that a tap (about 100 ms down) is decided within a
 * quarter of a second.
 */
export const EVALUATOR_SETTLE_MS = 120
/** The keys' chatter window: a key still changing a second after the press is not a deliberate press. */
export const EVALUATOR_MAX_SETTLE_MS = 1_000

type PressListener = (score: Score, at: number) => void
type AmbiguousListener = (scores: Score[], at: number) => void

interface Pending {
  scores: Score[]
  at: number
  /** The pressed key's fault count at the press: any fault raised while the press is held voids it. */
  faultsAtPress: number
  timer: NodeJS.Timeout
  decided: () => void
  whenDecided: Promise<void>
}

export class EvaluatorKeys {
  private readonly keys: ReadonlyArray<readonly [Score, KeyInput]>
  private readonly lamp: Lamp | undefined
  private readonly now: () => number
  private readonly ambiguityMs: number
  private readonly settleMs: number
  private readonly maxSettleMs: number
  private readonly log: Logger | undefined
  private readonly pressListeners = new Set<PressListener>()
  private readonly ambiguousListeners = new Set<AmbiguousListener>()
  private readonly detach: Array<() => void> = []
  private pending: Pending | undefined
  private open = false

  constructor(opts: EvaluatorKeysOptions) {
    this.keys = Object.entries(opts.keys).filter((e): e is [Score, KeyInput] => e[1] !== undefined)
    if (this.keys.length < 2) throw new Error('an evaluator needs at least two keys')
    this.lamp = opts.lamp
    this.now = opts.now
    this.ambiguityMs = opts.ambiguityMs ?? 40
    this.settleMs = opts.settleMs ?? EVALUATOR_SETTLE_MS
    this.maxSettleMs = opts.maxSettleMs ?? EVALUATOR_MAX_SETTLE_MS
    this.log = opts.log
  }

  get scores(): Score[] {
    return this.keys.map(([score]) => score)
  }

  get isOpen(): boolean {
    return this.open
  }

  /** Keys currently in fault (stuck, chatter), for the window's state. */
  faults(): Array<{ score: Score; code: KeyFaultCode }> {
    return this.keys.flatMap(([score, key]) => key.faults.map((code) => ({ score, code })))
  }

  async start(): Promise<void> {
    for (const [score, key] of this.keys) {
      const onPress = (p: { at: number }) => this.onKeyPress(score, p.at)
      key.on('press', onPress)
      this.detach.push(() => key.off('press', onPress))
      await key.start()
    }
  }

  /** Lamp on while an evaluation is open. */
  async setOpen(open: boolean): Promise<void> {
    this.open = open
    if (this.lamp === undefined) return
    await (open ? this.lamp.on() : this.lamp.off())
  }

  onPress(cb: PressListener): () => void {
    return subscribe(this.pressListeners, cb)
  }

  onAmbiguous(cb: AmbiguousListener): () => void {
    return subscribe(this.ambiguousListeners, cb)
  }

  /**
   * While a press is being decided: resolves once it has been (its listeners
   * already called). The window waits on it before closing an evaluation on
   * time, so a press made before the close is not lost to its own settling.
   */
  deciding(): Promise<void> | null {
    return this.pending?.whenDecided ?? null
  }

  async stop(): Promise<void> {
    const pending = this.pending
    if (pending !== undefined) {
      clearTimeout(pending.timer)
      pending.decided()
    }
    this.pending = undefined
    for (const off of this.detach.splice(0)) off()
    for (const [, key] of this.keys) key.stop()
    if (this.lamp !== undefined) {
      try {
        await this.lamp.off()
      } catch (err) {
        this.log?.warn({ err }, 'evaluator lamp did not go off on stop')
      }
    }
  }

  private onKeyPress(score: Score, at: number): void {
    if (this.pending !== undefined) {
      if (!this.pending.scores.includes(score)) this.pending.scores.push(score)
      return
    }
    const others = this.othersDown(score)
    if (others.length > 0) {
      this.rejectAmbiguous([...others, score], at)
      return
    }
    const own = this.keyOf(score)
    let decided = () => {}
    const whenDecided = new Promise<void>((r) => (decided = r))
    const timer = setTimeout(() => this.resolvePending(), this.ambiguityMs)
    this.pending = { scores: [score], at, faultsAtPress: own?.faultsRaised ?? 0, timer, decided, whenDecided }
  }

  private keyOf(score: Score): KeyInput | undefined {
    return this.keys.find(([s]) => s === score)?.[1]
  }

  private resolvePending(): void {
    const pending = this.pending
    if (pending === undefined) return
    const [first] = pending.scores
    const own = first === undefined ? undefined : this.keyOf(first)
    const now = this.now()
    // Not decided while the pressed key's line still moves: a burst slower than the lockout is still a burst.
    if (own !== undefined && own.faultsRaised === pending.faultsAtPress && now - own.lastEdgeAt < this.settleMs && now - pending.at < this.maxSettleMs) {
      const wait = Math.min(own.lastEdgeAt + this.settleMs, pending.at + this.maxSettleMs) - now
      pending.timer = setTimeout(() => this.resolvePending(), Math.max(1, wait))
      return
    }
    this.pending = undefined
    try {
      this.decide(pending, first, own, now)
    } finally {
      pending.decided()
    }
  }

  private decide(pending: Pending, first: Score | undefined, own: KeyInput | undefined, now: number): void {
    if (first === undefined) return
    // The press that began a chatter burst is noise: the key raised its fault while the press was held, so it is never a rating.
    if (own !== undefined && (own.faults.length > 0 || own.faultsRaised !== pending.faultsAtPress)) {
      this.log?.info({ score: first, faults: own.faults }, 'press from a key that faulted; no rating taken')
      for (const cb of [...this.ambiguousListeners]) cb([first], pending.at)
      return
    }
    if (own !== undefined && now - own.lastEdgeAt < this.settleMs) {
      this.log?.info({ score: first, heldMs: now - pending.at }, 'key did not settle after the press; no rating taken')
      for (const cb of [...this.ambiguousListeners]) cb([first], pending.at)
      return
    }
    // A second key that went down unarmed emits no press but is down all the same.
    const down = new Set([...pending.scores, ...this.othersDown(first)])
    if (down.size > 1) {
      this.rejectAmbiguous([...down], pending.at)
      return
    }
    for (const cb of [...this.pressListeners]) cb(first, pending.at)
  }

  /**
   * Other keys held down now. A stuck key does not count, or it would block
   * every vote; a key muted for chatter still does, by its raw line: muting
   * stops it from voting, not from showing that a hand is on it.
   */
  private othersDown(score: Score): Score[] {
    return this.keys
      .filter(([s, key]) => s !== score && !key.faults.includes('stuck') && (key.faults.includes('chatter') ? key.lineDown || key.isDown : key.isDown))
      .map(([s]) => s)
  }

  private rejectAmbiguous(scores: Score[], at: number): void {
    this.log?.info({ scores, at, decidedAt: this.now() }, 'several evaluator keys at once; no rating taken')
    for (const cb of [...this.ambiguousListeners]) cb(scores, at)
  }
}

function subscribe<T>(set: Set<T>, cb: T): () => void {
  set.add(cb)
  return () => set.delete(cb)
}

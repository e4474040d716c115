/**
 * The satisfaction evaluator: three (or five) keys in front of the window and
 * the lamp that says an evaluation is open.
 *
 * A rating must come from one deliberate press, so a press is held back for
 * `ambiguityMs` before it is reported: if another key goes down in that time,
 * or was already down, both are rejected as ambiguous instead of guessing
 * which one the applicant meant. Whether a press counts (one vote per service,
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
  now: () => number
  /** How long a press waits for a second key before it counts; default 40 ms (one key lockout). */
  ambiguityMs?: number
  log?: Logger
}

type PressListener = (score: Score, at: number) => void
type AmbiguousListener = (scores: Score[], at: number) => void

interface Pending {
  scores: Score[]
  at: number
  timer: NodeJS.Timeout
}

export class EvaluatorKeys {
  private readonly keys: ReadonlyArray<readonly [Score, KeyInput]>
  private readonly lamp: Lamp | undefined
  private readonly now: () => number
  private readonly ambiguityMs: number
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

  async stop(): Promise<void> {
    if (this.pending !== undefined) clearTimeout(this.pending.timer)
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
    const timer = setTimeout(() => this.resolvePending(), this.ambiguityMs)
    this.pending = { scores: [score], at, timer }
  }

  private resolvePending(): void {
    const pending = this.pending
    this.pending = undefined
    if (pending === undefined) return
    const [first] = pending.scores
    if (first === undefined) return
    // The press that began a chatter burst is noise: the key reported its fault within the hold, so it is never a rating.
    const own = this.keys.find(([s]) => s === first)?.[1]
    if (own !== undefined && own.faults.length > 0) {
      this.log?.info({ score: first, faults: own.faults }, 'press from a key in fault; no rating taken')
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

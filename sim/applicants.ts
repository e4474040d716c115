import type { EvaluationScore } from '../edge/protocol/index.ts'
import type { SimWindow } from './sim-window.ts'

/** How applicants in a real hall rate: mostly satisfied, some leave without pressing. */
const CHOICES: Array<{ score: EvaluationScore | null; p: number }> = [
  { score: 'satisfied', p: 0.8 },
  { score: 'neutral', p: 0.1 },
  { score: 'dissatisfied', p: 0.04 },
  { score: null, p: 0.06 },
]

/**
 * Simulated applicants: when a window's evaluator opens, the applicant in front
 * of it presses a key on the simulated hardware after a moment's thought, so
 * ratings travel the whole real path: GPIO → key driver → counter → link → hub → central.
 */
export class Applicants {
  private timer: NodeJS.Timeout | null = null
  private readonly pending = new Map<string, NodeJS.Timeout>()

  constructor(
    /** Read afresh on every look: windows may be added while the hall runs. */
    private readonly windows: Map<string, SimWindow>,
    private readonly opts: { thinkMs: [number, number]; random?: () => number },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.look(), 200)
  }

  private look(): void {
    const rnd = this.opts.random ?? Math.random
    for (const w of this.windows.values()) {
      const s = w.running?.window.current
      const key = s?.mode === 'evaluating' ? `${w.counter}:${s.evaluation?.ticket}` : null
      if (!key || this.pending.has(key)) continue
      let r = rnd()
      const choice = CHOICES.find((c) => (r -= c.p) < 0) ?? CHOICES[0]!
      const [lo, hi] = this.opts.thinkMs
      const t = setTimeout(() => {
        const key = w.keyNames().find((k) => k === choice.score)
        if (key) void w.hardware.press(key)
      }, lo + rnd() * (hi - lo))
      this.pending.set(key, t)
      // Forget old entries so the map stays small over a long run.
      if (this.pending.size > 500) {
        const first = this.pending.keys().next().value
        if (first) this.pending.delete(first)
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    for (const t of this.pending.values()) clearTimeout(t)
    this.pending.clear()
  }
}

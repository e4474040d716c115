/**
 * Keeps windows busy the way a hall does, only faster: each window is served
 * in a loop — call (measured: central publish → ticket in display RAM),
 * start, finish, the applicant presses a key (measured: press → event/evaluated
 * at central) — with a jittered pause between steps. Every window runs its own
 * loop, so load grows with the number of windows.
 */
import type { BoardHandle } from './board-handle.ts'
import { ticketFor } from './board-handle.ts'
import type { CentralClient } from './central.ts'
import type { HubTap } from './hub-tap.ts'
import { sleep } from './stats.ts'
import { epochNow } from './clock.ts'

export interface ServiceOptions {
  /** Mean pause between the steps of one window's cycle (jittered ×0.5–1.5); a cycle is about four of them. */
  gapMs: number
  timeoutMs?: number
  /** Splits the press latency at the hub (single-hall runs). */
  tap?: HubTap
}

export interface ServiceSamples {
  call: number[]
  press: number[]
  /** Press → the hub routed event/evaluated (after its custody fsync), when a tap is set. */
  pressToHub: number[]
  /** Cycles completed while measuring. */
  cycles: number
  /** Steps that timed out or were refused while measuring (the window is then brought back to idle). */
  errors: number
  firstErrors: string[]
}

export class ServiceDriver {
  private running = false
  private measuring = false
  private loops: Promise<void>[] = []
  private samples: ServiceSamples = emptySamples()
  private ticket = 0

  constructor(
    private readonly central: CentralClient,
    private readonly opts: ServiceOptions,
  ) {}

  /** Signs an officer in on every window (a call needs an open window); resolves when all have replied. */
  async open(boards: BoardHandle[], concurrency = 32): Promise<void> {
    let next = 0
    await Promise.all(
      Array.from({ length: Math.min(concurrency, boards.length) }, async () => {
        while (next < boards.length) {
          const b = boards[next++]!
          const r = await this.central.request(b.hall, b.counter, 'officer', { action: 'sign-in', officer: `officer-${b.counter}` }, 60_000)
          if (!r.ok && r.code !== 'wrong-mode') throw new Error(`${b.counter}: sign-in refused: ${r.code} ${r.message}`)
        }
      }),
    )
  }

  /** Starts a loop per window, staggered over one cycle so they do not march in step. */
  start(boards: BoardHandle[]): void {
    this.running = true
    const cycle = this.opts.gapMs * 4
    this.loops.push(...boards.map((b) => sleep(Math.random() * cycle).then(() => this.loop(b))))
  }

  startMeasuring(): void {
    this.samples = emptySamples()
    this.measuring = true
  }

  /** Call samples gathered so far in this measurement. */
  get callCount(): number {
    return this.samples.call.length
  }

  stopMeasuring(): ServiceSamples {
    this.measuring = false
    return this.samples
  }

  /** Lets every loop finish the step it is in; windows are left idle. */
  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
    this.loops = []
  }

  private gap(): Promise<void> {
    return sleep(this.opts.gapMs * (0.5 + Math.random()))
  }

  private async loop(b: BoardHandle): Promise<void> {
    const timeout = this.opts.timeoutMs ?? 15_000
    while (this.running) {
      try {
        await this.cycle(b, timeout)
        if (this.measuring) this.samples.cycles++
      } catch (err) {
        if (this.measuring) {
          this.samples.errors++
          if (this.samples.firstErrors.length < 5) this.samples.firstErrors.push((err as Error).message)
        }
        await this.recover(b).catch(() => sleep(1000))
      }
    }
  }

  private async cycle(b: BoardHandle, timeout: number): Promise<void> {
    const ticket = ticketFor(this.ticket++)
    const measured = this.measuring
    // The expectation goes first in this process; over IPC it may land after the display changed, which notBefore covers.
    const sentAt = epochNow()
    const shown = b.expectDisplay(ticket, timeout, sentAt)
    const { t0 } = this.central.send(b.hall, b.counter, 'call', { ticket, service: 'passport' })
    const t1 = await shown
    if (measured && this.measuring) this.samples.call.push(t1 - t0)
    await this.gap()
    await this.step(b, 'start', {}, timeout)
    await this.gap()
    await this.step(b, 'finish', { outcome: 'served' }, timeout)
    await this.gap()
    const rated = this.central.expectEvaluated(b.hall, b.counter, timeout)
    const atHub = this.opts.tap?.expect(b.counter)
    const pressMeasured = this.measuring
    const p0 = await b.press('satisfied')
    const p1 = await rated
    if (pressMeasured && this.measuring) {
      this.samples.press.push(p1 - p0)
      const th = atHub ? await Promise.race([atHub, sleep(1000).then(() => null)]) : null
      if (th !== null) this.samples.pressToHub.push(th - p0)
    }
    await this.gap()
  }

  private async step(b: BoardHandle, name: string, args: Record<string, unknown>, timeout: number): Promise<void> {
    const r = await this.central.request(b.hall, b.counter, name, args, timeout)
    if (!r.ok) throw new Error(`${b.counter}: ${name} refused: ${r.code} ${r.message}`)
  }

  /** Brings a window whose cycle broke off back to idle, from whatever mode it is in. */
  private async recover(b: BoardHandle): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const mode = await b.mode()
      if (mode === 'idle') return
      if (mode === 'calling') await this.central.request(b.hall, b.counter, 'no-show', {})
      else if (mode === 'serving') await this.central.request(b.hall, b.counter, 'finish', { outcome: 'abandoned' })
      else if (mode === 'evaluating') {
        await b.press('neutral')
        await sleep(500)
      } else if (mode === 'closed') await this.central.request(b.hall, b.counter, 'officer', { action: 'sign-in', officer: `officer-${b.counter}` })
      else await sleep(500)
    }
  }
}

function emptySamples(): ServiceSamples {
  return { call: [], press: [], pressToHub: [], cycles: 0, errors: 0, firstErrors: [] }
}

/**
 * Simulated windows in this process, each the real edge runtime on simulated
 * buses, with an observer on the display chip: the HT16K33 model's write path
 * is wrapped (here, in the bench, not in the model) so the instant the RAM
 * shows a ticket is known to the microsecond, without polling.
 */
import { pino, type Logger } from 'pino'
import type { BoardProfile } from '../../../boards/profile-schema.ts'
import { SimWindow } from '../../../sim/sim-window.ts'
import type { Ht16k33Model } from '../../../sim/ht16k33-model.ts'
import type { BoardHandle } from './board-handle.ts'
import { epochNow } from './clock.ts'

/**
 * Boards log at info, as shipped, into /dev/null asynchronously: the cost of
 * formatting each line stays in the figures, the terminal stays quiet.
 */
export function benchBoardLogger(): Logger {
  return pino({ level: process.env.BENCH_BOARD_LOG_LEVEL ?? 'info' }, pino.destination({ dest: '/dev/null', sync: false }))
}

interface Expectation {
  text: string
  notBefore: number
  resolve: (t: number) => void
  timer: NodeJS.Timeout
}

export class InProcessBoard implements BoardHandle {
  readonly sim: SimWindow
  private expectation: Expectation | null = null
  /** What the display last changed to, and when: an expectation registered late (over IPC) still finds it. */
  private shown: { text: string; t: number } = { text: '', t: 0 }

  constructor(
    readonly hall: string,
    readonly counter: string,
    opts: { profile: BoardProfile; hubPort: number; username: string; password: string; log: Logger },
  ) {
    this.sim = new SimWindow({
      hall,
      counter,
      profile: opts.profile,
      hub: [{ host: '127.0.0.1', port: opts.hubPort }],
      username: opts.username,
      password: opts.password,
      log: opts.log,
    })
    const model = this.sim.hardware.ht16k33
    if (!model) throw new Error(`the bench observes HT16K33 displays; profile ${opts.profile.id} has ${opts.profile.display.driver}`)
    observeWrites(model, () => this.check(model))
  }

  async start(): Promise<void> {
    await this.sim.start()
  }

  get online(): boolean {
    return this.sim.running?.link.connected ?? false
  }

  expectDisplay(text: string, timeoutMs: number, notBefore = 0): Promise<number> {
    if (this.shown.text === text && this.shown.t >= notBefore && notBefore > 0) return Promise.resolve(this.shown.t)
    return new Promise((resolve, reject) => {
      if (this.expectation) clearTimeout(this.expectation.timer)
      const timer = setTimeout(() => {
        this.expectation = null
        reject(new Error(`${this.counter}: display did not show ${text} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.expectation = { text, notBefore, resolve, timer }
    })
  }

  async press(score: 'satisfied' | 'neutral' | 'dissatisfied'): Promise<number> {
    const t = epochNow()
    void this.sim.hardware.press(score)
    return t
  }

  async mode(): Promise<string | null> {
    return this.sim.running?.window.current.mode ?? null
  }

  async stop(): Promise<void> {
    await this.sim.shutdown()
  }

  private check(model: Ht16k33Model): void {
    const t = epochNow()
    const v = model.view()
    const text = v.lit ? v.text : ''
    if (text !== this.shown.text) this.shown = { text, t }
    const e = this.expectation
    if (!e) return
    if (text === e.text) {
      clearTimeout(e.timer)
      this.expectation = null
      e.resolve(t)
    }
  }
}

/** Calls `after` once each I2C write has landed in the chip's RAM or registers. */
export function observeWrites(model: Ht16k33Model, after: () => void): void {
  const write = model.write.bind(model)
  model.write = (bytes: Uint8Array) => {
    write(bytes)
    after()
  }
}

/** Starts boards a few at a time (each start opens a connection and costs the hub a scrypt check). */
export async function startBoards(boards: InProcessBoard[], concurrency = 16): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, boards.length) }, async () => {
      while (next < boards.length) await boards[next++]!.start()
    }),
  )
}

/** Resolves once every board holds an MQTT session with its hub (polled: the runtime has no event for it). */
export async function waitConnected(boards: InProcessBoard[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const missing = boards.filter((b) => !b.online).length
    if (missing === 0) return
    if (Date.now() > deadline) throw new Error(`${missing} of ${boards.length} boards not connected to their hub after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

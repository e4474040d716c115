import type { WindowMode } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { boardsToRelease, type PlacedBoard } from './board-spread.ts'

export interface RebalanceSettings {
  /** One round (at most one board let go) this often. */
  everyMs: number
  /** A board must have held its session here this long before it may be let go. */
  settleMs: number
  /** A board back here within this long of being let go stays this long: it may not reach another node. */
  holdMs: number
}

export interface BoardRebalancerOptions extends RebalanceSettings {
  /** The other live nodes' board counts; null when unknown (Redis away): then nothing moves. */
  others: () => number[] | null
  /** The window's mode from its retained state, as the hall view has it. */
  mode: (counter: string) => WindowMode | null
  /** Ends the board's session here cleanly (no will); false when it has none here. */
  release: (username: string) => boolean
  log: Logger
  now?: () => number
}

/**
 * Spreads a hall's boards back over its nodes when a node returns (issue 26:
 * after one failover every board stayed on the survivor).
 *
 * The node holding more than its share lets a board go: it ends the board's
 * session cleanly, and the board, whose link moves to the next hub address on
 * every reconnect (edge/shared/mqtt-connect.ts), connects to another node. No
 * hint travels to the board, so none can strand it: it keeps failing over by
 * its own list, and a node that does not answer it is simply passed. Its
 * journal re-sends whatever was not acknowledged, its persistent session (in
 * Redis) holds the commands meanwhile, and a clean end publishes no will, so
 * central never sees it offline. Slowly: one board per round, only a quiet
 * window (idle, closed, paused; never calling, serving or evaluating), only one
 * settled here; and one that comes straight back (it could reach no other
 * node) is held here a while instead of being sent round again.
 */
export class BoardRebalancer {
  private readonly boards = new Map<string, { username: string; connectedAt: number; heldUntil: number }>()
  /** counter → when it was let go: for the hold, and counted as elsewhere while in transit. */
  private readonly released = new Map<string, number>()
  private timer: NodeJS.Timeout | null = null
  private readonly now: () => number

  constructor(private readonly opts: BoardRebalancerOptions) {
    this.now = opts.now ?? Date.now
  }

  start(): void {
    this.timer = setInterval(() => this.round(), this.opts.everyMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Boards with a session at this node now. */
  get count(): number {
    return this.boards.size
  }

  /** The broker reports board sessions coming and going here. */
  boardSession(counter: string, username: string, connected: boolean): void {
    const now = this.now()
    if (!connected) {
      const b = this.boards.get(counter)
      if (b && b.username === username) this.boards.delete(counter)
      return
    }
    const releasedAt = this.released.get(counter)
    const back = releasedAt !== undefined && now - releasedAt < this.opts.holdMs
    if (back) this.opts.log.info({ counter }, 'a board let go came back: it stays here a while (it may not reach another node)')
    this.boards.set(counter, { username, connectedAt: now, heldUntil: back ? now + this.opts.holdMs : 0 })
  }

  /** One round: lets go at most one board, if this node holds more than its share. */
  round(): string | null {
    const now = this.now()
    for (const [c, at] of this.released) if (now - at >= this.opts.holdMs) this.released.delete(c)
    const others = this.opts.others()
    if (!others) return null
    const mine: PlacedBoard[] = [...this.boards].map(([counter, b]) => ({ counter, mode: this.opts.mode(counter), connectedAt: b.connectedAt, heldUntil: b.heldUntil }))
    const inTransit = [...this.released.entries()].filter(([c, at]) => now - at < this.opts.settleMs && !this.boards.has(c)).length
    const [counter] = boardsToRelease({ others, mine, inTransit, now, settleMs: this.opts.settleMs, max: 1 })
    if (!counter) return null
    const b = this.boards.get(counter)!
    if (!this.opts.release(b.username)) return null
    this.released.set(counter, now)
    this.boards.delete(counter)
    this.opts.log.info({ counter, mode: mine.find((m) => m.counter === counter)?.mode, here: this.boards.size, others }, '将窗口设备迁往负载较轻的节点 / let a board go so it reconnects to a less loaded node')
    return counter
  }
}

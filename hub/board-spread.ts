import type { WindowMode } from '../edge/protocol/index.ts'

/**
 * Which boards a node lets go so that a hall's boards spread back over its
 * nodes (hub/board-rebalancer.ts does the letting go). Pure: the inputs are
 * what the node knows now, the answer is the counters to release this round.
 */

/** Modes in which no applicant is at the window: a move costs the window nothing anyone sees. */
export const QUIET_MODES: ReadonlySet<WindowMode> = new Set<WindowMode>(['idle', 'closed', 'paused'])

/** A board with a session at this node. */
export interface PlacedBoard {
  counter: string
  /** The window's mode from its retained state; null while the node has none (never moved then). */
  mode: WindowMode | null
  /** When its session here began (this node's clock). */
  connectedAt: number
  /** Until when it stays put: it came back after being let go, so it may not reach any other node. */
  heldUntil: number
}

export interface SpreadInput {
  /** The boards of each live node as the nodes last said (this node's own entry is replaced by `mine`). */
  others: number[]
  mine: PlacedBoard[]
  /** Boards this node let go so recently that no other node may count them yet: counted as elsewhere, so stale counts never make the node let go too many. */
  inTransit: number
  now: number
  /** A board must have been here this long: counts of the other nodes lag, and a fresh arrival may be one of our own moves coming back. */
  settleMs: number
  /** Most boards released in one round. */
  max: number
}

/** Most boards a node should hold: the hall's boards over its live nodes, rounded up. */
export function fairShare(total: number, nodes: number): number {
  return nodes === 0 ? total : Math.ceil(total / nodes)
}

/**
 * The counters to release now: none unless this node holds more than its fair
 * share and some other node holds less (so a released board has somewhere to
 * go); only boards whose window is quiet, settled and not held; the closed
 * windows first, then paused, then idle (an officer may be about to call),
 * then by counter so the choice is stable from round to round.
 */
export function boardsToRelease(input: SpreadInput): string[] {
  const { others, mine, now } = input
  if (others.length === 0 || input.max <= 0) return []
  const total = mine.length + input.inTransit + others.reduce((a, b) => a + b, 0)
  const fair = fairShare(total, others.length + 1)
  const excess = mine.length - fair
  if (excess <= 0 || !others.some((n) => n < fair)) return []
  const rank: Record<string, number> = { closed: 0, paused: 1, idle: 2 }
  return mine
    .filter((b) => b.mode !== null && QUIET_MODES.has(b.mode) && now - b.connectedAt >= input.settleMs && b.heldUntil <= now)
    .sort((a, b) => rank[a.mode!]! - rank[b.mode!]! || a.counter.localeCompare(b.counter))
    .slice(0, Math.min(excess, input.max))
    .map((b) => b.counter)
}

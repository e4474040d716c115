import type { UpdateStateName } from '../../edge/protocol/index.ts'

/** What a technician asks for: a release, which boards, how many at a time. */
export interface RolloutRequest {
  version: string
  /** Counter ids, or every board provisioned in the hall. */
  boards: string[] | 'all'
  atATime: number
  confirmWithinS: number
}

/** The bounds the hub accepts for a rollout's pace; the CLI checks its flags against the same ones. */
export const ROLLOUT_LIMITS = {
  atATime: { min: 1, max: 1000 },
  confirmWithinS: { min: 10, max: 900 },
} as const

/** A board's part in a rollout, as the hub sees it. */
export type BoardRolloutState = 'pending' | 'sent' | 'confirmed' | 'failed' | 'rolled-back' | 'skipped'

export interface BoardRollout {
  counter: string
  state: BoardRolloutState
  /** The board's own update state from its last report, when there is one. */
  reported: UpdateStateName | null
  running: string | null
  /** Why it is waiting, failed or rolled back, in words. */
  reason: string | null
  /** The `update` command sent to it; null until sent. */
  cmd: string | null
}

export type RolloutState = 'none' | 'running' | 'done' | 'halted' | 'cancelled'

export interface RolloutStatus {
  state: RolloutState
  version: string | null
  atATime: number
  confirmWithinS: number
  started: string | null
  finished: string | null
  /** The wave under way: the boards sent the command and not yet confirmed. */
  wave: string[]
  waves: number
  boards: BoardRollout[]
  /** Why the rollout stopped, when it halted: the board and its reason. */
  halted: { counter: string; reason: string } | null
}

/** A rollout request the hub turns away; `status` is the HTTP status the routes answer with. */
export class RolloutRefusal extends Error {
  override readonly name = 'RolloutRefusal'
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

import { defaultPublicWindow, hasApplicantMode, type WindowMode } from '../../edge/protocol/index.ts'

/**
 * Which boards of a rollout get the `update` command next (docs/operations.md,
 * "Updating a hall"). Pure: the controller (hub/fleet/rollout.ts) feeds it the
 * hall as the hub sees it and sends what it returns.
 *
 * The rules, each for a person at the counter:
 * - never a window with an applicant (calling, serving, evaluating): its
 *   board would go dark mid-service; it waits until the window is idle,
 *   paused or closed (the board refuses `busy` too, by construction);
 * - never two neighbouring windows (adjacent public numbers) in one wave, so
 *   an applicant looking for help always has a working window beside them;
 * - at most `atATime` boards at once;
 * - an offline board, or one whose mode is not known yet, waits;
 * - a board still taking an earlier update waits until that has ended
 *   (sent now it would only answer `busy`, and be sent again at once);
 * - a board already running the target is done without a command.
 */

export interface PlanWindow {
  counter: string
  /** The public number from the window's state (`window.number`); null: not known, taken from the counter id. */
  number: string | null
  mode: WindowMode | null
  online: boolean
  /** The version it runs now, from its update report (or its status). */
  running: string | null
  /**
   * The version an update already under way on the board is taking (its report says downloading … confirming), else
   * null: a rollout halted or cancelled leaves its boards to finish, and the board answers any other update `busy` until then.
   */
  updating?: string | null
}

export interface PlanInput {
  windows: PlanWindow[]
  /** The boards the rollout covers, in the technician's order. */
  chosen: string[]
  target: string
  atATime: number
  /** Boards already sent the command in this rollout (whatever became of it): never sent again. */
  sent: ReadonlySet<string>
}

export interface Plan {
  /** Send the command to these now (empty when the wave must wait). */
  wave: string[]
  /** Chosen, not sent, and running the target already. */
  alreadyThere: string[]
  /** Chosen boards that cannot go yet, and why. */
  waiting: Array<{ counter: string; why: string }>
}

/** A window number as a prefix and a position: "12" → ["", 12], "A3" → ["A", 3]; null when it ends in no digits. */
function position(number: string): [string, number] | null {
  const m = /^(.*?)(\d+)$/.exec(number)
  return m ? [m[1]!, Number(m[2])] : null
}

/** Neighbours: the same prefix and numbers one apart (window 3 and window 4, A7 and A8). */
export function neighbours(a: string, b: string): boolean {
  const pa = position(a)
  const pb = position(b)
  return pa !== null && pb !== null && pa[0] === pb[0] && Math.abs(pa[1] - pb[1]) === 1
}

export function publicNumber(w: Pick<PlanWindow, 'counter' | 'number'>): string {
  return w.number ?? defaultPublicWindow(w.counter).number
}

export function planWave(input: PlanInput): Plan {
  const byCounter = new Map(input.windows.map((w) => [w.counter, w]))
  const wave: string[] = []
  const taken: string[] = []
  const alreadyThere: string[] = []
  const waiting: Plan['waiting'] = []
  for (const counter of input.chosen) {
    if (input.sent.has(counter)) continue
    const w = byCounter.get(counter)
    if (!w) {
      waiting.push({ counter, why: '未见过此窗口 / not heard from yet' })
      continue
    }
    if (w.running === input.target) {
      alreadyThere.push(counter)
      continue
    }
    if (!w.online) {
      waiting.push({ counter, why: '离线 / offline' })
      continue
    }
    if (w.updating) {
      waiting.push({ counter, why: `窗口仍在升级到 ${w.updating} / the board is still taking update ${w.updating}; it goes once that has ended` })
      continue
    }
    if (w.mode === null) {
      waiting.push({ counter, why: '状态未知 / mode not known yet' })
      continue
    }
    if (hasApplicantMode(w.mode)) {
      waiting.push({ counter, why: `有办事群众 / an applicant is at the window (${w.mode})` })
      continue
    }
    const number = publicNumber(w)
    if (wave.length >= input.atATime) {
      waiting.push({ counter, why: '等待下一批 / waits for a later wave' })
      continue
    }
    if (taken.some((n) => neighbours(n, number))) {
      waiting.push({ counter, why: '相邻窗口在本批 / a neighbouring window is in this wave' })
      continue
    }
    wave.push(counter)
    taken.push(number)
  }
  return { wave, alreadyThere, waiting }
}

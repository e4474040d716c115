/**
 * Before this, a clock was certainly never set: a machine without a real-time clock (a board, a
 * hub on a small SBC) boots in 1970 or at its last shutdown, and reads that until NTP steps it.
 * Boards use it to say `synced: false` (edge/link/clock-sync.ts); the hub, which has no `synced`
 * of its own, uses it to know that its own time cannot yet stamp anything (hub/hall-view.ts).
 */
export const EARLIEST_PLAUSIBLE_MS = Date.UTC(2025, 0, 1)

/** Whether a wall-clock reading can be a real time: at or after EARLIEST_PLAUSIBLE_MS. */
export function plausibleTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST_PLAUSIBLE_MS
}

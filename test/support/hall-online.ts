import type { SimHall } from '../../sim/hall.ts'
import { eventually } from './probe.ts'

/**
 * Waits until the hub counts every simulated window online. A board's link is up at its CONNACK, but the hub
 * marks the window online only at its birth, a moment later: a test that reads the hub's view (status, /metrics,
 * the dashboard) waits on the hub, not on the board.
 */
export async function untilOnlineAtHub(hall: SimHall, timeoutMs = 10_000): Promise<void> {
  await eventually(
    () => hall.hub.hallView.snapshot().windows.filter((w) => w.online).length === hall.windows.size,
    timeoutMs,
    `all ${hall.windows.size} windows online at the hub`,
  )
}

import type { HallSnapshot } from '../hall-view.ts'
import type { RolloutState, RolloutStatus } from './rollout-status.ts'
import type { UpdateResult } from './rollout.ts'

/** What /metrics reads of fleet updates at each scrape: the rollout controller (hub/fleet/rollout.ts), where the hub has one. */
export interface FleetMetricsSource {
  /** Updates ended since the hub started, by result. */
  resultCounts(): Readonly<Record<UpdateResult, number>>
  status(): RolloutStatus
}

type Sample = [labels: Record<string, string>, value: number]

/** One series of fleet updates, as the hub's registry (hub/dashboard/metrics.ts) registers it. */
export interface FleetSeries {
  type: 'counter' | 'gauge'
  name: string
  help: string
  labelNames: string[]
  read(fleet: FleetMetricsSource, snapshot: HallSnapshot): Sample[]
}

const ROLLOUT_STATES: RolloutState[] = ['none', 'running', 'done', 'halted', 'cancelled']

/**
 * Fleet updates on /metrics: updates by result (a rollback is `rolled-back`),
 * the rollout's state, and each window's running version as an info gauge.
 * Kept here, beside the rollout, so what they mean changes with it; the
 * registry adds the hub's `hall` (and `node`) labels.
 */
export const FLEET_SERIES: readonly FleetSeries[] = [
  {
    type: 'counter',
    name: 'counter_edge_updates_total',
    help: 'Board updates ended since the hub started, by result (rolled-back: the board went back to its previous version by itself)',
    labelNames: ['result'],
    read: (fleet) => Object.entries(fleet.resultCounts()).map(([result, n]): Sample => [{ result }, n]),
  },
  {
    type: 'gauge',
    name: 'counter_edge_rollout_state',
    help: 'The rollout of this hub: 1 for the state it is in',
    labelNames: ['state', 'version'],
    read: (fleet) => {
      const r = fleet.status()
      return ROLLOUT_STATES.map((state): Sample => [{ state, version: r.version ?? '' }, r.state === state ? 1 : 0])
    },
  },
  {
    type: 'gauge',
    name: 'counter_edge_window_version_info',
    help: 'The version each window runs and its update state (value always 1)',
    labelNames: ['counter', 'version', 'update'],
    read: (_fleet, snapshot) =>
      snapshot.windows.flatMap((w): Sample[] => {
        const version = w.update?.running ?? w.version
        return version ? [[{ counter: w.counter, version, update: w.update?.state ?? 'unknown' }, 1]] : []
      }),
  },
]

import type { HallSnapshot } from '../hall-view.ts'
import type { RolloutState, RolloutStatus } from './rollout-status.ts'

export interface FleetMetricsSources {
  hall: string
  snapshot: HallSnapshot
  /** Updates ended since the hub started, by result; null without rollouts. */
  results: Readonly<Record<'confirmed' | 'rolled-back' | 'failed', number>> | null
  rollout: RolloutStatus | null
}

const ROLLOUT_STATES: RolloutState[] = ['none', 'running', 'done', 'halted', 'cancelled']

function labels(l: Record<string, string>): string {
  return Object.entries(l)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',')
}

/**
 * Fleet updates in Prometheus text (appended to /metrics): updates by result
 * (a rollback is `rolled-back`), the rollout's state, and each window's
 * running version as an info gauge. Kept apart from hub/dashboard/metrics.ts
 * so each can change without the other.
 */
export function renderFleetMetrics(src: FleetMetricsSources): string {
  const out: string[] = []
  const hall = { hall: src.hall }
  if (src.results) {
    out.push('# HELP counter_edge_updates_total Board updates ended since the hub started, by result (rolled-back: the board went back to its previous version by itself)', '# TYPE counter_edge_updates_total counter')
    for (const [result, n] of Object.entries(src.results)) out.push(`counter_edge_updates_total{${labels({ ...hall, result })}} ${n}`)
  }
  if (src.rollout) {
    out.push('# HELP counter_edge_rollout_state The rollout of this hub: 1 for the state it is in', '# TYPE counter_edge_rollout_state gauge')
    for (const s of ROLLOUT_STATES) out.push(`counter_edge_rollout_state{${labels({ ...hall, state: s, version: src.rollout.version ?? '' })}} ${src.rollout.state === s ? 1 : 0}`)
  }
  out.push('# HELP counter_edge_window_version_info The version each window runs and its update state (value always 1)', '# TYPE counter_edge_window_version_info gauge')
  for (const w of src.snapshot.windows) {
    const version = w.update?.running ?? w.version
    if (!version) continue
    out.push(`counter_edge_window_version_info{${labels({ ...hall, counter: w.counter, version, update: w.update?.state ?? 'unknown' })}} 1`)
  }
  return out.join('\n') + '\n'
}

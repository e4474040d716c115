import type { WindowView } from '../hall-view.ts'

/**
 * Who serves at which window is left out of what the hub sends to a viewer
 * who has not logged in as a technician (docs/operations.md, "Who sees
 * officer names"): the dashboard is open to the whole hall network. Left out
 * of the data, not hidden by the page, so neither the API nor the live
 * stream carries an officer's id or name to such a viewer. `officerHidden`
 * says someone is on duty without saying who.
 */
export type ViewedWindow<W extends WindowView = WindowView> = W & { officerHidden: boolean }

export function windowForViewer<W extends WindowView>(w: W, names: boolean): ViewedWindow<W> {
  if (names) return { ...w, officerHidden: false }
  const onDuty = w.state?.officer != null
  return {
    ...w,
    state: w.state ? { ...w.state, officer: null } : null,
    alerts: w.alerts.map((a) => ({ ...a, officer: null, officerName: null })),
    officerHidden: onDuty,
  }
}

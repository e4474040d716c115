import { describe, it, expect } from 'vitest'
import { runInNewContext } from 'node:vm'
import { HALL_TIME_SCRIPT } from '../../../hub/dashboard/hall-time.ts'
import { dashboardPage } from '../../../hub/dashboard/page.ts'
import { windowPage } from '../../../hub/dashboard/window-page.ts'
import { startTestHub, user } from '../support/hub-fixture.ts'

/** The script as a browser runs it: its functions, in a context of their own. */
function loadScript(): { hallTime: (iso: unknown) => string; setHallZone: (zone: unknown) => void } {
  return runInNewContext(`${HALL_TIME_SCRIPT}\n({ hallTime, setHallZone })`, { Intl, Date, Number })
}

describe('hall-local time on the dashboard pages (hub/dashboard/hall-time.ts)', () => {
  it('formats an instant on the hall\'s clock, Asia/Shanghai until the hub names a zone', () => {
    const t = loadScript()
    expect(t.hallTime('2026-12-05T18:24:07.123Z')).toBe('02:24:07')
    t.setHallZone('Asia/Urumqi')
    expect(t.hallTime('2026-12-05T18:24:07.123Z')).toBe('00:24:07')
    // A snapshot without a zone keeps the one the hub gave.
    t.setHallZone(undefined)
    expect(t.hallTime('2026-12-05T18:24:07.123Z')).toBe('00:24:07')
    expect(t.hallTime(undefined)).toBe('')
    expect(t.hallTime('not a time')).toBe('')
  })

  it('the dashboard and the window detail page carry this one copy and no other', () => {
    for (const html of [dashboardPage('hall-1'), windowPage('hall-1', 'w01')]) {
      expect(html.split(HALL_TIME_SCRIPT).length - 1).toBe(1)
      expect(html.match(/function hallTime\(/g)).toHaveLength(1)
      // The zone is set through setHallZone only: no page keeps a zone of its own.
      expect(html.match(/\bhallZone\s*=[^=]/g)).toEqual(HALL_TIME_SCRIPT.match(/\bhallZone\s*=[^=]/g))
    }
  })
})

describe('the hall\'s one time zone, from the hub (hub/main.ts)', () => {
  it('the dashboard reports the zone the hall screen\'s clock is set to, not Beijing\'s when the hub has no announcer', async () => {
    const t = await startTestHub([user('technician', 'h-zone')], { hall: 'h-zone', http: { port: 0 }, screen: { timeZone: 'Asia/Urumqi' } })
    try {
      const base = `http://127.0.0.1:${t.hub.httpPort}`
      expect(((await (await fetch(`${base}/api/hall`)).json()) as { timeZone: string }).timeZone).toBe('Asia/Urumqi')
      expect(((await (await fetch(`${base}/api/feed`)).json()) as { timeZone: string }).timeZone).toBe('Asia/Urumqi')
    } finally {
      await t.stop()
    }
  })
})

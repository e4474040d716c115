import { describe, it, expect } from 'vitest'
import { HallClock } from '../../../hub/announcer/hall-clock.ts'

const iso = (d: { from: number; until: number }) => [new Date(d.from).toISOString(), new Date(d.until).toISOString()]

describe('hall clock', () => {
  it('a hall-local day runs from the hall\'s midnight to the next, whatever the host\'s zone', () => {
    const hostZone = process.env.TZ
    process.env.TZ = 'America/Los_Angeles'
    try {
      const beijing = new HallClock('Asia/Shanghai')
      expect(iso(beijing.day(Date.parse('2026-12-06T15:59:59.999Z')))).toEqual(['2026-12-05T16:00:00.000Z', '2026-12-06T16:00:00.000Z']) // 23:59:59.999
      expect(iso(beijing.day(Date.parse('2026-12-06T16:00:00Z')))).toEqual(['2026-12-06T16:00:00.000Z', '2026-12-07T16:00:00.000Z']) // 00:00
      // A hub that booted without a real-time clock: 1970 in Beijing is a day like any other.
      expect(iso(beijing.day(0))).toEqual(['1969-12-31T16:00:00.000Z', '1970-01-01T16:00:00.000Z'])
      // A zone with daylight saving: the days of its changes are 23 and 25 hours long.
      const newYork = new HallClock('America/New_York')
      expect(iso(newYork.day(Date.parse('2026-03-08T12:00:00Z')))).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z'])
      expect(iso(newYork.day(Date.parse('2026-11-01T12:00:00Z')))).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z'])
    } finally {
      if (hostZone === undefined) delete process.env.TZ
      else process.env.TZ = hostZone
    }
  })
})

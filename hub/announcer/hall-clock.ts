/** The hall's wall clock in its own time zone: quiet hours are set, and announcements read, in hall-local time whatever zone the hub host runs in. */
export class HallClock {
  private readonly fmt: Intl.DateTimeFormat

  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
  }

  /** "HH:MM:SS" in the hall's zone. */
  time(ms: number): string {
    return this.fmt.format(new Date(ms))
  }

  /** Whether `ms` falls in [from, to) hall-local, a span that may cross midnight; from = to is no span at all. */
  within(ms: number, span: { from: string; to: string }): boolean {
    const [h, m] = this.time(ms).split(':').map(Number) as [number, number]
    const now = h * 60 + m
    const from = minutes(span.from)
    const to = minutes(span.to)
    if (from === to) return false
    return from < to ? now >= from && now < to : now >= from || now < to
  }
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number]
  return h * 60 + m
}

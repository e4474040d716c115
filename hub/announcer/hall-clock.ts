/** The hall's wall clock in its own time zone: quiet hours are set, and announcements read, in hall-local time whatever zone the hub host runs in. */
export class HallClock {
  private readonly fmt: Intl.DateTimeFormat
  private readonly dateFmt: Intl.DateTimeFormat

  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
    this.dateFmt = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
  }

  /**
   * The hall-local day that `ms` falls in, as [from, until) in epoch ms: its midnight in the hall's zone
   * and the next one. A day is not always 24 h (a zone's daylight-saving change), so both are found.
   */
  day(ms: number): { from: number; until: number } {
    const from = this.midnightOf(ms)
    // 30 h on from a midnight is always inside the next local day, whatever a zone's changes.
    return { from, until: this.midnightOf(from + 30 * 3600_000) }
  }

  /** Local midnight of the hall-local date of `ms`. */
  private midnightOf(ms: number): number {
    const p = this.parts(ms)
    const localMidnight = Date.UTC(p.year, p.month - 1, p.day)
    // The zone's offset at `ms`, then again at the guess in case an offset change lies between them.
    let guess = localMidnight - this.offset(ms)
    guess = localMidnight - this.offset(guess)
    return guess
  }

  /** How far the hall's clock is ahead of UTC at `ms`, in ms. */
  private offset(ms: number): number {
    const p = this.parts(ms)
    const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second)
    return asUtc - (ms - (((ms % 1000) + 1000) % 1000))
  }

  private parts(ms: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
    const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 }
    for (const part of this.dateFmt.formatToParts(new Date(ms))) if (part.type in out) out[part.type as keyof typeof out] = Number(part.value)
    return out
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

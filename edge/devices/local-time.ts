/**
 * Wall time as the hall reads it, with the offset written, for the NVR text
 * line: a reviewer searches recordings by the clock on the hall's wall, and
 * an explicit offset keeps the line unambiguous when it leaves the hall.
 */

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    formatters.set(timeZone, f)
  }
  return f
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone)
    return true
  } catch {
    return false
  }
}

/** `2026-11-22T16:00:05+08:00`: whole seconds, the zone's offset at that instant (daylight saving included). */
export function formatLocal(ms: number, timeZone: string): string {
  const whole = Math.floor(ms / 1000) * 1000
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(whole)).map((p) => [p.type, p.value]))
  const local = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`
  const offsetMin = Math.round((Date.parse(`${local}Z`) - whole) / 60_000)
  const sign = offsetMin < 0 ? '-' : '+'
  const abs = Math.abs(offsetMin)
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}

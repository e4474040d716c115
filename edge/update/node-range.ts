/**
 * Whether a Node.js version meets a release's range (package.json engines):
 * comparators (>=, >, <=, <, =) joined by spaces, alternatives by ||, and the
 * caret and tilde forms. Enough for what engines fields hold; anything else
 * is reported as not understood rather than guessed at.
 */
type V = [number, number, number]

function parse(v: string): V | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim())
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : null
}

function cmp(a: V, b: V): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

function one(comparator: string, have: V): boolean | null {
  const m = /^(>=|<=|>|<|=|\^|~)?\s*(v?\d+(?:\.\d+){0,2})$/.exec(comparator)
  if (!m) return null
  const want = parse(m[2]!)!
  const c = cmp(have, want)
  switch (m[1]) {
    case '>=':
      return c >= 0
    case '>':
      return c > 0
    case '<=':
      return c <= 0
    case '<':
      return c < 0
    case '^':
      return c >= 0 && have[0] === want[0]
    case '~':
      return c >= 0 && have[0] === want[0] && have[1] === want[1]
    default:
      return c === 0
  }
}

/** true / false, or null when the range cannot be read. */
export function satisfiesNodeRange(range: string, version: string): boolean | null {
  const have = parse(version)
  if (!have) return null
  let any = false
  for (const alt of range.split('||')) {
    const parts = alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean)
    if (parts.length === 0) return null
    let all = true
    for (const p of parts) {
      const r = one(p, have)
      if (r === null) return null
      all &&= r
    }
    any ||= all
  }
  return any
}

/**
 * Reads 7-segment patterns back into characters, the way a person in the
 * hall would, so tests assert what is on the glass rather than what a driver
 * meant to write.
 *
 * The fonts are copied here from their sources (docs/hardware.md §4.2), not
 * imported from edge/hardware/seg7-font.ts: this is the test oracle, and an
 * oracle that shares the driver's table would agree with the driver's typos.
 * johnny-five's font is included because boards driven through J5 write its
 * patterns (B as 8, D as 0), and those must read back as 8 and 0.
 */

/** Adafruit sevensegfonttable / NUMBERS, HT16K33 bit order (b0=A … b6=G, b7=DP). */
const ADAFRUIT: ReadonlyArray<readonly [string, number]> = [
  ['0', 0x3f], ['1', 0x06], ['2', 0x5b], ['3', 0x4f], ['4', 0x66],
  ['5', 0x6d], ['6', 0x7d], ['7', 0x07], ['8', 0x7f], ['9', 0x6f],
  ['A', 0x77], ['b', 0x7c], ['C', 0x39], ['d', 0x5e], ['E', 0x79], ['F', 0x71],
  ['G', 0x3d], ['H', 0x76], ['I', 0x30], ['J', 0x1e], ['L', 0x38], ['n', 0x54],
  ['o', 0x5c], ['P', 0x73], ['q', 0x67], ['r', 0x50], ['S', 0x6d], ['t', 0x78],
  ['U', 0x3e], ['y', 0x6e], ['-', 0x40], ['_', 0x08], [' ', 0x00],
]

/** johnny-five LedControl.DIGIT_CHARS in MAX7219 bit order (b7=DP, b6=A … b0=G). */
const J5_MAX7219: Readonly<Record<string, number>> = {
  '0': 0x7e, '1': 0x30, '2': 0x6d, '3': 0x79, '4': 0x33, '5': 0x5b, '6': 0x5f, '7': 0x70, '8': 0x7f, '9': 0x7b,
  ' ': 0x00, A: 0x77, a: 0x7d, B: 0x7f, b: 0x1f, C: 0x4e, c: 0x0d, D: 0x7e, d: 0x3d, E: 0x4f, e: 0x6f,
  F: 0x47, f: 0x47, G: 0x5e, g: 0x7b, H: 0x37, h: 0x17, I: 0x30, i: 0x10, J: 0x3c, j: 0x38, K: 0x37,
  k: 0x17, L: 0x0e, l: 0x06, M: 0x55, m: 0x55, N: 0x15, n: 0x15, O: 0x7e, o: 0x1d, P: 0x67, p: 0x67,
  Q: 0x73, q: 0x73, R: 0x77, r: 0x05, S: 0x5b, s: 0x5b, T: 0x46, t: 0x0f, U: 0x3e, u: 0x1c, V: 0x27,
  v: 0x23, W: 0x3f, w: 0x2b, X: 0x25, x: 0x25, Y: 0x3b, y: 0x33, Z: 0x6d, z: 0x6d,
}

/** J5's HT16K33 controller reverses the segment order: MAX7219 b6..b0 (A..G) → HT16K33 b0..b6. */
export function max7219ToHt16k33(pattern: number): number {
  let out = pattern & 0x80
  for (let seg = 0; seg < 7; seg++) {
    if (pattern & (1 << (6 - seg))) out |= 1 << seg
  }
  return out
}

const J5: ReadonlyArray<readonly [string, number]> = Object.entries(J5_MAX7219).map(
  ([ch, p]) => [ch, max7219ToHt16k33(p)] as const,
)

function tier(ch: string): number {
  if (/[0-9]/.test(ch)) return 0
  if (/[A-Z]/.test(ch)) return 1
  if (/[a-z]/.test(ch)) return 2
  return 3
}

function distinctLetters(chars: readonly string[]): number {
  return new Set(chars.map((c) => c.toUpperCase())).size
}

interface Entry {
  char: string
  ambiguous: boolean
}

/**
 * pattern → reading. Candidates from both fonts; digits win over uppercase,
 * uppercase over lowercase, Adafruit over J5 within a tier. A pattern is
 * ambiguous when the font that explains it (Adafruit if it knows the pattern,
 * else J5) uses it for two different characters, e.g. 5 and S.
 */
function buildTable(): ReadonlyMap<number, Entry> {
  const byPattern = new Map<number, { ada: string[]; j5: string[] }>()
  const slot = (p: number) => {
    let s = byPattern.get(p)
    if (s === undefined) byPattern.set(p, (s = { ada: [], j5: [] }))
    return s
  }
  for (const [ch, p] of ADAFRUIT) slot(p).ada.push(ch)
  for (const [ch, p] of J5) if ((p & 0x80) === 0) slot(p).j5.push(ch)
  const table = new Map<number, Entry>()
  for (const [p, { ada, j5 }] of byPattern) {
    const ranked = [...ada, ...j5]
      .map((ch, order) => ({ ch, order }))
      .sort((x, y) => tier(x.ch) - tier(y.ch) || x.order - y.order)
    const char = ranked[0]?.ch ?? '?'
    const ambiguous = ada.length > 0 ? distinctLetters(ada) > 1 : distinctLetters(j5) > 1
    table.set(p, { char, ambiguous })
  }
  return table
}

const TABLE = buildTable()

export interface Seg7Reading {
  /** The font character the pattern stands for ('b' for 0x7C); '?' for a pattern no font uses. */
  char: string
  ambiguous: boolean
  /** The decimal point (b7) is lit. */
  dot: boolean
}

export function decodeSeg7(pattern: number): Seg7Reading {
  const entry = TABLE.get(pattern & 0x7f)
  return { char: entry?.char ?? '?', ambiguous: entry?.ambiguous ?? false, dot: (pattern & 0x80) !== 0 }
}

export interface Seg7TextReading {
  /**
   * One character per position, letters in upper case: a 7-segment display
   * shows which letter, not its case (b and d are how B and D look).
   */
  text: string
  ambiguous: boolean
  dots: boolean[]
}

export function decodeSeg7Text(patterns: ArrayLike<number>): Seg7TextReading {
  const readings = Array.from(patterns, (p) => decodeSeg7(p))
  return {
    text: readings.map((r) => r.char.toUpperCase()).join(''),
    ambiguous: readings.some((r) => r.ambiguous),
    dots: readings.map((r) => r.dot),
  }
}

/**
 * Reads 14-segment words back into characters, as a person in the hall would.
 *
 * The table is copied here from Adafruit's alphafonttable (docs/hardware.md §4.2),
 * not imported from edge/hardware/seg14-font.ts: this is the test oracle, and
 * an oracle that shared the driver's table would agree with its typos.
 * Punctuation a ticket never carries is left out; it reads as '?'.
 */

/** Adafruit alphafonttable, bit 0 = A … bit 13 = N, bit 14 = DP. */
const ADAFRUIT_ALPHA: ReadonlyArray<readonly [string, number]> = [
  [' ', 0b0000000000000000],
  ['-', 0b0000000011000000],
  ['0', 0b0000110000111111], ['1', 0b0000000000000110], ['2', 0b0000000011011011],
  ['3', 0b0000000010001111], ['4', 0b0000000011100110], ['5', 0b0010000001101001],
  ['6', 0b0000000011111101], ['7', 0b0000000000000111], ['8', 0b0000000011111111],
  ['9', 0b0000000011101111],
  ['A', 0b0000000011110111], ['B', 0b0001001010001111], ['C', 0b0000000000111001],
  ['D', 0b0001001000001111], ['E', 0b0000000011111001], ['F', 0b0000000001110001],
  ['G', 0b0000000010111101], ['H', 0b0000000011110110], ['I', 0b0001001000001001],
  ['J', 0b0000000000011110], ['K', 0b0010010001110000], ['L', 0b0000000000111000],
  ['M', 0b0000010100110110], ['N', 0b0010000100110110], ['O', 0b0000000000111111],
  ['P', 0b0000000011110011], ['Q', 0b0010000000111111], ['R', 0b0010000011110011],
  ['S', 0b0000000011101101], ['T', 0b0001001000000001], ['U', 0b0000000000111110],
  ['V', 0b0000110000110000], ['W', 0b0010100000110110], ['X', 0b0010110100000000],
  ['Y', 0b0001010100000000], ['Z', 0b0000110000001001],
]

const DP = 0x4000

const TABLE: ReadonlyMap<number, string[]> = (() => {
  const t = new Map<number, string[]>()
  for (const [ch, p] of ADAFRUIT_ALPHA) t.set(p, [...(t.get(p) ?? []), ch])
  return t
})()

export interface Seg14Reading {
  char: string
  /** The font uses this pattern for more than one character. */
  ambiguous: boolean
  dot: boolean
}

export function decodeSeg14(word: number): Seg14Reading {
  const chars = TABLE.get(word & ~DP & 0xffff) ?? []
  return { char: chars[0] ?? '?', ambiguous: chars.length > 1, dot: (word & DP) !== 0 }
}

export function decodeSeg14Text(words: ArrayLike<number>): { text: string; ambiguous: boolean; dots: boolean[] } {
  const readings = Array.from(words, (w) => decodeSeg14(w))
  return {
    text: readings.map((r) => r.char).join(''),
    ambiguous: readings.some((r) => r.ambiguous),
    dots: readings.map((r) => r.dot),
  }
}

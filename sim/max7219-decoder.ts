/**
 * Reads MAX7219 digit registers back into characters (docs/hardware.md §4.3), in
 * both modes the chip has: Code B (decode bit set for that digit) and raw
 * segments (D7=DP, D6=A … D0=G), which go through the same 7-segment oracle
 * as the HT16K33 backpack after reordering the bits.
 */
import { decodeSeg7, max7219ToHt16k33 } from './seg7-decoder.ts'

/** Code B font: low nibble → character; D7 is the decimal point. */
const CODE_B = '0123456789-EHLP ' as const

export interface Max7219DigitReading {
  char: string
  ambiguous: boolean
  dot: boolean
  /** The segments that light, in HT16K33 order (b0=A … b6=G, b7=DP), for comparisons across chips. */
  segments: number
}

/** Segments Code B lights for each nibble, HT16K33 order. */
const CODE_B_SEGMENTS = [0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f, 0x40, 0x79, 0x76, 0x38, 0x73, 0x00]

export function decodeMax7219Digit(data: number, decoded: boolean): Max7219DigitReading {
  const dot = (data & 0x80) !== 0
  if (decoded) {
    const nibble = data & 0x0f
    return { char: CODE_B[nibble] ?? '?', ambiguous: false, dot, segments: (CODE_B_SEGMENTS[nibble] ?? 0) | (data & 0x80) }
  }
  const segments = max7219ToHt16k33(data)
  const r = decodeSeg7(segments)
  return { char: r.char.toUpperCase(), ambiguous: r.ambiguous, dot, segments }
}

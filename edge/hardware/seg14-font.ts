/**
 * 14-segment glyphs for the Adafruit quad alphanumeric backpack (HT16K33,
 * docs/hardware.md §4.2), from Adafruit's alphafonttable. Bit n of a glyph:
 *
 *      ---A---            0 A   1 B   2 C   3 D   4 E   5 F
 *     |\  |  /|           6 G1  7 G2  8 H   9 J  10 K  11 L
 *     F H J K B          12 M  13 N  14 DP
 *     |  \|/  |
 *      -G1 G2-
 *     |  /|\  |
 *     E L M N C
 *     |/  |  \|
 *      ---D---
 *
 * Unlike 7 segments, every ticket letter has its own glyph here: B is not 8,
 * D and O are not 0 (the zero carries a slash), S is not 5, Z is not 2, and
 * K, M, V, W, X, Z are drawn with the diagonals. Lower case is shown as upper
 * case (tickets are written in upper case; the case is not what the
 * applicant has to read).
 */

export const SEG14_DP = 0x4000

export const SEG14_GLYPHS: Readonly<Record<string, number>> = Object.freeze({
  '0': 0x0c3f, '1': 0x0006, '2': 0x00db, '3': 0x008f, '4': 0x00e6,
  '5': 0x2069, '6': 0x00fd, '7': 0x0007, '8': 0x00ff, '9': 0x00ef,
  A: 0x00f7, B: 0x128f, C: 0x0039, D: 0x120f, E: 0x00f9, F: 0x0071, G: 0x00bd,
  H: 0x00f6, I: 0x1209, J: 0x001e, K: 0x2470, L: 0x0038, M: 0x0536, N: 0x2136,
  O: 0x003f, P: 0x00f3, Q: 0x203f, R: 0x20f3, S: 0x00ed, T: 0x1201, U: 0x003e,
  V: 0x0c30, W: 0x2836, X: 0x2d00, Y: 0x1500, Z: 0x0c09,
  '-': 0x00c0, ' ': 0x0000,
})

/** The characters a call number may contain on this display: digits, A–Z and '-'. */
export const SEG14_CHARSET: string = Object.keys(SEG14_GLYPHS)
  .filter((ch) => ch !== ' ')
  .join('')

export function glyph14For(ch: string): number | undefined {
  return SEG14_GLYPHS[ch] ?? SEG14_GLYPHS[ch.toUpperCase()]
}

export function canShowSeg14(text: string): boolean {
  return [...text].every((ch) => glyph14For(ch) !== undefined)
}

/**
 * Glyph words for `text`, right-aligned in `width` positions and padded with
 * blanks. Throws for a character with no glyph or a text wider than the display.
 */
export function encodeSeg14(text: string, width: number): Uint16Array {
  const chars = [...text]
  if (chars.length > width) {
    throw new RangeError(`"${text}" has ${chars.length} characters; the display has ${width} positions`)
  }
  const out = new Uint16Array(width)
  const pad = width - chars.length
  chars.forEach((ch, i) => {
    const glyph = glyph14For(ch)
    if (glyph === undefined) throw new RangeError(`cannot show '${ch}' (in "${text}") on a 14-segment display`)
    out[pad + i] = glyph
  })
  return out
}

/**
 * 7-segment glyphs for the Adafruit backpack wiring (HT16K33 bit order:
 * b0=A b1=B b2=C b3=D b4=E b5=F b6=G b7=DP), from Adafruit's sevensegfonttable.
 *
 * Call numbers are letter + digits, so the table only holds glyphs a person
 * cannot mistake for a digit: B and D are written as b/d (johnny-five writes
 * them as 8 and 0, so "B045" reads "8045"), O as a small o. Letters with no
 * readable glyph (K, M, V, W, X, Z) are refused rather than approximated.
 * S is the one exception kept: it is identical to 5 on any 7-segment display,
 * but halls do issue S-series tickets; the simulator flags it as ambiguous.
 */

export const SEG_DP = 0x80

export const SEG7_GLYPHS: Readonly<Record<string, number>> = Object.freeze({
  '0': 0x3f, '1': 0x06, '2': 0x5b, '3': 0x4f, '4': 0x66,
  '5': 0x6d, '6': 0x7d, '7': 0x07, '8': 0x7f, '9': 0x6f,
  A: 0x77, b: 0x7c, C: 0x39, d: 0x5e, E: 0x79, F: 0x71, G: 0x3d, H: 0x76,
  I: 0x30, J: 0x1e, L: 0x38, n: 0x54, o: 0x5c, P: 0x73, q: 0x67, r: 0x50,
  S: 0x6d, t: 0x78, U: 0x3e, y: 0x6e,
  '-': 0x40, _: 0x08, ' ': 0x00,
})

/**
 * The characters a call number may contain, as tickets are written (upper
 * case): what the counter checks a `call` against before accepting it.
 */
export const SEG7_CHARSET: string = Object.keys(SEG7_GLYPHS)
  .filter((ch) => /[0-9A-Za-z-]/.test(ch))
  .map((ch) => ch.toUpperCase())
  .join('')

function swapCase(ch: string): string {
  const upper = ch.toUpperCase()
  return upper === ch ? ch.toLowerCase() : upper
}

/** The glyph for one character, trying the other case when only that one exists (B → b, c → C). */
export function glyphFor(ch: string): number | undefined {
  return SEG7_GLYPHS[ch] ?? SEG7_GLYPHS[swapCase(ch)]
}

export function canShowSeg7(text: string): boolean {
  return [...text].every((ch) => glyphFor(ch) !== undefined)
}

/**
 * Glyph bytes for `text`, right-aligned in `width` positions and padded with
 * blanks, so a shorter number always overwrites every position of a longer one.
 * Throws for a character with no glyph or a text wider than the display: a
 * truncated or approximated call number would send someone to the wrong window.
 */
export function encodeSeg7(text: string, width: number): Uint8Array {
  const chars = [...text]
  if (chars.length > width) {
    throw new RangeError(`"${text}" has ${chars.length} characters; the display has ${width} positions`)
  }
  const out = new Uint8Array(width)
  const pad = width - chars.length
  chars.forEach((ch, i) => {
    const glyph = glyphFor(ch)
    if (glyph === undefined) {
      throw new RangeError(`cannot show '${ch}' (in "${text}") on a 7-segment display`)
    }
    out[pad + i] = glyph
  })
  return out
}

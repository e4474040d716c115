/**
 * What a person sees on a simulated call display, whichever chip drives it:
 * the HT16K33 models (7- and 14-segment backpacks) and the MAX7219 model all
 * answer view() with this, so tests and the control API read any window alike.
 */

export type BlinkView = 'off' | '2hz' | '1hz' | '0.5hz'

export interface DisplayView {
  /**
   * What a person reads: 'A023', 'B101' (a b glyph reads as the letter B),
   * '7' for a lone digit; '' while dark or blank. Leading and trailing blanks
   * are dropped; `glyphs` has the positions.
   */
  text: string
  /** Raw pattern of each position, left to right, lit or not (14-segment: 16-bit words). */
  glyphs: number[]
  colon: boolean
  /** Decimal points, left to right. */
  dots: boolean[]
  /** Powered and switched on (for a MAX7219: out of shutdown, at this instant). */
  lit: boolean
  /** Hardware blink (HT16K33); a MAX7219 has none, its driver blinks by switching `lit`. */
  blink: BlinkView
  /** Dimming / intensity step 0..15. */
  brightness: number
  /** Some position reads as two different characters (5/S on 7 segments). */
  ambiguous: boolean
  /** A pixel screen's text lines, top first, read off its pixels by the font (sim/screen-reader.ts); `text` joins them. */
  lines?: string[]
}

/** A display model the simulated window can hold: it shows something and can lose power. */
export interface SimDisplayModel {
  view(): DisplayView
  /** Power-on reset, as after an unplug and replug or a brown-out. */
  powerCycle(): void
}

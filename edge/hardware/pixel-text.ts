/**
 * Text onto a PixelFrame in a 16-pixel bitmap font: 8×16 halfwidth and
 * 16×16 fullwidth glyphs side by side, scaled by whole pixels for the large
 * call number. A character the font lacks is drawn as a box the width of a
 * fullwidth glyph and handed to `missing`, never dropped: a dropped character
 * can turn one call number into another.
 */
import { FONT_HEIGHT, type BitmapFont } from './bitmap-font.ts'
import type { PixelFrame } from './pixel-frame.ts'

export interface TextStyle {
  /** Whole-pixel magnification; 1 = the font's 16 px. */
  scale: number
}

/** Told of each character the font lacks, each time it is drawn (MissingGlyphs reports once). */
export type MissingGlyphSink = (char: string) => void

const BOX_WIDTH = 16

function advance(font: BitmapFont, ch: string): number {
  return font.glyph(ch.codePointAt(0)!)?.width ?? BOX_WIDTH
}

/** Width in pixels of `text` at `scale`. */
export function measureText(font: BitmapFont, text: string, scale = 1): number {
  let w = 0
  for (const ch of text) w += advance(font, ch) * scale
  return w
}

/** Draws `text` with its top-left corner at (x, y); returns the x after it. */
export function drawText(frame: PixelFrame, font: BitmapFont, text: string, x: number, y: number, style: TextStyle = { scale: 1 }, missing?: MissingGlyphSink): number {
  const s = style.scale
  for (const ch of text) {
    const glyph = font.glyph(ch.codePointAt(0)!)
    if (glyph === undefined) {
      missing?.(ch)
      drawBox(frame, x, y, s)
      x += BOX_WIDTH * s
      continue
    }
    if (x + glyph.width * s > 0 && x < frame.width) {
      for (let gy = 0; gy < FONT_HEIGHT; gy++) {
        const row = glyph.rows[gy]!
        for (let gx = 0; gx < glyph.width; gx++) {
          if (((row >> (glyph.width - 1 - gx)) & 1) === 0) continue
          for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) frame.set(x + gx * s + dx, y + gy * s + dy)
        }
      }
    }
    x += glyph.width * s
  }
  return x
}

/** The missing-glyph box: an outline one pixel inside a fullwidth cell. */
function drawBox(frame: PixelFrame, x: number, y: number, s: number): void {
  for (let i = 1; i < BOX_WIDTH - 1; i++) {
    for (const [gx, gy] of [
      [i, 1],
      [i, FONT_HEIGHT - 2],
      [1, i],
      [BOX_WIDTH - 2, i],
    ] as const) {
      for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) frame.set(x + gx * s + dx, y + gy * s + dy)
    }
  }
}

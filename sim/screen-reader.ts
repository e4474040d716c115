/**
 * Reads text back off a pixel screen's picture by matching it against the
 * font's glyphs, as a person reads it: so the control API and tests can say
 * "w01 shows 请A012号" from the pixels a model decoded, not from what the
 * driver meant to send.
 *
 * Lines sit where the layouts put them (edge/devices/screen-layouts.ts):
 * text rows of 16 px, or 32 px for the double-size line. At each x the
 * reader tries a fullwidth glyph, then a halfwidth one; blank cells are
 * skipped (runs of 8 blank columns or more between glyphs read as a space).
 */
import type { BitmapFont } from '../edge/hardware/bitmap-font.ts'
import type { PixelFrame } from '../edge/hardware/pixel-frame.ts'
import { FONT_HEIGHT } from '../edge/hardware/bitmap-font.ts'

export interface TextBand {
  y: number
  scale: number
}

/** The bands the layouts use for a screen of this height. */
export function screenBands(height: number, role: 'window' | 'officer'): TextBand[] {
  if (role === 'officer' || height < 64) return Array.from({ length: Math.floor(height / FONT_HEIGHT) }, (_, i) => ({ y: i * FONT_HEIGHT, scale: 1 }))
  return [
    { y: 0, scale: 1 },
    { y: 16, scale: 2 },
    { y: 48, scale: 1 },
  ]
}

export class ScreenReader {
  private readonly full = new Map<string, string>()
  private readonly half = new Map<string, string>()

  constructor(font: BitmapFont) {
    for (const cp of font.codePoints()) {
      const g = font.glyph(cp)!
      if (g.rows.every((r) => r === 0)) continue // blank glyphs (space) are the gaps themselves
      const key = Array.from(g.rows, (r) => r.toString(16)).join(',')
      const map = g.width === 16 ? this.full : this.half
      if (!map.has(key)) map.set(key, String.fromCodePoint(cp))
    }
  }

  /** The text of every band, trimmed; '' for a blank band. */
  read(frame: PixelFrame, bands: readonly TextBand[]): string[] {
    return bands.map((b) => this.readBand(frame, b))
  }

  private readBand(frame: PixelFrame, band: TextBand): string {
    let out = ''
    let gap = 0
    let x = 0
    while (x < frame.width) {
      let matched = false
      for (const [width, map] of [
        [16, this.full],
        [8, this.half],
      ] as const) {
        if (x + width * band.scale > frame.width) continue
        const ch = map.get(this.cellKey(frame, x, band, width))
        if (ch === undefined) continue
        if (out !== '' && gap >= 8 * band.scale) out += ' '
        out += ch
        gap = 0
        x += width * band.scale
        matched = true
        break
      }
      if (!matched) {
        x++
        gap++
      }
    }
    return out
  }

  private cellKey(frame: PixelFrame, x0: number, band: TextBand, width: number): string {
    const rows: string[] = []
    for (let gy = 0; gy < FONT_HEIGHT; gy++) {
      let row = 0
      for (let gx = 0; gx < width; gx++) {
        const x = x0 + gx * band.scale
        const y = band.y + gy * band.scale
        const on = frame.get(x, y)
        // A scaled pixel must be a whole block, else this is not a glyph at this scale.
        for (let dy = 0; dy < band.scale; dy++) for (let dx = 0; dx < band.scale; dx++) if (frame.get(x + dx, y + dy) !== on) return ''
        if (on) row |= 1 << (width - 1 - gx)
      }
      rows.push(row.toString(16))
    }
    return rows.join(',')
  }
}

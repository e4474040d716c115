/**
 * The reference the pixel-screen tests compare against: glyphs read straight
 * from the Debian package's font file (/usr/share/unifont/unifont.hex,
 * package `unifont`), not from the subset the product ships, and drawn by
 * this small independent renderer (centred lines, whole-pixel scaling), so a
 * wrong cut of the shipped file, a renderer bug or a driver bug all show.
 */
import { readFileSync } from 'node:fs'

export const DEBIAN_UNIFONT_HEX = '/usr/share/unifont/unifont.hex'

let cache: Map<number, string> | undefined

/** The .hex digits of a code point in Debian's unifont.hex. */
export function debianGlyphHex(ch: string): string {
  cache ??= new Map(
    readFileSync(DEBIAN_UNIFONT_HEX, 'latin1')
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [Number.parseInt(l.slice(0, l.indexOf(':')), 16), l.slice(l.indexOf(':') + 1).trim()] as const),
  )
  const hex = cache.get(ch.codePointAt(0)!)
  if (hex === undefined) throw new Error(`Debian's unifont.hex has no U+${ch.codePointAt(0)!.toString(16)}`)
  return hex
}

/** Glyph width in pixels: 32 hex digits are 8×16, 64 are 16×16. */
export function debianGlyphWidth(ch: string): number {
  return debianGlyphHex(ch).length === 64 ? 16 : 8
}

/** Row y (0..15) of the glyph as a string of '#' and '.'. */
export function debianGlyphRow(ch: string, y: number): string {
  const hex = debianGlyphHex(ch)
  const digits = hex.length / 16
  const bits = Number.parseInt(hex.slice(y * digits, (y + 1) * digits), 16)
  const w = digits * 4
  let row = ''
  for (let x = 0; x < w; x++) row += (bits >> (w - 1 - x)) & 1 ? '#' : '.'
  return row
}

export interface ReferenceLine {
  text: string
  y: number
  scale: number
}

/**
 * Lines drawn centred on a width × height screen, as '#'/'.' rows (what
 * PixelFrame.toRows() gives); a line wider than the screen starts at the
 * left edge and is cut, as a scrolling line looks before its first step.
 */
export function referenceRows(lines: readonly ReferenceLine[], width: number, height: number): string[] {
  const grid = Array.from({ length: height }, () => Array.from({ length: width }, () => '.'))
  for (const line of lines) {
    const chars = [...line.text]
    const w = chars.reduce((n, ch) => n + debianGlyphWidth(ch) * line.scale, 0)
    let x = w > width ? 0 : Math.floor((width - w) / 2)
    for (const ch of chars) {
      for (let gy = 0; gy < 16; gy++) {
        const row = debianGlyphRow(ch, gy)
        for (let gx = 0; gx < row.length; gx++) {
          if (row[gx] !== '#') continue
          for (let dy = 0; dy < line.scale; dy++)
            for (let dx = 0; dx < line.scale; dx++) {
              const py = line.y + gy * line.scale + dy
              const px = x + gx * line.scale + dx
              if (py < height && px >= 0 && px < width) grid[py]![px] = '#'
            }
        }
      }
      x += debianGlyphWidth(ch) * line.scale
    }
  }
  return grid.map((r) => r.join(''))
}

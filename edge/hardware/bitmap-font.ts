/**
 * A 16-pixel-high bitmap font in GNU Unifont's .hex format (docs/hardware.md
 * §4.6): one line per code point, `XXXX:` and 32 hex digits for an 8×16
 * (halfwidth) glyph or 64 for a 16×16 (fullwidth) one, rows top to bottom,
 * the most significant bit the leftmost pixel.
 *
 * The product ships the part of Unifont a window screen needs
 * (edge/hardware/fonts/unifont-cjk.hex.gz, cut by cli/build/unifont-subset.ts
 * from the Debian package's unifont.hex), so a board needs no font package;
 * tests read the Debian file itself as the independent reference.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { PACKAGE_ROOT } from '../shared/package-root.ts'

export const FONT_HEIGHT = 16

/** The shipped subset of GNU Unifont (GPL-2+ with the font embedding exception, or OFL-1.1: edge/hardware/fonts/LICENSE). */
export const SHIPPED_FONT_FILE = join(PACKAGE_ROOT, 'edge', 'hardware', 'fonts', 'unifont-cjk.hex.gz')

/** What the shipped subset holds: ASCII, Latin-1's middle dot, CJK punctuation, the CJK Unified Ideographs, fullwidth forms. */
export const SHIPPED_FONT_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x0020, 0x007e],
  [0x00b7, 0x00b7],
  [0x2014, 0x2014],
  [0x3000, 0x303f],
  [0x4e00, 0x9fff],
  [0xff01, 0xff5e],
]

export interface Glyph {
  /** 8 (halfwidth) or 16 (fullwidth) pixels. */
  width: 8 | 16
  /** FONT_HEIGHT rows, top first; bit (width − 1 − x) of a row is pixel x. */
  rows: Uint16Array
}

export class BitmapFont {
  readonly name: string
  readonly height = FONT_HEIGHT
  private readonly hex = new Map<number, string>()
  private readonly parsed = new Map<number, Glyph>()

  private constructor(name: string) {
    this.name = name
  }

  /** Parses .hex text; a malformed line is an error naming its line number, never a silently missing glyph. */
  static fromHex(text: string, name: string): BitmapFont {
    const font = new BitmapFont(name)
    const lines = text.split('\n')
    lines.forEach((raw, i) => {
      const line = raw.trim()
      if (line === '') return
      const m = /^([0-9A-Fa-f]{4,6}):([0-9A-Fa-f]{32}|[0-9A-Fa-f]{64})$/.exec(line)
      if (!m) throw new Error(`${name}: line ${i + 1} is not a 8×16 or 16×16 .hex glyph: "${line.slice(0, 40)}"`)
      font.hex.set(Number.parseInt(m[1]!, 16), m[2]!)
    })
    return font
  }

  get size(): number {
    return this.hex.size
  }

  has(codePoint: number): boolean {
    return this.hex.has(codePoint)
  }

  /** The glyph of a code point, or undefined when the font lacks it. */
  glyph(codePoint: number): Glyph | undefined {
    const cached = this.parsed.get(codePoint)
    if (cached) return cached
    const hex = this.hex.get(codePoint)
    if (hex === undefined) return undefined
    const width = hex.length === 64 ? 16 : 8
    const digits = width / 4
    const rows = new Uint16Array(FONT_HEIGHT)
    for (let y = 0; y < FONT_HEIGHT; y++) rows[y] = Number.parseInt(hex.slice(y * digits, (y + 1) * digits), 16)
    const glyph: Glyph = { width, rows }
    this.parsed.set(codePoint, glyph)
    return glyph
  }

  /** Every code point the font has, ascending. */
  codePoints(): number[] {
    return [...this.hex.keys()].sort((a, b) => a - b)
  }
}

function decode(file: string, bytes: Buffer): string {
  return (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('latin1')
}

/** Loads a .hex or .hex.gz font file. */
export async function loadHexFont(file: string = SHIPPED_FONT_FILE): Promise<BitmapFont> {
  return BitmapFont.fromHex(decode(file, await readFile(file)), file)
}

/** The same, synchronously: for the simulator's models, built in constructors. */
export function loadHexFontSync(file: string = SHIPPED_FONT_FILE): BitmapFont {
  return BitmapFont.fromHex(decode(file, readFileSync(file)), file)
}

import { statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BitmapFont, loadHexFont, SHIPPED_FONT_FILE, SHIPPED_FONT_RANGES } from '../../edge/hardware/bitmap-font.ts'
import { PixelFrame } from '../../edge/hardware/pixel-frame.ts'
import { drawText, measureText } from '../../edge/hardware/pixel-text.ts'
import { DEBIAN_UNIFONT_HEX, debianGlyphHex, referenceRows } from '../support/unifont-reference.ts'

describe('the shipped font: a cut of GNU Unifont', () => {
  it('holds exactly Debian unifont.hex\'s glyphs for its ranges, byte for byte, and stays small', async () => {
    const shipped = await loadHexFont()
    const debian = await loadHexFont(DEBIAN_UNIFONT_HEX)
    const inRanges = debian.codePoints().filter((cp) => SHIPPED_FONT_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi))
    expect(shipped.codePoints()).toEqual(inRanges)
    for (const cp of inRanges) expect(shipped.glyph(cp), `U+${cp.toString(16)}`).toEqual(debian.glyph(cp))
    // Every CJK Unified Ideograph of the basic block, and what a call needs.
    for (let cp = 0x4e00; cp <= 0x9fff; cp++) expect(shipped.has(cp)).toBe(true)
    for (const ch of '请号评价暂停服务休息窗口关闭警姓名0123456789ABCZ，：') expect(shipped.has(ch.codePointAt(0)!), ch).toBe(true)
    expect(statSync(SHIPPED_FONT_FILE).size).toBeLessThan(600_000)
  })

  it('draws halfwidth and fullwidth glyphs side by side, pixel for pixel as the font file says', async () => {
    const font = await loadHexFont()
    expect(measureText(font, '请A012号')).toBe(64)
    const frame = new PixelFrame(64, 16)
    expect(drawText(frame, font, '请A012号', 0, 0)).toBe(64)
    expect(frame.toRows()).toEqual(referenceRows([{ text: '请A012号', y: 0, scale: 1 }], 64, 16))
    const big = new PixelFrame(128, 32)
    drawText(big, font, '请A012号', 0, 0, { scale: 2 })
    expect(big.toRows()).toEqual(referenceRows([{ text: '请A012号', y: 0, scale: 2 }], 128, 32))
  })

  it('draws a character the font lacks as a box and says which, never skipping it', () => {
    const font = BitmapFont.fromHex(`0041:${debianGlyphHex('A')}\n`, 'one glyph')
    const missing: string[] = []
    const frame = new PixelFrame(32, 16)
    expect(drawText(frame, font, 'AЖ', 0, 0, { scale: 1 }, (ch) => missing.push(ch))).toBe(24)
    expect(missing).toEqual(['Ж'])
    const box = frame.toRows().map((r) => r.slice(8, 24))
    expect(box[1]).toBe('.##############.')
    expect(box[7]).toBe('.#............#.')
    expect(box[14]).toBe('.##############.')
  })

  it('refuses a malformed font line by its number', () => {
    expect(() => BitmapFont.fromHex('0041:00FF\n', 'bad.hex')).toThrow(/bad.hex: line 1/)
  })
})

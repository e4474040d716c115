import { describe, expect, it } from 'vitest'
import { canShowSeg7, encodeSeg7, SEG7_CHARSET } from '../../edge/hardware/seg7-font.ts'

describe('encodeSeg7', () => {
  it('uses the Adafruit digit patterns (docs/hardware.md §4.2)', () => {
    expect([...encodeSeg7('0123', 4)]).toEqual([0x3f, 0x06, 0x5b, 0x4f])
    expect([...encodeSeg7('4567', 4)]).toEqual([0x66, 0x6d, 0x7d, 0x07])
    expect([...encodeSeg7('89', 2)]).toEqual([0x7f, 0x6f])
  })

  it('writes B and D as b and d, and O as a small o, so none reads as a digit', () => {
    expect([...encodeSeg7('B8D0', 4)]).toEqual([0x7c, 0x7f, 0x5e, 0x3f])
    expect([...encodeSeg7('O', 1)]).toEqual([0x5c])
    expect(encodeSeg7('b', 1)).toEqual(encodeSeg7('B', 1))
  })

  it('maps both cases of a letter to the one glyph it has', () => {
    expect([...encodeSeg7('AaCc', 4)]).toEqual([0x77, 0x77, 0x39, 0x39])
    expect([...encodeSeg7('NnRr', 4)]).toEqual([0x54, 0x54, 0x50, 0x50])
  })

  it('right-aligns and pads with blanks, so a shorter number overwrites every position', () => {
    expect([...encodeSeg7('7', 4)]).toEqual([0, 0, 0, 0x07])
    expect([...encodeSeg7('', 4)]).toEqual([0, 0, 0, 0])
    expect([...encodeSeg7('-_', 4)]).toEqual([0, 0, 0x40, 0x08])
  })

  it('refuses a character without a readable glyph, naming it', () => {
    expect(() => encodeSeg7('K012', 4)).toThrow(/'K'.*K012/)
    expect(() => encodeSeg7('A.12', 4)).toThrow(/'\.'/)
    expect(canShowSeg7('Z')).toBe(false)
    expect(canShowSeg7('A023')).toBe(true)
  })

  it('refuses a text wider than the display instead of truncating it', () => {
    expect(() => encodeSeg7('A0234', 4)).toThrow(RangeError)
  })

  it('publishes the characters a ticket may use', () => {
    expect(SEG7_CHARSET).toBe('0123456789ABCDEFGHIJLNOPQRSTUY-')
    for (const ch of SEG7_CHARSET) expect(canShowSeg7(ch)).toBe(true)
  })
})

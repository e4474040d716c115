import { describe, expect, it } from 'vitest'
import { decodeSeg7, decodeSeg7Text, max7219ToHt16k33 } from '../../sim/seg7-decoder.ts'

describe('seg7 decoder', () => {
  it('reads digits before letters that share their pattern', () => {
    // johnny-five writes B as 0x7F and D/O as 0x3F: a person reads 8 and 0.
    expect(decodeSeg7(0x7f).char).toBe('8')
    expect(decodeSeg7(0x3f).char).toBe('0')
    expect(decodeSeg7(0x06).char).toBe('1')
  })

  it('reads letters in upper case in the text, keeping the font character per glyph', () => {
    expect(decodeSeg7(0x7c).char).toBe('b')
    expect(decodeSeg7Text([0x7c, 0x06, 0x3f, 0x06]).text).toBe('B101')
    expect(decodeSeg7Text([0x77, 0x3f, 0x5b, 0x4f]).text).toBe('A023')
    expect(decodeSeg7Text([0x5c, 0x3f]).text).toBe('O0')
  })

  it('flags a pattern that stands for two characters (S and 5)', () => {
    expect(decodeSeg7(0x6d)).toMatchObject({ char: '5', ambiguous: true })
    expect(decodeSeg7(0x7c).ambiguous).toBe(false)
    expect(decodeSeg7Text([0x6d, 0x3f]).ambiguous).toBe(true)
    expect(decodeSeg7Text([0x77, 0x3f, 0x5b, 0x4f]).ambiguous).toBe(false)
  })

  it('reads J5-only patterns from the converted J5 font', () => {
    expect(max7219ToHt16k33(0x46)).toBe(0x31) // T
    expect(max7219ToHt16k33(0x17)).toBe(0x74) // h
    expect(max7219ToHt16k33(0x7d)).toBe(0x5f) // a
    expect(max7219ToHt16k33(0x7e)).toBe(0x3f) // 0
    expect(decodeSeg7(0x31).char).toBe('T')
    expect(decodeSeg7(0x74)).toMatchObject({ char: 'h', ambiguous: true }) // J5 uses it for h and k
  })

  it('shows ? for an unknown pattern and reports decimal points apart', () => {
    expect(decodeSeg7(0x49).char).toBe('?')
    expect(decodeSeg7(0x86)).toMatchObject({ char: '1', dot: true })
    expect(decodeSeg7Text([0x86, 0x00]).dots).toEqual([true, false])
  })
})

import { describe, expect, it } from 'vitest'
import { Ht16k33Model } from '../../sim/ht16k33-model.ts'

function seeded(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31
    return s / 2 ** 31
  }
}

const w = (m: Ht16k33Model, ...bytes: number[]) => m.write(Uint8Array.from(bytes))

describe('Ht16k33Model', () => {
  it('powers up dark with random RAM, which shows if the display is lit without a clear', () => {
    const m = new Ht16k33Model({ random: seeded(7) })
    expect(m.view()).toMatchObject({ lit: false, text: '' })
    expect(m.ram.some((b) => b !== 0)).toBe(true)
    w(m, 0x21)
    w(m, 0x81)
    expect(m.view().lit).toBe(true)
    expect(m.view().text).not.toBe('')
  })

  it("decodes johnny-five's init trace and its ambiguous B (docs/hardware.md §3.4)", () => {
    const m = new Ht16k33Model({ random: seeded(1) })
    w(m, 0x21)
    w(m, 0x81)
    w(m, 0xef)
    w(m, 0x00, ...new Array<number>(16).fill(0))
    expect(m.view()).toMatchObject({ lit: true, text: '', blink: 'off', brightness: 15, colon: false })
    // J5 print('B045'): B goes out as 0x7F, so the window shows 8045.
    w(m, 0x00, 0x7f, 0, 0x3f, 0, 0, 0, 0x66, 0, 0x6d, 0)
    expect(m.view().text).toBe('8045')
  })

  it('auto-increments the RAM pointer and wraps 0x0F → 0x00', () => {
    const m = new Ht16k33Model({ random: () => 0 })
    w(m, 0x0f, 0xaa, 0xbb, 0xcc)
    expect(m.ram[15]).toBe(0xaa)
    expect(m.ram[0]).toBe(0xbb)
    expect(m.ram[1]).toBe(0xcc)
    w(m, 0x0e)
    expect([...m.read(3)]).toEqual([0, 0xaa, 0xbb])
  })

  it('decodes display setup, blink, dimming and the colon', () => {
    const m = new Ht16k33Model({ random: () => 0 })
    w(m, 0x21)
    w(m, 0x85)
    w(m, 0xe7)
    w(m, 0x04, 0x02)
    expect(m.view()).toMatchObject({ lit: true, blink: '1hz', brightness: 7, colon: true })
    w(m, 0x87)
    expect(m.view().blink).toBe('0.5hz')
    w(m, 0x80)
    expect(m.view()).toMatchObject({ lit: false, text: '', colon: false })
    w(m, 0x20)
    expect(m.osc).toBe(false)
  })

  it('records protocol warnings for extra bytes and unknown commands', () => {
    const m = new Ht16k33Model()
    w(m, 0x21, 0x00)
    w(m, 0x30)
    expect(m.warnings).toEqual(['1 byte(s) after one-byte command 0x21 ignored', 'unknown command 0x30'])
  })

  it('reads key RAM and the INT flag as zero (key scan is not wired)', () => {
    const m = new Ht16k33Model({ random: () => 0.5 })
    w(m, 0x40)
    expect([...m.read(6)]).toEqual([0, 0, 0, 0, 0, 0])
    w(m, 0x60)
    expect([...m.read(1)]).toEqual([0])
  })

  it('flags an ambiguous reading (S reads as 5)', () => {
    const m = new Ht16k33Model({ random: () => 0 })
    w(m, 0x21)
    w(m, 0x81)
    w(m, 0x00, 0x6d, 0, 0x3f, 0, 0, 0, 0x06, 0, 0x5b, 0)
    expect(m.view()).toMatchObject({ text: '5012', ambiguous: true })
  })
})

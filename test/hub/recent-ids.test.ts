import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { RecentIds } from '../../hub/recent-ids.ts'

describe('recent ids', () => {
  it('a copy is told apart from a first sight; past the limit the oldest is forgotten first', () => {
    const ids = new RecentIds(3)
    expect(ids.add('a')).toBe(true)
    expect(ids.add('a')).toBe(false)
    for (const id of ['b', 'c', 'd']) expect(ids.add(id)).toBe(true)
    expect(ids.size).toBe(3)
    expect(ids.has('a')).toBe(false)
    expect(['b', 'c', 'd'].every((id) => ids.has(id))).toBe(true)
    // A copy is not a new sighting: it does not make its id younger.
    expect(ids.add('b')).toBe(false)
    ids.add('e')
    expect(ids.has('b')).toBe(false)
  })

  it('holds exactly the last `keep` distinct ids of any sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 20 }).map(String), { maxLength: 200 }), (keep, seq) => {
        const ids = new RecentIds(keep)
        const order: string[] = []
        for (const id of seq) {
          const fresh = !order.includes(id)
          expect(ids.add(id)).toBe(fresh)
          if (fresh) order.push(id)
          if (order.length > keep) order.shift()
        }
        expect(ids.size).toBe(order.length)
        for (const id of order) expect(ids.has(id)).toBe(true)
      }),
    )
  })

  it('refuses a limit that is not a whole number of ids', () => {
    expect(() => new RecentIds(0)).toThrow(/keep must be a whole number/)
    expect(() => new RecentIds(2.5)).toThrow(/got 2.5/)
  })
})

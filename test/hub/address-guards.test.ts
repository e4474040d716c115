import { describe, it, expect } from 'vitest'
import { ConnectionGuard, normalizeAddress } from '../../hub/address-guards.ts'

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('connections per address', () => {
  it('caps open connections per address, and frees a slot on release', () => {
    const g = new ConnectionGuard({ maxPerAddress: 2, burst: 100, perSecond: 100 })
    expect(g.admit('a').ok).toBe(true)
    expect(g.admit('a').ok).toBe(true)
    const third = g.admit('a')
    expect(third.ok).toBe(false)
    if (!third.ok) expect(third.reason).toContain('cap 2')
    expect(g.admit('b').ok).toBe(true)
    g.release('a')
    expect(g.admit('a').ok).toBe(true)
    expect(g.openFrom('a')).toBe(2)
  })

  it('limits the connect rate with a burst and a steady refill', () => {
    const c = clock()
    const g = new ConnectionGuard({ maxPerAddress: 100, burst: 3, perSecond: 2 }, c.now)
    for (let i = 0; i < 3; i++) {
      expect(g.admit('a').ok).toBe(true)
      g.release('a')
    }
    const refused = g.admit('a')
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.reason).toMatch(/^connecting faster/)
    c.advance(500)
    expect(g.admit('a').ok).toBe(true)
  })

  it('treats IPv4-mapped IPv6 as the IPv4 address', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3')
    expect(normalizeAddress(undefined)).toBe('unknown')
  })
})

import { describe, it, expect } from 'vitest'
import { ConnectionGuard, LoginGuard, normalizeAddress } from '../../hub/address-guards.ts'

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('login backoff per address', () => {
  it('lets a few failures pass, then doubles the backoff, refusing before any password check', () => {
    const c = clock()
    const g = new LoginGuard({ freeFailures: 2, baseMs: 1000, maxMs: 8000 }, c.now)
    expect(g.failed('10.0.0.5')).toBe(0)
    expect(g.failed('10.0.0.5')).toBe(0)
    expect(g.check('10.0.0.5')).toEqual({ ok: true })
    expect(g.failed('10.0.0.5')).toBe(1000)
    expect(g.check('10.0.0.5')).toEqual({ ok: false, retryInMs: 1000 })
    expect(g.check('10.0.0.6')).toEqual({ ok: true }) // other addresses are not affected
    c.advance(1000)
    expect(g.check('10.0.0.5')).toEqual({ ok: true })
    expect(g.failed('10.0.0.5')).toBe(2000)
    expect(g.failed('10.0.0.5')).toBe(4000)
    expect(g.failed('10.0.0.5')).toBe(8000)
    expect(g.failed('10.0.0.5')).toBe(8000) // capped
  })

  it('a success clears the record; a long quiet spell forgets it', () => {
    const c = clock()
    const g = new LoginGuard({ freeFailures: 0, baseMs: 100, maxMs: 1000 }, c.now)
    g.failed('a')
    g.succeeded('a')
    expect(g.check('a')).toEqual({ ok: true })
    g.failed('b')
    g.failed('b')
    c.advance(5000)
    expect(g.check('b')).toEqual({ ok: true })
    expect(g.failed('b')).toBe(100) // counting starts over
  })
})

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

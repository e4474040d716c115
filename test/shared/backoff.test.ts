import { describe, it, expect } from 'vitest'
import { Backoff, backoffDelay } from '../../edge/shared/backoff.ts'

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap; the jitter is never below half the step nor above it', () => {
    const high = () => 1
    const low = () => 0
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 1000, 30_000, high))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
    expect([0, 1, 2, 6].map((n) => backoffDelay(n, 1000, 30_000, low))).toEqual([500, 1000, 2000, 15_000])
    expect(backoffDelay(3, 1000, 30_000, () => 0.5)).toBe(6000)
    // A long outage neither overflows nor exceeds the cap.
    expect(backoffDelay(1000, 1000, 30_000, high)).toBe(30_000)
    // A cap below the first step does not make the first step shorter.
    expect(backoffDelay(0, 1000, 10, high)).toBe(1000)
  })

  it('spreads the delays of one attempt over its whole range', () => {
    let seed = 1
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646
    const delays = Array.from({ length: 200 }, () => backoffDelay(3, 1000, 30_000, random))
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(4000)
    expect(Math.max(...delays)).toBeLessThanOrEqual(8000)
    expect(new Set(delays).size).toBeGreaterThan(50)
  })
})

describe('Backoff', () => {
  it('grows with each attempt and starts again after reset', () => {
    const b = new Backoff({ minMs: 100, maxMs: 1000, random: () => 1 })
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000])
    expect(b.attempts).toBe(5)
    b.reset()
    expect(b.next()).toBe(100)
  })

  it('starts again from the minimum only after a connection that lasted stableMs', () => {
    let now = 0
    const b = new Backoff({ minMs: 100, maxMs: 10_000, stableMs: 5_000, random: () => 1, now: () => now })
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400])
    // Accepted, then dropped at once: still backing off.
    b.connected()
    now += 4_999
    b.disconnected()
    expect(b.next()).toBe(800)
    b.connected()
    now += 5_000
    b.disconnected()
    expect(b.next()).toBe(100)
    // A disconnect without a connection in between changes nothing.
    b.disconnected()
    expect(b.next()).toBe(200)
  })
})

import { describe, it, expect } from 'vitest'
import { reconnectDelay } from '../../hub/bridge.ts'

describe('bridge reconnect backoff', () => {
  it('doubles per attempt up to the cap, always with jitter', () => {
    const low = () => 0
    const high = () => 1
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => reconnectDelay(n, 1000, 30_000, high))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
    expect([0, 1, 2, 6].map((n) => reconnectDelay(n, 1000, 30_000, low))).toEqual([500, 1000, 2000, 15_000])
    const spread = new Set(Array.from({ length: 50 }, () => reconnectDelay(3, 1000, 30_000, Math.random)))
    expect(spread.size).toBeGreaterThan(10)
    expect(reconnectDelay(1000, 1000, 30_000, high)).toBe(30_000) // no overflow for a long outage
  })
})

import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { WINDOW_MODES, type WindowMode } from '../../edge/protocol/index.ts'
import { boardsToRelease, fairShare, QUIET_MODES, type PlacedBoard } from '../../hub/board-spread.ts'

const NOW = 1_000_000
const SETTLE = 10_000

const board = (counter: string, mode: WindowMode | null, over: Partial<PlacedBoard> = {}): PlacedBoard => ({ counter, mode, connectedAt: NOW - SETTLE, heldUntil: 0, ...over })
const release = (others: number[], mine: PlacedBoard[], max = 1, inTransit = 0) => boardsToRelease({ others, mine, inTransit, now: NOW, settleMs: SETTLE, max })

describe('which boards a node lets go (hub/board-spread.ts)', () => {
  it('all on this node after the other was down: one quiet board per round, closed first, then paused, then idle', () => {
    const mine = [board('w01', 'serving'), board('w02', 'idle'), board('w03', 'calling'), board('w04', 'paused'), board('w05', 'evaluating'), board('w06', 'closed')]
    expect(release([0], mine)).toEqual(['w06'])
    expect(release([0], mine, 5)).toEqual(['w06', 'w04', 'w02'])
  })

  it('never a window mid-service, one without a known mode, one just arrived, or one held here', () => {
    const mine = [
      board('w01', 'serving'),
      board('w02', 'calling'),
      board('w03', 'evaluating'),
      board('w04', null),
      board('w05', 'idle', { connectedAt: NOW - SETTLE + 1 }),
      board('w06', 'idle', { heldUntil: NOW + 1 }),
    ]
    expect(release([0], mine, 6)).toEqual([])
  })

  it('nothing at or under the share, nothing without another live node, nothing when no other node has room', () => {
    const idle = (n: number) => Array.from({ length: n }, (_, i) => board(`w${i}`, 'idle'))
    expect(release([], idle(5))).toEqual([])
    expect(release([5], idle(5))).toEqual([])
    expect(release([4], idle(5))).toEqual([]) // 9 over 2: a share of 5
    expect(release([3], idle(5))).toEqual(['w0'])
    // Boards let go a moment ago count as elsewhere: a stale count of the other node does not make this one let go too many.
    expect(release([0], idle(2), 1, 2)).toEqual([])
  })

  it('property: what it lets go is quiet, settled, not held, here, and never takes this node under its share', () => {
    const placed = fc.record({
      mode: fc.option(fc.constantFrom(...WINDOW_MODES), { nil: null }),
      age: fc.integer({ min: 0, max: 3 * SETTLE }),
      held: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(placed, { maxLength: 40 }), fc.array(fc.nat(40), { maxLength: 4 }), fc.integer({ min: 1, max: 10 }), fc.nat(5), (ps, others, max, inTransit) => {
        const mine = ps.map((p, i) => board(`w${String(i).padStart(2, '0')}`, p.mode, { connectedAt: NOW - p.age, heldUntil: p.held ? NOW + 1 : 0 }))
        const out = release(others, mine, max, inTransit)
        expect(new Set(out).size).toBe(out.length)
        expect(out.length).toBeLessThanOrEqual(max)
        for (const c of out) {
          const b = mine.find((m) => m.counter === c)!
          expect(b.mode !== null && QUIET_MODES.has(b.mode)).toBe(true)
          expect(NOW - b.connectedAt).toBeGreaterThanOrEqual(SETTLE)
          expect(b.heldUntil).toBeLessThanOrEqual(NOW)
        }
        const total = mine.length + inTransit + others.reduce((a, b) => a + b, 0)
        if (out.length > 0) expect(mine.length - out.length).toBeGreaterThanOrEqual(fairShare(total, others.length + 1))
      }),
      { numRuns: 2_000 },
    )
  })

  it('property: a hall spreads to no node above its share, every node running the same choice, boards moving to the next node', () => {
    // Boards take the next address of their list when let go (edge/shared/mqtt-connect.ts): here the next node, round the ring.
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 30 }), fc.array(fc.constantFrom(...WINDOW_MODES), { minLength: 30, maxLength: 30 }), (n, boards, modes) => {
        const at: number[] = Array.from({ length: boards }, () => 0)
        const busy = (i: number) => !QUIET_MODES.has(modes[i]!)
        for (let round = 0; round < 200; round++) {
          let moved = false
          for (let node = 0; node < n; node++) {
            const mine = at.flatMap((where, i) => (where === node ? [board(`w${String(i).padStart(2, '0')}`, modes[i]!)] : []))
            const others = Array.from({ length: n }, (_, k) => k).filter((k) => k !== node).map((k) => at.filter((w) => w === k).length)
            for (const c of release(others, mine)) {
              const i = Number(c.slice(1))
              expect(busy(i)).toBe(false)
              at[i] = (node + 1) % n
              moved = true
            }
          }
          if (!moved) break
        }
        const counts = Array.from({ length: n }, (_, k) => at.filter((w) => w === k).length)
        const quiet = at.filter((_, i) => !busy(i)).length
        // Every window quiet: no node above its share (two nodes: even to within one); busy windows stay where they are.
        if (quiet === boards) expect(Math.max(...counts)).toBeLessThanOrEqual(fairShare(boards, n))
        if (quiet === boards && n === 2) expect(Math.abs(counts[0]! - counts[1]!)).toBeLessThanOrEqual(1)
        for (let i = 0; i < boards; i++) if (busy(i)) expect(at[i]).toBe(0)
      }),
      { numRuns: 300 },
    )
  })
})

import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { CustodyLog } from '../../hub/custody-log.ts'
import { MemoryCustodyStore, type CustodyRecord } from '../../hub/custody-store.ts'
import { silentLogger } from '../../edge/shared/logger.ts'

/** A store whose writes can be made to fail (a full disk). */
class FailingStore extends MemoryCustodyStore {
  fail = false
  override async write(puts: readonly CustodyRecord[], dels: readonly number[], sync: boolean): Promise<void> {
    if (this.fail && puts.length > 0) throw new Error('disk full')
    return super.write(puts, dels, sync)
  }
}

type Op = { kind: 'append'; n: number; fail: boolean } | { kind: 'ack'; pick: number } | { kind: 'read'; after: number; limit: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 6 }), fail: fc.integer({ min: 0, max: 9 }).map((x) => x === 0) }),
  fc.record({ kind: fc.constant('ack' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('read' as const), after: fc.nat({ max: 80 }), limit: fc.integer({ min: 1, max: 9 }) }),
)

describe('custody log: the bridge reads what is durable and unacknowledged, in order, whatever the cache holds', () => {
  it('over random appends (some failing), acknowledgements and reads from any point, with a cache smaller than the backlog', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), async (ops, cacheLimit) => {
        const store = new FailingStore()
        const log = new CustodyLog({ store, log: silentLogger(), cacheLimit, deleteDelayMs: 1 })
        await log.start()
        const durable = new Set<number>()
        const acked = new Set<number>()
        try {
          for (const o of ops) {
            if (o.kind === 'append') {
              store.fail = o.fail
              const outcomes = await Promise.allSettled(Array.from({ length: o.n }, (_, i) => log.append({ topic: 'hall/h1/counter/w01/event/called', payload: Buffer.from(`{"n":${i}}`), qos: 1, retain: false })))
              store.fail = false
              for (const x of outcomes) if (x.status === 'fulfilled') durable.add(x.value)
            } else if (o.kind === 'ack') {
              const open = [...durable].filter((s) => !acked.has(s))
              if (open.length === 0) continue
              const seq = open[o.pick % open.length]!
              acked.add(seq)
              log.ack(seq)
            } else {
              const got = await log.next(o.after, o.limit)
              const seqs = got.map((r) => r.seq)
              expect(seqs.length).toBeLessThanOrEqual(o.limit)
              for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!)
              for (const s of seqs) {
                expect(s).toBeGreaterThan(o.after)
                expect(durable.has(s)).toBe(true) // nothing that failed to be written, nothing invented
              }
              // An acknowledged record may still come back from the store until its delete is written; an open one is never skipped.
              const open = [...durable].filter((s) => s > o.after && !acked.has(s)).sort((a, b) => a - b)
              const last = seqs.length === o.limit ? seqs[seqs.length - 1]! : Infinity
              expect(seqs.filter((s) => !acked.has(s))).toEqual(open.filter((s) => s <= last))
            }
          }
          expect(log.size).toBe(durable.size - acked.size)
        } finally {
          await log.stop()
        }
      }),
      { numRuns: 150 },
    )
  })
})

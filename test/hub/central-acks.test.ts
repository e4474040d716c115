import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { InOrderAcks } from '../../hub/central-acks.ts'

describe('InOrderAcks', () => {
  it('acknowledges each publish once, in the order they came, and none before it and every earlier one are safe', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 40 }), { maxLength: 120 }), (script) => {
        const sent: number[] = []
        const acks = new InOrderAcks((id) => sent.push(id))
        const safe: Array<() => void> = []
        const isSafe = new Set<number>()
        let taken = 0
        for (const step of script) {
          // Even steps take a new publish (message ids wrap as MQTT's do); odd ones make a random taken one safe, maybe again.
          if (step % 2 === 0 || taken === 0) {
            safe.push(acks.take((taken % 65_535) + 1))
            taken++
          } else {
            const i = step % taken
            safe[i]!()
            isSafe.add(i)
          }
          // What was sent is exactly the longest run of safe publishes from the first.
          let run = 0
          while (isSafe.has(run)) run++
          expect(sent).toEqual(Array.from({ length: run }, (_, i) => (i % 65_535) + 1))
          expect(acks.waiting).toBe(taken - run)
        }
      }),
    )
  })
})

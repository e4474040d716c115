import { describe, it, expect } from 'vitest'
import { eventExamples, topics, type EventType } from '../../edge/protocol/index.ts'
import { CentralRatings, tallyRatings } from './central-ratings.ts'

/**
 * The tally test/e2e/ratings-at-central.test.ts judges by: it must see a
 * double rating, a missing one, a rating for a service not served and a lost
 * finish, and must not take the chain's redelivery of one id for any of them.
 */

let seq = 0
function deliver(c: CentralRatings, type: EventType, fields: Record<string, unknown>, id = `e01-b00t-${seq++}`): string {
  const { id: _id, seq: _seq, ...example } = eventExamples[type] as unknown as Record<string, unknown>
  c.add(topics.event('h1', 'e01', type), Buffer.from(JSON.stringify({ ...example, id, seq: seq++, ...fields })))
  return id
}

function service(c: CentralRatings, record: string, outcome: 'served' | 'transferred', cmd: string): void {
  deliver(c, 'called', { record })
  deliver(c, 'service-started', { record })
  deliver(c, 'service-finished', { record, outcome, cmd })
}

describe('tallyRatings', () => {
  it('counts one outcome per served record, and a redelivered id as a transport duplicate only', () => {
    const c = new CentralRatings()
    service(c, 'e01-b00t-1', 'served', 'f1')
    const rating = deliver(c, 'evaluated', { record: 'e01-b00t-1', early: true })
    deliver(c, 'evaluated', { record: 'e01-b00t-1', early: true }, rating)
    service(c, 'e01-b00t-2', 'served', 'f2')
    deliver(c, 'evaluation-missed', { record: 'e01-b00t-2', reason: 'timeout' })
    service(c, 'e01-b00t-3', 'transferred', 'f3')
    const t = tallyRatings(c, new Set(['f1', 'f2']))
    expect(t).toMatchObject({ services: 3, served: 2, notServed: 1, rated: 1, early: 1, missed: 1, missedBy: { timeout: 1 }, transportDuplicates: 1, doubled: [], missing: [], unserved: [], finishLost: [], problems: [] })
  })

  it('names a second outcome under a new id, a missing outcome, a rating of a service not served, and a lost finish', () => {
    const c = new CentralRatings()
    service(c, 'e01-b00t-1', 'served', 'f1')
    deliver(c, 'evaluated', { record: 'e01-b00t-1' })
    deliver(c, 'evaluation-missed', { record: 'e01-b00t-1' })
    service(c, 'e01-b00t-2', 'served', 'f2')
    service(c, 'e01-b00t-3', 'transferred', 'f3')
    deliver(c, 'evaluated', { record: 'e01-b00t-3' })
    const t = tallyRatings(c, new Set(['f1', 'f2', 'f9']))
    expect(t.doubled).toHaveLength(1)
    expect(t.doubled[0]).toMatch(/^e01-b00t-1: evaluated .*, evaluation-missed /)
    expect(t.missing).toEqual(['e01-b00t-2'])
    expect(t.unserved).toEqual(['e01-b00t-3 (transferred): evaluated'])
    expect(t.finishLost).toEqual(['f9'])
  })

  it('keeps what the contract refuses out of the count, and says so', () => {
    const c = new CentralRatings()
    c.add(topics.event('h1', 'e01', 'evaluated'), Buffer.from('{"v":1}'))
    expect(tallyRatings(c, new Set()).problems).toHaveLength(1)
  })
})

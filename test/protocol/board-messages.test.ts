import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  BOARD_TOPIC_KINDS,
  ENVELOPE_KEYS,
  EVENT_TYPES,
  TOPIC_TABLE,
  boardDelivery,
  boardTopic,
  eventExamples,
  messageExamples,
  parseMessage,
  type BoardFields,
  type EventDraft,
  type ReplyFields,
  type StateFields,
  type StatusFields,
  type TelemetryFields,
  type TopicKind,
} from '../../edge/protocol/index.ts'

/** An example message without its envelope: what a producer hands the link. */
function fieldsOf<T extends object>(message: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(message).filter(([k]) => !(ENVELOPE_KEYS as readonly string[]).includes(k)))
}

describe('board messages', () => {
  it('cover exactly the topics the table says a board publishes', () => {
    const fromBoard = (Object.keys(TOPIC_TABLE) as TopicKind[]).filter((k) => TOPIC_TABLE[k].direction === 'from-board')
    expect([...BOARD_TOPIC_KINDS].sort()).toEqual(fromBoard.sort())
  })

  it('take QoS and retain from the table', () => {
    expect(boardDelivery('status')).toEqual({ qos: 1, retain: true })
    expect(boardDelivery('state')).toEqual({ qos: 1, retain: true })
    expect(boardDelivery('event')).toEqual({ qos: 1, retain: false })
    expect(boardDelivery('reply')).toEqual({ qos: 1, retain: false })
    expect(boardDelivery('telemetry')).toEqual({ qos: 0, retain: false })
  })

  it('put each kind on its topic; an event on the level of its type', () => {
    expect(boardTopic('h1', 'w05', 'status', { online: false, reason: 'will' })).toBe('hall/h1/counter/w05/status')
    expect(boardTopic('h1', 'w05', 'reply', { cmd: null, name: 'call', ok: false, code: 'bad-json', message: 'x' })).toBe('hall/h1/counter/w05/reply')
    for (const type of EVENT_TYPES) {
      const draft = fieldsOf(eventExamples[type]) as EventDraft
      expect(boardTopic('h1', 'w05', 'event', draft)).toBe(`hall/h1/counter/w05/event/${type}`)
    }
    expect(() => boardTopic('H1', 'w05', 'state', fieldsOf(messageExamples.state) as StateFields)).toThrow(/invalid hall id/)
  })

  it('an example with its envelope put back is a valid message on the topic built for it', () => {
    const envelope = Object.fromEntries(ENVELOPE_KEYS.map((k) => [k, messageExamples.state[k]]))
    for (const kind of ['status', 'state', 'telemetry', 'reply'] as const) {
      const fields = fieldsOf(messageExamples[kind]) as BoardFields[typeof kind]
      const parsed = parseMessage(boardTopic('h1', 'w05', kind, fields), JSON.stringify({ ...envelope, ...fields }))
      expect(parsed, kind).toMatchObject({ ok: true, kind })
    }
  })

  it('are the schema types without the envelope', () => {
    expectTypeOf<BoardFields['status']>().toEqualTypeOf<StatusFields>()
    expectTypeOf<BoardFields['state']>().toEqualTypeOf<StateFields>()
    expectTypeOf<BoardFields['telemetry']>().toEqualTypeOf<TelemetryFields>()
    expectTypeOf<BoardFields['reply']>().toEqualTypeOf<ReplyFields>()
    expectTypeOf<BoardFields['event']>().toEqualTypeOf<EventDraft>()
    expectTypeOf<BoardFields['state']>().not.toHaveProperty('seq')
    // @ts-expect-error a reply has no `ticket`
    boardTopic('h1', 'w05', 'reply', { cmd: 'c-1', name: 'call', ok: true, ticket: 'A1' })
    // @ts-expect-error an evaluated event needs its score
    boardTopic('h1', 'w05', 'event', { type: 'evaluated', ticket: 'A1', officer: null, scale: 3, latencyMs: 1 })
  })
})

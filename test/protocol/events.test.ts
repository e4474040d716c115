import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  ENVELOPE_KEYS,
  EVENT_TYPES,
  eventExamples,
  eventSchemas,
  isEventType,
  parseMessage,
  topics,
  type BoardEvent,
  type EventDraft,
  type EventFields,
  type EventOf,
  type EventType,
} from '../../edge/protocol/index.ts'
import { bytes, json, without, withField, wrongTypeFor, type Payload } from './payload-cases.ts'

const topicFor = (type: EventType) => topics.event('h1', 'w05', type)

/** Fields that may be left out; every other field of the example is required. */
const optional: { [T in EventType]?: readonly string[] } = {
  // record, caseNo and item: absent from events of boards before service records.
  // window: absent from events of boards before the public window.
  called: ['cmd', 'record', 'caseNo', 'item', 'continues', 'window'],
  recalled: ['cmd', 'record', 'window'],
  'no-show': ['cmd', 'record'],
  'service-started': ['cmd', 'record'],
  'service-finished': ['cmd', 'record', 'caseNo', 'item'],
  // Defaulted so events from boards before these fields stay readable.
  evaluated: ['early', 'record', 'caseNo', 'item'],
  'evaluation-missed': ['reason', 'record', 'caseNo', 'item'],
  'rating-alert': ['caseNo', 'item'],
  'capture-done': ['record'],
  overtime: ['record'],
  'capture-failed': ['message', 'record'],
  paused: ['cmd', 'afterService', 'limitMs'],
  resumed: ['cmd'],
  'service-transferred': ['cmd', 'caseNo', 'item'],
  'service-parked': ['cmd', 'caseNo', 'item'],
  'signed-in': ['cmd'],
  'signed-out': ['cmd'],
  'call-unanswered': ['record'],
}

/** Values each event must refuse beyond missing / wrong type / unknown key: field → bad value. */
const invalidFields: { [T in EventType]: Array<[field: string, value: unknown]> } = {
  called: [['ticket', 'a023'], ['service', ''], ['green', null], ['cmd', ''], ['window', { number: '3' }], ['window', { number: '3号', name: '3号窗口' }]],
  recalled: [['count', 0], ['count', 1.5], ['ticket', null], ['window', { number: '', name: '3号窗口' }]],
  'no-show': [['ticket', 'A-23'], ['cmd', 'has space']],
  'service-started': [['waitedMs', -1], ['officer', 'bad officer'], ['ticket', 'A0234567X']],
  'service-finished': [['outcome', 'finished'], ['durationMs', 0.5], ['officer', '']],
  evaluated: [['score', 'happy'], ['scale', 4], ['scale', '3'], ['latencyMs', -5], ['officer', 'x'.repeat(33)]],
  'evaluation-missed': [['afterMs', -1], ['ticket', null]],
  // Only the two dissatisfied levels are alerts, each with its own national label; a three-key board has no 非常不满意.
  'rating-alert': [['score', 'satisfied'], ['score', 'neutral'], ['level', '非常不满意'], ['level', 'dissatisfied'], ['record', ''], ['early', 'no']],
  'capture-done': [['kind', 'iris'], ['latencyMs', -1], ['cmd', null]],
  'capture-failed': [['reason', 'jammed'], ['kind', 'Fingerprint'], ['message', 'x'.repeat(201)], ['cmd', '']],
  overtime: [['level', 'none'], ['level', 'critical'], ['elapsedMs', -1], ['limitMs', 2.5]],
  'help-requested': [['ticket', 'lower'], ['officer', 'a b']],
  'officer-key': [['key', 'call'], ['key', 'evaluate']],
  paused: [['reason', ''], ['reason', 'x'.repeat(65)]],
  resumed: [['pausedMs', -1], ['pausedMs', '10']],
  fault: [['device', ''], ['device', 'x'.repeat(33)], ['code', ''], ['message', 'x'.repeat(201)]],
  'fault-cleared': [['device', ''], ['code', 'x'.repeat(33)]],
  'service-transferred': [['toWindow', 'W07'], ['reason', ''], ['durationMs', -1], ['record', '']],
  'service-parked': [['reason', ''], ['durationMs', 1.5], ['record', '']],
  'signed-in': [['officer', 'a b'], ['officerName', '']],
  'signed-out': [['staffedMs', -1], ['pausedMs', 0.5]],
  'call-unanswered': [['suggest', 'wait'], ['recalls', -1], ['waitedMs', -1]],
  'pause-overtime': [['pausedMs', -1], ['reason', '']],
}

/** Envelope fields every event shares: field → bad values. */
const invalidEnvelope: Array<[field: string, value: unknown]> = [
  ['v', 2],
  ['v', '1'],
  ['id', ''],
  ['id', 'two words'],
  ['boot', 'UPPER'],
  ['boot', 'x'.repeat(41)],
  ['seq', -1],
  ['seq', 1.5],
  ['ts', '2025-03-04T17:15:02+08:00'],
  ['ts', '2025-03-04'],
  ['synced', 'yes'],
]

function expectRejected(type: EventType, payload: Payload, field: string) {
  const result = parseMessage(topicFor(type), json(payload))
  expect(result.ok, `${type} accepted ${json(payload)}`).toBe(false)
  if (result.ok) return
  expect(result.code).toBe('bad-payload')
  expect(result.message).toContain(field)
}

describe('event types', () => {
  it('recognises exactly the contract event types', () => {
    for (const type of EVENT_TYPES) expect(isEventType(type)).toBe(true)
    for (const type of ['', 'Called', 'call', 'evaluation', 'hasOwnProperty', 7]) expect(isEventType(type)).toBe(false)
    expect(Object.keys(eventSchemas).sort()).toEqual([...EVENT_TYPES].sort())
  })
})

describe.each(EVENT_TYPES)('event %s', (type) => {
  const example = eventExamples[type] as Payload

  it('accepts the documented example on its topic, as a string and as bytes', () => {
    for (const payload of [json(example), bytes(example)]) {
      const result = parseMessage(topicFor(type), payload)
      expect(result.ok, result.ok ? '' : result.message).toBe(true)
      expect(result).toMatchObject({ kind: 'event', topic: { kind: 'event', hall: 'h1', counter: 'w05', type }, message: example })
    }
  })

  it('refuses the payload on another event type topic', () => {
    const other = EVENT_TYPES.find((t) => t !== type)!
    const result = parseMessage(topicFor(other), json(example))
    expect(result).toMatchObject({ ok: false, code: 'bad-payload' })
    expect(!result.ok && result.message).toContain('type:')
  })

  it('rejects every required field when missing', () => {
    const mayOmit = new Set(optional[type] ?? [])
    for (const key of Object.keys(example).filter((k) => !mayOmit.has(k))) expectRejected(type, without(example, key), `${key}: required`)
  })

  it('accepts the optional fields left out', () => {
    const minimal = (optional[type] ?? []).reduce(without, example)
    const result = parseMessage(topicFor(type), json(minimal))
    expect(result.ok, result.ok ? '' : result.message).toBe(true)
  })

  it('rejects an unknown key', () => {
    expectRejected(type, withField(example, 'extra', true), 'extra: unknown field')
  })

  it('rejects every field with a value of the wrong type', () => {
    for (const [key, value] of Object.entries(example)) expectRejected(type, withField(example, key, wrongTypeFor(value)), key)
  })

  it('rejects a bad envelope', () => {
    for (const [field, value] of invalidEnvelope) expectRejected(type, withField(example, field, value), field)
  })

  it('rejects out-of-range and unknown values', () => {
    for (const [field, value] of invalidFields[type]) expectRejected(type, withField(example, field, value), field)
  })
})

describe('event rules', () => {
  it('records a rating only with a score the evaluator can produce', () => {
    const base = eventExamples.evaluated
    expect(eventSchemas.evaluated.safeParse({ ...base, scale: 5, score: 'very-dissatisfied' }).success).toBe(true)
    expect(eventSchemas.evaluated.safeParse({ ...base, scale: 3, score: 'neutral' }).success).toBe(true)
    const result = parseMessage(topicFor('evaluated'), json({ ...base, scale: 3, score: 'very-satisfied' }))
    expect(result.ok || result.message).toBe('score: expected one of "satisfied", "neutral", "dissatisfied" on a 3-key evaluator, got "very-satisfied"')
  })

  it('accepts nulls where a ticket, officer or service may be absent', () => {
    expect(eventSchemas.called.safeParse({ ...eventExamples.called, service: null }).success).toBe(true)
    expect(eventSchemas['help-requested'].safeParse({ ...eventExamples['help-requested'], ticket: null, officer: null }).success).toBe(true)
    expect(eventSchemas['capture-done'].safeParse({ ...eventExamples['capture-done'], ticket: null }).success).toBe(true)
    expect(eventSchemas.evaluated.safeParse({ ...eventExamples.evaluated, officer: null }).success).toBe(true)
  })

  it('requires the command id on capture outcomes, which only a command can cause', () => {
    expectRejected('capture-done', without(eventExamples['capture-done'], 'cmd'), 'cmd: required')
    expectRejected('capture-failed', without(eventExamples['capture-failed'], 'cmd'), 'cmd: required')
  })
})

describe('event types', () => {
  it('derives fields, drafts and the union from the schemas', () => {
    expectTypeOf<EventOf<'evaluated'>['score']>().toEqualTypeOf<'very-satisfied' | 'satisfied' | 'neutral' | 'dissatisfied' | 'very-dissatisfied'>()
    expectTypeOf<EventFields<'called'>>().toEqualTypeOf<{ ticket: string; service: string | null; green: boolean; appointment: boolean; cmd?: string | undefined; record?: string | undefined; caseNo: string | null; item: string | null; continues: 'transfer' | 'park' | null; window?: { number: string; name: string } | undefined }>()
    expectTypeOf<Extract<BoardEvent, { type: 'fault' }>['device']>().toEqualTypeOf<string>()
    expectTypeOf<Extract<EventDraft, { type: 'resumed' }>>().toHaveProperty('pausedMs')
    expectTypeOf<EventFields<'called'>>().not.toHaveProperty('boot')
    expectTypeOf<EventFields<'called'>>().not.toHaveProperty('type')
    expect(ENVELOPE_KEYS).toEqual(['v', 'id', 'boot', 'seq', 'ts', 'synced'])
  })
})

import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  COMMAND_NAMES,
  EVENT_TYPES,
  MAX_PAYLOAD_BYTES,
  TOPIC_TABLE,
  commandExamples,
  commandSchemas,
  eventSchemas,
  extraExamples,
  messageExamples,
  messageSchemas,
  parseMessage,
  parseTopic,
  topics,
  type MessageKind,
  type State,
  type TopicKind,
} from '../../edge/protocol/index.ts'
import { bytes, json, without, withField, wrongTypeFor, type Payload } from './payload-cases.ts'

const HALL = 'gz-tianhe'
const COUNTER = 'w12'

const topicOf: { [K in MessageKind]: string } = {
  status: topics.status(HALL, COUNTER),
  state: topics.state(HALL, COUNTER),
  screen: topics.screen(HALL, COUNTER),
  telemetry: topics.telemetry(HALL, COUNTER),
  reply: topics.reply(HALL, COUNTER),
  update: topics.update(HALL, COUNTER),
  'hub-status': topics.hubStatus(HALL),
  'hub-bridge': topics.hubBridge(HALL),
  'central-status': topics.centralStatus(HALL),
  'central-waiting': topics.centralWaiting(HALL),
}

const MESSAGE_KINDS = Object.keys(messageSchemas) as MessageKind[]
const BOARD_KINDS = new Set<MessageKind>(['status', 'state', 'screen', 'telemetry', 'reply', 'update'])

/** Fields of each example that may be left out. */
const optional: { [K in MessageKind]?: readonly string[] } = {
  reply: ['code', 'message', 'result'],
  'hub-status': ['version', 'reason'],
  // Absent from boards before the public window, and before pause-after-service (issue 18).
  state: ['window', 'pauseAfter'],
  // Absent from boards before staffed time (issue 18).
  telemetry: ['staffedMs', 'shiftPausedMs', 'pauseMs'],
}

/** Values each message must refuse beyond missing / wrong type / unknown key: field → bad value. */
const invalidFields: { [K in MessageKind]: Array<[field: string, value: unknown]> } = {
  status: [['online', 'yes'], ['version', ''], ['board', 'x'.repeat(65)], ['capabilities', ['']], ['capabilities', [3]], ['seq', -1]],
  state: [
    ['mode', 'open'],
    ['overtime', 'late'],
    ['since', '09:15'],
    ['ticket', { ...messageExamples.state.ticket, number: 'a023' }],
    ['ticket', { ...messageExamples.state.ticket, recalls: -1 }],
    ['ticket', { ...messageExamples.state.ticket, startedAt: 'now' }],
    ['ticket', { ...messageExamples.state.ticket, extra: 1 }],
    ['ticket', without(messageExamples.state.ticket!, 'calledAt')],
    ['officer', { id: 'bad id', name: null }],
    ['officer', { id: 'P1' }],
    ['evaluation', { ticket: 'A1', openedAt: '2025-03-04T09:00:00Z' }],
    ['pause', { reason: '', since: '2025-03-04T09:00:00Z' }],
    ['faults', [{ device: 'display', code: 'nack', message: 'x' }]],
    ['faults', [{ device: '', code: 'nack', message: 'x', since: '2025-03-04T09:00:00Z' }]],
  ],
  screen: [
    ['device', ''],
    ['text', 3],
    ['ticket', 'a023'],
    ['fault', { code: 'absent' }],
    ['picture', { width: 64, height: 16, bits: 'AAAA' }],
    ['picture', { width: 0, height: 16, bits: '' }],
    ['picture', { width: 8, height: 1, bits: 'A*==' }],
  ],
  telemetry: [
    ['uptimeS', -1],
    ['rssBytes', 1.5],
    ['cpuPct', -3],
    ['journal', { depth: -1, oldestAgeMs: null }],
    ['journal', { depth: 0 }],
    ['devices', { display: 'broken' }],
    ['devices', { '': 'ok' }],
    ['ignoredPresses', -1],
    ['rttMs', '4'],
  ],
  update: [['running', ''], ['state', 'done'], ['target', 'v2'], ['target', '1.2'], ['cmd', 'has space'], ['reason', 'x'.repeat(501)], ['progress', { bytes: -1, total: 10 }]],
  reply: [['cmd', 'has space'], ['name', ''], ['ok', 'true'], ['code', 'nope'], ['result', 'done'], ['result', [1]]],
  'hub-status': [['hub', ''], ['boot', ''], ['ts', 'yesterday'], ['online', 1]],
  'hub-bridge': [['state', 'up'], ['backlog', -1], ['backlog', 0.5], ['since', 'now'], ['upstream', '']],
  'central-status': [['online', 'true'], ['ts', '2025-03-04 09:15:02']],
  'central-waiting': [['services', [{ service: 'x', name: 'X', waiting: -1 }]], ['services', [{ service: '', name: 'X', waiting: 1 }]], ['services', [{ service: 'x', waiting: 1 }]], ['services', 'none'], ['ts', 'now']],
}

function expectRejected(kind: MessageKind, payload: Payload, field: string) {
  const result = parseMessage(topicOf[kind], json(payload))
  expect(result.ok, `${kind} accepted ${json(payload)}`).toBe(false)
  if (result.ok) return
  expect(result.code).toBe('bad-payload')
  expect(result.message).toContain(field)
}

describe.each(MESSAGE_KINDS)('message %s', (kind) => {
  const example = messageExamples[kind] as Payload

  it('accepts the documented example on its topic, as a string and as bytes', () => {
    for (const payload of [json(example), bytes(example)]) {
      const result = parseMessage(topicOf[kind], payload)
      expect(result.ok, result.ok ? '' : result.message).toBe(true)
      expect(result).toMatchObject({ kind, topic: { kind, hall: HALL }, message: example })
    }
  })

  it('rejects every required field when missing', () => {
    const mayOmit = new Set(optional[kind] ?? [])
    for (const key of Object.keys(example).filter((k) => !mayOmit.has(k))) expectRejected(kind, without(example, key), `${key}: required`)
  })

  it('accepts the optional fields left out', () => {
    const minimal = (optional[kind] ?? []).reduce(without, example)
    expect(parseMessage(topicOf[kind], json(minimal)).ok).toBe(true)
  })

  it('rejects an unknown key', () => {
    expectRejected(kind, withField(example, 'extra', 1), 'extra: unknown field')
  })

  it('rejects every field with a value of the wrong type', () => {
    for (const [key, value] of Object.entries(example)) expectRejected(kind, withField(example, key, wrongTypeFor(value)), key)
  })

  it('rejects out-of-range and unknown values', () => {
    for (const [field, value] of invalidFields[kind]) expectRejected(kind, withField(example, field, value), field)
  })

  it(BOARD_KINDS.has(kind) ? 'requires the envelope' : 'carries no envelope', () => {
    const withBadVersion = withField(example, 'v', 2)
    if (BOARD_KINDS.has(kind)) expectRejected(kind, withBadVersion, 'v:')
    else expectRejected(kind, withBadVersion, 'v: unknown field')
  })
})

describe('status', () => {
  it('accepts a will and each offline reason', () => {
    for (const reason of ['will', 'stop', 'restart', 'upgrade', 'fault']) {
      expect(parseMessage(topicOf.status, json({ ...extraExamples.statusOffline, reason })).ok).toBe(true)
    }
  })

  it('keeps birth and will fields apart', () => {
    expectRejected('status', { ...extraExamples.statusOffline, version: '1.0.0' }, 'version: unknown field')
    expectRejected('status', { ...extraExamples.statusOffline, reason: 'crash' }, 'reason:')
    expectRejected('status', without(extraExamples.statusOffline, 'reason'), 'reason: required')
    expectRejected('status', { ...messageExamples.status, reason: 'will' }, 'reason: unknown field')
    expectRejected('status', without(messageExamples.status, 'online'), 'online: required')
  })
})

describe('state', () => {
  it('accepts an idle window with nothing going on', () => {
    const idle: State = { ...messageExamples.state, mode: 'idle', ticket: null, officer: null, evaluation: null, pause: null, faults: [] }
    expect(parseMessage(topicOf.state, json(idle)).ok).toBe(true)
  })

  it('accepts an evaluating, paused and faulty window', () => {
    const busy: State = {
      ...messageExamples.state,
      mode: 'evaluating',
      overtime: 'over',
      evaluation: { ticket: 'A023', openedAt: '2025-03-04T09:20:00.000Z', closesAt: '2025-03-04T09:20:30.000Z' },
      pause: { reason: 'break', since: '2025-03-04T09:00:00.000Z' },
      faults: [{ device: 'display', code: 'nack', message: 'no ack at 0x70', since: '2025-03-04T09:00:00.000Z' }],
    }
    expect(parseMessage(topicOf.state, json(busy)).ok).toBe(true)
  })

  it('names nested fields in its errors', () => {
    const result = parseMessage(topicOf.state, json({ ...messageExamples.state, ticket: { ...messageExamples.state.ticket, number: 'a1' } }))
    expect(result.ok || result.message).toBe('ticket.number: expected 1–8 characters A–Z, 0–9, got "a1"')
  })
})

describe('reply', () => {
  it('accepts a refusal with a code and a null command id', () => {
    expect(parseMessage(topicOf.reply, json(extraExamples.replyRefused)).ok).toBe(true)
    expect(parseMessage(topicOf.reply, json({ ...extraExamples.replyRefused, cmd: null, code: 'bad-json', name: 'anything-at-all' })).ok).toBe(true)
  })

  it('requires a code exactly when ok is false', () => {
    const refusal = parseMessage(topicOf.reply, json(without(extraExamples.replyRefused, 'code')))
    expect(refusal.ok || refusal.message).toBe('code: required when ok is false')
    expectRejected('reply', { ...messageExamples.reply, code: 'busy' }, 'code: only allowed when ok is false')
  })

  it('carries a command-specific result', () => {
    expect(parseMessage(topicOf.reply, json({ ...messageExamples.reply, name: 'self-test', result: { display: 'ok', keys: { stuck: [] } } })).ok).toBe(true)
  })
})

describe('parseMessage', () => {
  it('refuses topics outside the contract', () => {
    for (const topic of ['', 'hall', 'hall/h1/counter/w1', 'hall/H1/counter/w1/state', 'hall/h1/counter/w1/state/x', 'hall/+/counter/w1/state', '$SYS/broker/uptime']) {
      expect(parseMessage(topic, json(messageExamples.state)), topic).toMatchObject({ ok: false, code: 'bad-topic' })
    }
  })

  it('refuses an unknown event type as a bad topic', () => {
    const result = parseMessage(`hall/${HALL}/counter/${COUNTER}/event/exploded`, '{}')
    expect(result).toEqual({ ok: false, code: 'bad-topic', message: 'unknown event type "exploded"' })
  })

  it('validates commands with parseCommand', () => {
    const ok = parseMessage(topics.cmd(HALL, COUNTER, 'call'), json(commandExamples.call))
    expect(ok).toMatchObject({ ok: true, kind: 'cmd', topic: { kind: 'cmd', name: 'call' }, message: { name: 'call', ticket: 'A023' } })
    expect(parseMessage(`hall/${HALL}/counter/${COUNTER}/cmd/reboot`, '{}')).toMatchObject({ ok: false, code: 'unknown-command' })
    expect(parseMessage(topics.cmd(HALL, COUNTER, 'call'), '{}')).toMatchObject({ ok: false, code: 'bad-payload' })
  })

  it('refuses bad JSON and oversized payloads on every topic', () => {
    for (const kind of MESSAGE_KINDS) {
      expect(parseMessage(topicOf[kind], '{oops')).toMatchObject({ ok: false, code: 'bad-json' })
      expect(parseMessage(topicOf[kind], new Uint8Array([0xc3, 0x28]))).toMatchObject({ ok: false, code: 'bad-json' })
      expect(parseMessage(topicOf[kind], '[]')).toMatchObject({ ok: false, code: 'bad-json' })
      expect(parseMessage(topicOf[kind], 'x'.repeat(MAX_PAYLOAD_BYTES + 1))).toMatchObject({ ok: false, code: 'too-large' })
    }
  })

  it('narrows the message by kind', () => {
    const result = parseMessage(topicOf.state, json(messageExamples.state))
    if (result.ok && result.kind === 'state') {
      expectTypeOf(result.message.mode).toEqualTypeOf<'closed' | 'idle' | 'calling' | 'serving' | 'evaluating' | 'paused'>()
      expectTypeOf(result.topic.counter).toEqualTypeOf<string>()
      expect(result.message.mode).toBe('serving')
    } else {
      expect.unreachable('state example refused')
    }
  })
})

describe('hub status without ts', () => {
  const status = (body: Record<string, unknown>) => parseMessage(topics.hubStatus(HALL), JSON.stringify({ online: false, hub: 'hub-h1-a', boot: 'b1', ...body }))

  it("is the bridge's will only: written at connect, any time in it would be stale", () => {
    expect(status({ reason: 'will' }).ok).toBe(true)
    const stop = status({ reason: 'stop' })
    expect(stop.ok).toBe(false)
    expect(stop.ok ? '' : stop.message).toMatch(/ts.*required unless reason is 'will'/)
  })
})

describe('TOPIC_TABLE', () => {
  const kinds = Object.keys(TOPIC_TABLE) as TopicKind[]

  it('describes every topic kind under its own key', () => {
    expect(kinds.sort()).toEqual(['central-status', 'central-waiting', 'cmd', 'event', 'hub-bridge', 'hub-status', 'reply', 'screen', 'state', 'status', 'telemetry', 'update'])
    for (const kind of kinds) expect(TOPIC_TABLE[kind].kind).toBe(kind)
  })

  it('has patterns that parse back to their kind', () => {
    for (const kind of kinds) {
      const topic = TOPIC_TABLE[kind].pattern.replace('{hall}', HALL).replace('{counter}', COUNTER).replace('{type}', 'called').replace('{name}', 'call')
      expect(parseTopic(topic)?.kind).toBe(kind)
    }
  })

  it('retains state, never commands, events or replies', () => {
    const retained = kinds.filter((k) => TOPIC_TABLE[k].retain).sort()
    expect(retained).toEqual(['central-status', 'central-waiting', 'hub-bridge', 'hub-status', 'screen', 'state', 'status', 'update'])
    for (const kind of kinds) expect(TOPIC_TABLE[kind].qos).toBe(kind === 'telemetry' ? 0 : 1)
  })

  it('points at the schemas used for validation', () => {
    for (const kind of MESSAGE_KINDS) expect(TOPIC_TABLE[kind].schema).toBe(messageSchemas[kind])
    expect(TOPIC_TABLE.event.variants?.schemas).toBe(eventSchemas)
    expect(TOPIC_TABLE.cmd.variants?.schemas).toBe(commandSchemas)
    expect(Object.keys(TOPIC_TABLE.event.variants?.descriptions ?? {})).toEqual([...EVENT_TYPES])
    expect(Object.keys(TOPIC_TABLE.cmd.variants?.descriptions ?? {})).toEqual([...COMMAND_NAMES])
    expect(TOPIC_TABLE.cmd.direction).toBe('to-board')
  })
})

import { describe, expect, expectTypeOf, it } from 'vitest'
import type { z } from 'zod'
import {
  COMMAND_NAMES,
  MAX_PAYLOAD_BYTES,
  commandExamples,
  commandExpired,
  commandSchemas,
  isCommandName,
  parseCommand,
  type Command,
  type CommandName,
  type CommandOf,
} from '../../edge/protocol/index.ts'
import { bytes, json, requiredKeys, without, withField, wrongTypeFor, type Payload } from './payload-cases.ts'

const EXPIRES = '2030-01-01T00:00:00.000Z'

/** The least each command needs; everything else in the example is optional. */
const minimal: { [N in CommandName]: Payload } = {
  call: { id: 'c-1', expires: EXPIRES, ticket: 'A023' },
  recall: { id: 'c-1', expires: EXPIRES },
  'no-show': { id: 'c-1', expires: EXPIRES },
  start: { id: 'c-1', expires: EXPIRES },
  finish: { id: 'c-1', expires: EXPIRES, outcome: 'transferred' },
  evaluate: { id: 'c-1', expires: EXPIRES },
  pause: { id: 'c-1', expires: EXPIRES, reason: 'lunch' },
  resume: { id: 'c-1', expires: EXPIRES },
  capture: { id: 'c-1', expires: EXPIRES, kind: 'fingerprint' },
  officer: { id: 'c-1', expires: EXPIRES, action: 'sign-out' },
  identify: { id: 'c-1', expires: EXPIRES },
  'self-test': { id: 'c-1', expires: EXPIRES },
  sync: { id: 'c-1', expires: EXPIRES },
  config: { id: 'c-1', expires: EXPIRES, settings: { brightness: 0 } },
  transfer: { id: 'c-1', expires: EXPIRES, toWindow: 'w02', reason: 'approval' },
  park: { id: 'c-1', expires: EXPIRES, reason: 'document' },
  update: { id: 'c-1', expires: EXPIRES, release: commandExamples.update.release, url: 'http://10.0.0.2:8080/releases/0.2.0/counter-edge-0.2.0.tar.gz' },
}

/** Values each argument must refuse, beyond missing / wrong type / unknown key: field → bad value. */
const invalidArgs: { [N in CommandName]: Array<[field: string, value: unknown]> } = {
  call: [['ticket', 'a-1'], ['ticket', 'A0234567X'], ['ticket', ''], ['service', ''], ['service', 'x'.repeat(33)], ['green', 'yes'], ['appointment', 1]],
  recall: [['ticket', 'a23'], ['ticket', 23]],
  'no-show': [['ticket', 'A 23']],
  start: [['ticket', 'A_23']],
  finish: [['outcome', 'done'], ['outcome', 'Served'], ['ticket', 'a']],
  evaluate: [['ticket', 'a023'], ['officer', 'P10482']],
  pause: [['reason', ''], ['reason', 'x'.repeat(65)], ['limitS', 59], ['limitS', 14401]],
  transfer: [['toWindow', 'W02'], ['toWindow', ''], ['reason', ''], ['toQueue', 'passport'], ['ticket', 'a1']],
  park: [['reason', ''], ['reason', 'x'.repeat(65)], ['ticket', 'A-1']],
  update: [
    ['url', 'ftp://10.0.0.2/x.tar.gz'],
    ['url', 'http://has space/x'],
    ['confirmWithinS', 9],
    ['confirmWithinS', 901],
    ['release', { manifest: 'AAAA', signature: 'short' }],
    ['release', { ...commandExamples.update.release, extra: 1 }],
  ],
  resume: [],
  capture: [['kind', 'iris'], ['kind', 'Photo']],
  officer: [['action', 'login'], ['officer', 'p 1'], ['officerName', ''], ['officerName', 'x'.repeat(65)]],
  identify: [['seconds', 0], ['seconds', 301], ['seconds', 1.5], ['seconds', '10']],
  'self-test': [['tests', []], ['tests', ['display', 'leds']], ['tests', 'display']],
  sync: [],
  config: [
    ['settings', {}],
    ['settings', { brightness: 16 }],
    ['settings', { brightness: -1 }],
    ['settings', { scale: 4 }],
    ['settings', { logLevel: 'verbose' }],
    ['settings', { evaluationTimeoutS: 4 }],
    ['settings', { evaluationTimeoutS: 601 }],
    ['settings', { overtimeWarnS: 29 }],
    ['settings', { overtimeLimitS: 14401 }],
    ['settings', { telemetryPeriodS: 3601 }],
    ['settings', { telemetryPeriodS: 30.5 }],
    ['settings', { volume: 3 }],
    ['settings', { overtimeWarnS: 600, overtimeLimitS: 300 }],
    ['settings', { recallLimit: 0 }],
    ['settings', { noShowPromptS: 5 }],
    ['settings', { pauseLimitS: 30 }],
  ],
}

const HEADER_OPTIONAL = new Set(['issued'])

function expectBadPayload(name: string, payload: Payload, field: string) {
  const result = parseCommand(name, json(payload))
  expect(result.ok, `${name} accepted ${json(payload)}`).toBe(false)
  if (result.ok) return
  expect(result.code).toBe('bad-payload')
  expect(result.message).toContain(field)
  return result
}

describe('command names', () => {
  it('recognises exactly the contract commands', () => {
    for (const name of COMMAND_NAMES) expect(isCommandName(name)).toBe(true)
    for (const name of ['', 'Call', 'reboot', 'call ', 'toString', '__proto__', 42, null]) expect(isCommandName(name)).toBe(false)
    expect(Object.keys(commandSchemas).sort()).toEqual([...COMMAND_NAMES].sort())
  })

  it('keeps `name` free in every payload, since it discriminates the parsed Command', () => {
    for (const name of COMMAND_NAMES) expect(Object.keys(commandSchemas[name].shape)).not.toContain('name')
  })
})

describe.each(COMMAND_NAMES)('command %s', (name) => {
  const example = commandExamples[name] as Payload

  it('accepts the documented example, as a string and as bytes', () => {
    for (const payload of [json(example), bytes(example)]) {
      const result = parseCommand(name, payload)
      expect(result).toMatchObject({ ok: true, command: { name, id: example.id } })
    }
  })

  it('accepts the minimal payload', () => {
    const result = parseCommand(name, json(minimal[name]))
    expect(result.ok, result.ok ? '' : result.message).toBe(true)
  })

  it('rejects an unknown key, naming it', () => {
    const result = expectBadPayload(name, withField(example, 'colour', 'red'), 'colour: unknown field')
    expect(result?.id).toBe(example.id)
  })

  it('rejects a missing id or expires', () => {
    expect(expectBadPayload(name, without(example, 'id'), 'id: required')?.id).toBeNull()
    expectBadPayload(name, without(example, 'expires'), 'expires: required')
  })

  it('rejects a bad id and reports no id to reply to', () => {
    for (const id of ['', 'has space', 'x'.repeat(101), 42]) {
      expect(expectBadPayload(name, withField(example, 'id', id), 'id:')?.id).toBeNull()
    }
  })

  it('rejects expiry and issue times that are not UTC ISO-8601', () => {
    for (const expires of ['2030-01-01T08:00:00+08:00', '2030-01-01', 'tomorrow', 1893456000000]) {
      expectBadPayload(name, withField(example, 'expires', expires), 'expires:')
    }
    expectBadPayload(name, withField(example, 'issued', '2030-01-01 00:00:00'), 'issued:')
  })

  it('rejects every required argument when missing', () => {
    for (const key of requiredKeys(minimal[name], HEADER_OPTIONAL)) {
      expectBadPayload(name, without(minimal[name], key), `${key}: required`)
    }
  })

  it('rejects every field with a value of the wrong type', () => {
    for (const [key, value] of Object.entries(example)) {
      expectBadPayload(name, withField(example, key, wrongTypeFor(value)), key)
    }
  })

  if (invalidArgs[name].length > 0) {
    it('rejects out-of-range and unknown values', () => {
      for (const [field, value] of invalidArgs[name]) expectBadPayload(name, withField(example, field, value), field)
    })
  }
})

describe('command semantics', () => {
  it('applies defaults and takes the name from the topic', () => {
    const call = parseCommand('call', json(minimal.call))
    expect(call).toEqual({ ok: true, command: { name: 'call', id: 'c-1', expires: EXPIRES, ticket: 'A023', green: false, appointment: false } })
    const identify = parseCommand('identify', json(minimal.identify))
    expect(identify.ok && identify.command).toMatchObject({ name: 'identify', seconds: 10 })
  })

  it('requires an officer id to sign in, but not to sign out', () => {
    const signIn = parseCommand('officer', json({ id: 'c-9', expires: EXPIRES, action: 'sign-in' }))
    expect(signIn).toEqual({ ok: false, code: 'bad-payload', message: 'officer: required for sign-in', id: 'c-9' })
    expect(parseCommand('officer', json({ id: 'c-9', expires: EXPIRES, action: 'sign-out' })).ok).toBe(true)
  })

  it('a call continues a record only with the reason why, and a transfer names one destination', () => {
    const half = parseCommand('call', json({ id: 'c-2', expires: EXPIRES, ticket: 'A1', record: 'w01-b-3' }))
    expect(half.ok || half.message).toBe('continues: record and continues go together')
    expect(parseCommand('call', json({ id: 'c-2', expires: EXPIRES, ticket: 'A1', record: 'w01-b-3', continues: 'transfer' })).ok).toBe(true)
    const none = parseCommand('transfer', json({ id: 'c-3', expires: EXPIRES, reason: 'x' }))
    expect(none.ok || none.message).toBe('toWindow: required: one of toWindow and toQueue')
    const both = parseCommand('transfer', json({ id: 'c-3', expires: EXPIRES, reason: 'x', toWindow: 'w02', toQueue: 'passport' }))
    expect(both.ok || both.message).toBe('toQueue: only one of toWindow and toQueue, got "passport"')
  })

  it('refuses a config whose warning is not before its limit', () => {
    const result = parseCommand('config', json({ id: 'c', expires: EXPIRES, settings: { overtimeWarnS: 1800, overtimeLimitS: 1800 } }))
    expect(result.ok || result.message).toBe('settings.overtimeWarnS: must be less than overtimeLimitS, got 1800')
  })

  it('accepts each setting on its own', () => {
    const single = { evaluationTimeoutS: 30, overtimeWarnS: 300, overtimeLimitS: 1800, telemetryPeriodS: 60, brightness: 15, scale: 5, logLevel: 'debug' }
    for (const [key, value] of Object.entries(single)) {
      const result = parseCommand('config', json({ id: 'c', expires: EXPIRES, settings: { [key]: value } }))
      expect(result.ok, `${key}=${value}`).toBe(true)
    }
  })

  it('words schema failures for people, naming each field and what was expected', () => {
    const ticket = parseCommand('call', json({ id: 'c-1', expires: EXPIRES, ticket: 'a-1' }))
    expect(ticket).toEqual({ ok: false, code: 'bad-payload', message: 'ticket: expected 1–8 characters A–Z, 0–9, got "a-1"', id: 'c-1' })
    const expires = parseCommand('call', json({ id: 'c-1', ticket: 'A1' }))
    expect(expires.ok || expires.message).toBe('expires: required')
    const outcome = parseCommand('finish', json({ id: 'c-1', expires: EXPIRES, outcome: 'done' }))
    expect(outcome.ok || outcome.message).toBe('outcome: expected one of "served", "transferred", "abandoned", got "done"')
    const nested = parseCommand('config', json({ id: 'c-1', expires: EXPIRES, settings: { brightness: 20 } }))
    expect(nested.ok || nested.message).toBe('settings.brightness: expected a value ≤ 15, got 20')
    const array = parseCommand('self-test', json({ id: 'c-1', expires: EXPIRES, tests: ['keys', 'x'] }))
    expect(array.ok || array.message).toBe('tests[1]: expected one of "display", "keys", "triggers", got "x"')
  })

  it('reports at most three issues, joined by semicolons', () => {
    const result = parseCommand('call', json({ id: 'c-1', ticket: 5, green: 'no', appointment: 'no', extra: 1 }))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.message.split('; ')).toHaveLength(3)
    expect(result.message).toBe('expires: required; ticket: expected a string, got 5; green: expected true or false, got "no"')
  })
})

describe('parseCommand failures', () => {
  it('refuses an unknown command by name, still returning the id for the reply', () => {
    expect(parseCommand('reboot', json({ id: 'c-5', expires: EXPIRES }))).toEqual({ ok: false, code: 'unknown-command', message: 'unknown command "reboot"', id: 'c-5' })
    expect(parseCommand('Call', 'not json')).toMatchObject({ ok: false, code: 'unknown-command', id: null })
  })

  it('refuses payloads that are not a UTF-8 JSON object', () => {
    const cases: Array<Uint8Array | string> = ['', 'not json', '{"id":', '[]', 'null', '42', '"call"', 'true', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])]
    for (const payload of cases) {
      const result = parseCommand('call', payload)
      expect(result, String(payload)).toMatchObject({ ok: false, code: 'bad-json', id: null })
    }
  })

  it('refuses payloads over 16 KiB without parsing them', () => {
    const big = json({ id: 'c-1', expires: EXPIRES, ticket: 'A1', service: 'x'.repeat(MAX_PAYLOAD_BYTES) })
    expect(parseCommand('call', big)).toMatchObject({ ok: false, code: 'too-large', id: null })
    expect(parseCommand('call', new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toMatchObject({ ok: false, code: 'too-large' })
    // Multi-byte characters count as bytes, not as UTF-16 units.
    expect(parseCommand('call', `"${'票'.repeat(6000)}"`)).toMatchObject({ ok: false, code: 'too-large' })
  })

  it('accepts a payload exactly at the limit', () => {
    const base = json({ id: 'c-1', expires: EXPIRES, ticket: 'A1', pad: '' })
    const padded = base.replace('"pad":""', `"pad":"${'x'.repeat(MAX_PAYLOAD_BYTES - base.length)}"`)
    expect(padded.length).toBe(MAX_PAYLOAD_BYTES)
    expect(parseCommand('call', padded)).toMatchObject({ ok: false, code: 'bad-payload', message: 'pad: unknown field' })
  })

  it('does not let __proto__ or constructor keys through', () => {
    const result = parseCommand('sync', `{"id":"c-1","expires":"${EXPIRES}","__proto__":{"polluted":true}}`)
    expect(result).toMatchObject({ ok: false, code: 'bad-payload' })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('commandExpired', () => {
  const at = Date.parse('2025-03-04T09:16:00.000Z')
  it('is false until the expiry time and true after it', () => {
    expect(commandExpired({ expires: '2025-03-04T09:16:00.000Z' }, at - 1)).toBe(false)
    expect(commandExpired({ expires: '2025-03-04T09:16:00.000Z' }, at)).toBe(false)
    expect(commandExpired({ expires: '2025-03-04T09:16:00.000Z' }, at + 1)).toBe(true)
  })
  it('treats an unreadable expiry as expired', () => {
    expect(commandExpired({ expires: 'soon' }, at)).toBe(true)
  })
})

describe('command types', () => {
  it('infers precise payload types and a union discriminated by name', () => {
    expectTypeOf<z.infer<(typeof commandSchemas)['call']>['ticket']>().toEqualTypeOf<string>()
    expectTypeOf<z.infer<(typeof commandSchemas)['call']>['green']>().toEqualTypeOf<boolean>()
    expectTypeOf<CommandOf<'finish'>['outcome']>().toEqualTypeOf<'served' | 'transferred' | 'abandoned'>()
    expectTypeOf<Extract<Command, { name: 'capture' }>['kind']>().toEqualTypeOf<'photo' | 'fingerprint'>()
    expectTypeOf<CommandOf<'config'>['settings']['scale']>().toEqualTypeOf<3 | 5 | undefined>()
  })
})

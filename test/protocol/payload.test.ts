import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  MAX_PAYLOAD_BYTES,
  ERROR_CODES,
  errorCodeDescriptions,
  idSchema,
  isErrorCode,
  messageIdSchema,
  officerIdSchema,
  ticketSchema,
  bootIdSchema,
  datetimeSchema,
  decodeJsonObject,
  payloadByteLength,
  renderPath,
  validate,
} from '../../edge/protocol/index.ts'

describe('ids', () => {
  const cases: Array<[string, z.ZodType, string[], unknown[]]> = [
    ['hall/counter id', idSchema, ['a', 'w05', 'gz-tianhe-2', 'x'.repeat(32)], ['', 'W05', '-w', 'w_5', 'w 5', 'x'.repeat(33), 5]],
    ['ticket', ticketSchema, ['A023', '7', 'ZZ999999'], ['', 'a023', 'A-23', 'A0234567X', ' A1', 23]],
    ['officer id', officerIdSchema, ['P10482', 'li_wei', 'a-B', 'x'.repeat(32)], ['', 'li wei', 'x'.repeat(33), 'lì']],
    ['message id', messageIdSchema, ['q-881203', 'x', 'urn:uuid:0d4b', '票-1', 'x'.repeat(100)], ['', 'a b', 'a\tb', 'a\u0000', 'x'.repeat(101), 1]],
    ['boot id', bootIdSchema, ['7f3k2m', '0d4b8f2e-5d7a-4a9b-9e3a-1f2c3d4e5f60'], ['', 'ABC', 'a_b', 'x'.repeat(41)]],
    ['date-time', datetimeSchema, ['2025-03-04T09:15:02Z', '2025-03-04T09:15:02.120Z'], ['2025-03-04', '2025-03-04T09:15:02+08:00', '2025-03-04T09:15:02', '2025-02-30T00:00:00Z', 0]],
  ]
  it.each(cases)('%s accepts valid and refuses invalid values', (_what, schema, good, bad) => {
    for (const value of good) expect(schema.safeParse(value).success, String(value)).toBe(true)
    for (const value of bad) expect(schema.safeParse(value).success, String(value)).toBe(false)
  })
})

describe('error codes', () => {
  it('describe every code and recognise only those', () => {
    expect(Object.keys(errorCodeDescriptions).sort()).toEqual([...ERROR_CODES].sort())
    for (const code of ERROR_CODES) expect(errorCodeDescriptions[code].length).toBeGreaterThan(10)
    expect(isErrorCode('expired')).toBe(true)
    expect(isErrorCode('timeout')).toBe(false)
  })
})

describe('decodeJsonObject', () => {
  it('decodes a JSON object from bytes or a string, dropping a BOM', () => {
    expect(decodeJsonObject('{"a":1}')).toEqual({ ok: true, value: { a: 1 } })
    expect(decodeJsonObject(new TextEncoder().encode('{"票":"A1"}'))).toEqual({ ok: true, value: { 票: 'A1' } })
    expect(decodeJsonObject(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual({ ok: true, value: {} })
  })

  it('says what was wrong with a payload that is not a JSON object', () => {
    expect(decodeJsonObject('[1]')).toEqual({ ok: false, code: 'bad-json', message: 'payload must be a JSON object, got an array' })
    expect(decodeJsonObject('null')).toMatchObject({ message: 'payload must be a JSON object, got null' })
    expect(decodeJsonObject('12')).toMatchObject({ message: 'payload must be a JSON object, got a number' })
    expect(decodeJsonObject(new Uint8Array([0x7b, 0x80, 0x7d]))).toEqual({ ok: false, code: 'bad-json', message: 'payload is not valid UTF-8' })
    expect(decodeJsonObject('{"a":}')).toMatchObject({ ok: false, code: 'bad-json', message: expect.stringMatching(/^payload is not valid JSON \(/) })
  })

  it('measures size in UTF-8 bytes', () => {
    expect(payloadByteLength('abc')).toBe(3)
    expect(payloadByteLength('票')).toBe(3)
    expect(payloadByteLength('票'.repeat(5462))).toBe(16386)
    expect(payloadByteLength(new Uint8Array(7))).toBe(7)
    for (const text of ['é', '😀', 'a\ud800b', '\udc00', 'mixed 票 é 😀 text']) {
      expect(payloadByteLength(text), text).toBe(new TextEncoder().encode(text).byteLength)
    }
    expect(decodeJsonObject(`{"a":"${'票'.repeat(5460)}"}`)).toMatchObject({ ok: false, code: 'too-large', message: `payload is 16388 bytes, more than the limit of ${MAX_PAYLOAD_BYTES}` })
  })
})

describe('validate', () => {
  const schema = z.strictObject({
    name: z.string().min(2).max(4),
    count: z.number().int().min(1),
    ratio: z.number().gt(0).optional(),
    tags: z.array(z.string()).max(1).optional(),
    mode: z.enum(['a', 'b']).optional(),
    fixed: z.literal('x').optional(),
  })

  it('words each kind of issue for people', () => {
    const says = (value: unknown) => {
      const result = validate(schema, value)
      return result.ok ? 'ok' : result.message
    }
    expect(says({ name: 'ab', count: 1 })).toBe('ok')
    expect(says({ count: 1 })).toBe('name: required')
    expect(says({ name: 'a', count: 1 })).toBe('name: expected at least 2 characters, got "a"')
    expect(says({ name: 'abcde', count: 1 })).toBe('name: expected at most 4 characters, got "abcde"')
    expect(says({ name: 'ab', count: 0 })).toBe('count: expected a value ≥ 1, got 0')
    expect(says({ name: 'ab', count: 1, ratio: 0 })).toBe('ratio: expected a value > 0, got 0')
    expect(says({ name: 'ab', count: 1, tags: ['a', 'b'] })).toBe('tags: expected at most 1 item, got ["a","b"]')
    expect(says({ name: 'ab', count: 1, mode: 'c' })).toBe('mode: expected one of "a", "b", got "c"')
    expect(says({ name: 'ab', count: 1, fixed: 'y' })).toBe('fixed: expected "x", got "y"')
    expect(says({ name: 'ab', count: 1, a: 1, b: 2 })).toBe('a: unknown field; b: unknown field')
    expect(says({ name: 'x'.repeat(80), count: 1 })).toMatch(/^name: expected at most 4 characters, got "x{38}…$/)
  })

  it('renders paths with dots and indexes', () => {
    expect(renderPath([])).toBe('payload')
    expect(renderPath(['settings', 'brightness'])).toBe('settings.brightness')
    expect(renderPath(['faults', 0, 'since'])).toBe('faults[0].since')
  })
})

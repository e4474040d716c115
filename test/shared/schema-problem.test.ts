import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { issueText, recasedHint, schemaProblem } from '../../edge/shared/schema-problem.ts'
import { idSchema, ticketSchema } from '../../edge/protocol/index.ts'

const schema = z.strictObject({
  counter: idSchema,
  board: z.string().min(1),
  hub: z.array(z.string()).min(1),
  port: z.number().int().default(1883),
  tls: z.strictObject({ port: z.number(), certFile: z.string() }).optional(),
})

function problem(input: unknown) {
  const r = schema.safeParse(input)
  if (r.success) throw new Error('expected a failure')
  return schemaProblem(schema, input, r.error.issues)
}

describe('a schema failure, as a technician reads it', () => {
  it('names a misspelled required key as the unknown key it is, not only the missing one', () => {
    expect(problem({ counter: 'w01', bord: 'sim-window', hub: ['h'] })).toEqual({
      path: '',
      text: '缺少 "board"，却有未知的键 "bord"，是不是 "board"？ / "board" missing, and unknown key "bord" (did you mean "board"?)',
    })
  })

  it('suggests the nearest key for an unknown optional one, also inside a section', () => {
    expect(problem({ counter: 'w01', board: 'b', hub: ['h'], prot: 1884 })).toEqual({ path: '', text: '未知的键 "prot"，是不是 "port"？ / unknown key "prot" (did you mean "port"?)' })
    expect(problem({ counter: 'w01', board: 'b', hub: ['h'], tls: { port: 1, certFile: 'c', cretFile: 'x' } }).text).toContain('(did you mean "certFile"?)')
    expect(problem({ counter: 'w01', board: 'b', hub: ['h'], colour: 'red' }).text).toBe('未知的键 "colour" / unknown key "colour"')
  })

  it('says what type a field should have and what it has', () => {
    expect(problem({ counter: 'w01', board: 'b', hub: 'mqtt://h' })).toEqual({ path: 'hub', text: '应为数组 [...]，却是字符串 / expected array, received string' })
    expect(problem({ counter: 'w01', hub: ['h'] })).toEqual({ path: 'board', text: '缺少此项 / required (string)' })
  })

  it('gives the id rule in Chinese beside the schema\'s English', () => {
    const r = idSchema.safeParse('W03')
    expect(r.success).toBe(false)
    expect(issueText(r.error!.issues[0]!, 'W03')).toBe("须为 1–32 个字符：a–z、0–9、'-'，不以 '-' 开头 / expected 1–32 characters a–z, 0–9, '-', not starting with '-'")
  })

  it('points to a value that is right but for its case, as the whole file would take it', () => {
    expect(problem({ counter: 'W13', board: 'b', hub: ['h'] })).toEqual({
      path: 'counter',
      text: `须为 1–32 个字符：a–z、0–9、'-'，不以 '-' 开头，是不是 "w13"？ / expected 1–32 characters a–z, 0–9, '-', not starting with '-' (did you mean "w13"?)`,
    })
    // No hint where no case would do.
    expect(problem({ counter: 'w_13', board: 'b', hub: ['h'] }).text).not.toContain('did you mean')
  })

  it('the case hint is one rule for a config file and a flag: lower or upper case, where it fits', () => {
    const flag = (schema: z.ZodType<string>, value: string) => recasedHint(value, (c) => schema.safeParse(c).success)
    expect(flag(idSchema, 'W03')).toEqual({ zh: '，是不是 "w03"？', en: ' (did you mean "w03"?)' })
    expect(flag(ticketSchema, 'a012')).toEqual({ zh: '，是不是 "A012"？', en: ' (did you mean "A012"?)' })
    // Mixed case: only the case that fits is offered; none where neither does.
    expect(flag(ticketSchema, 'aB1')).toEqual({ zh: '，是不是 "AB1"？', en: ' (did you mean "AB1"?)' })
    expect(flag(idSchema, 'w_13')).toEqual({ zh: '', en: '' })
  })
})

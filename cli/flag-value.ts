import type { z } from 'zod'
import { issueHalves, recasedHint } from '../edge/shared/schema-problem.ts'
import { UsageError } from './subcommand.ts'

/** What to say when a flag is missing: the whole sentence in each language. */
export interface MissingFlag {
  zh: string
  en: string
}

/**
 * A flag's value checked against its schema (a counter id, a ticket). A wrong one is a usage error
 * naming the flag, the value and the rule, in Chinese and English; a value that is right but for its
 * case ("W03", "a012") is pointed to.
 */
export function checkedFlag<S extends z.ZodType<string>>(schema: S, value: unknown, flag: string, missing: MissingFlag): z.output<S> {
  if (value === undefined) throw new UsageError(`${missing.zh} / ${missing.en}`)
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const text = String(value)
  const { zh, en } = issueHalves(r.error.issues[0]!, value)
  const hint = recasedHint(text, (c) => schema.safeParse(c).success)
  throw new UsageError(`${flag} "${text}"：${zh}${hint.zh} / ${flag} "${text}": ${en}${hint.en}`)
}

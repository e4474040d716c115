import { readFile } from 'node:fs/promises'
import type { z } from 'zod'
import { UsageError } from './subcommand.ts'

/**
 * Reads a --config JSON file against its schema. Every failure is a usage
 * error that names the file and, for a schema failure, the field.
 */
export async function readConfigFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  const text = await readFile(path, 'utf8').catch((e: Error) => {
    throw new UsageError(`cannot read --config ${path}: ${e.message}`)
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const i = parsed.error.issues[0]!
    throw new UsageError(`${path}: ${i.path.join('.') || '(root)'}: ${i.message}`)
  }
  return parsed.data
}

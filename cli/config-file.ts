import { readFile } from 'node:fs/promises'
import type { z } from 'zod'
import { readFailureEn, readFailureZh } from '../edge/shared/read-failure.ts'
import { schemaProblem } from '../edge/shared/schema-problem.ts'
import { UsageError } from './subcommand.ts'

/**
 * Reads a --config JSON file against its schema. Every failure is a usage
 * error that names the file and, for a schema failure, the field.
 */
export async function readConfigFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`无法读取配置文件 ${path}：${readFailureZh(e.code)} / cannot read --config ${path}: ${readFailureEn(e)}`)
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new UsageError(`${path} 不是有效的 JSON（可能不完整或有多余的逗号）/ ${path} is not valid JSON: ${(e as Error).message}`)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const p = schemaProblem(schema, json, parsed.error.issues)
    throw new UsageError(`${path}: ${p.path ? `${p.path}: ` : ''}${p.text}`)
  }
  return parsed.data
}

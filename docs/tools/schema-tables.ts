/**
 * Turns the JSON Schemas generated from the protocol's zod schemas into
 * Markdown field tables. Working from the JSON Schema (not from zod internals)
 * means the reference shows exactly what the published schema files say.
 */

export type JsonSchema = { readonly [key: string]: unknown }

export interface FieldRow {
  readonly path: string
  readonly type: string
  readonly required: boolean
  readonly defaultValue: string | null
  readonly notes: string
}

/** zod writes the safe-integer range on every `.int()`; it is noise in a table. */
const SAFE_INT_BOUND = Number.MAX_SAFE_INTEGER

function asSchema(value: unknown): JsonSchema | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonSchema) : null
}

function nonNullMembers(schema: JsonSchema): JsonSchema[] | null {
  const anyOf = schema.anyOf
  if (!Array.isArray(anyOf)) return null
  return anyOf.map(asSchema).filter((m): m is JsonSchema => m !== null && m.type !== 'null')
}

function isNullable(schema: JsonSchema): boolean {
  return Array.isArray(schema.anyOf) && schema.anyOf.some((m) => asSchema(m)?.type === 'null')
}

/** The object schema behind a field, if it has named properties (plain or nullable). */
function objectBehind(schema: JsonSchema): JsonSchema | null {
  const members = nonNullMembers(schema)
  const target = members && members.length === 1 ? members[0]! : schema
  return target.type === 'object' && asSchema(target.properties) !== null ? target : null
}

export function describeType(schema: JsonSchema): string {
  const members = nonNullMembers(schema)
  if (members !== null) {
    const parts = members.map(describeType)
    if (isNullable(schema)) parts.push('null')
    return parts.join(' | ')
  }
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ')
  if ('const' in schema) return JSON.stringify(schema.const)
  if (Array.isArray(schema.type)) return schema.type.map(String).join(' | ')
  switch (schema.type) {
    case 'string':
      return schema.format === 'date-time' ? 'date-time' : 'string'
    case 'integer':
    case 'number':
    case 'boolean':
    case 'null':
      return schema.type
    case 'array': {
      const items = asSchema(schema.items)
      return items ? `array of ${describeType(items)}` : 'array'
    }
    case 'object': {
      if (asSchema(schema.properties)) return 'object'
      const values = asSchema(schema.additionalProperties)
      return `map of string → ${values && Object.keys(values).length > 0 ? describeType(values) : 'any'}`
    }
    default:
      return 'any'
  }
}

function range(min: unknown, max: unknown, unit: string): string | null {
  const lo = typeof min === 'number' && Math.abs(min) !== SAFE_INT_BOUND ? min : null
  const hi = typeof max === 'number' && Math.abs(max) !== SAFE_INT_BOUND ? max : null
  if (lo !== null && hi !== null) return lo === hi ? `exactly ${lo}${unit}` : `${lo}–${hi}${unit}`
  if (lo !== null) return `≥ ${lo}${unit}`
  if (hi !== null) return `≤ ${hi}${unit}`
  return null
}

export function describeConstraints(schema: JsonSchema): string[] {
  const members = nonNullMembers(schema)
  if (members !== null) return members.length === 1 ? describeConstraints(members[0]!) : []
  const out: string[] = []
  switch (schema.type) {
    case 'string': {
      const length = range(schema.minLength, schema.maxLength, ' chars')
      if (length) out.push(length)
      if (typeof schema.pattern === 'string' && schema.format !== 'date-time') out.push(`pattern \`${schema.pattern}\``)
      break
    }
    case 'integer':
    case 'number': {
      const value = range(schema.minimum, schema.maximum, '')
      if (value) out.push(value)
      if (typeof schema.exclusiveMinimum === 'number') out.push(`> ${schema.exclusiveMinimum}`)
      if (typeof schema.exclusiveMaximum === 'number') out.push(`< ${schema.exclusiveMaximum}`)
      break
    }
    case 'array': {
      if (typeof schema.minItems === 'number') out.push(`at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`)
      if (typeof schema.maxItems === 'number') out.push(`at most ${schema.maxItems} items`)
      const itemSchema = asSchema(schema.items)
      if (itemSchema && itemSchema.type !== 'object') out.push(...describeConstraints(itemSchema).map((c) => `each ${c}`))
      break
    }
    case 'object': {
      const keys = asSchema(schema.propertyNames)
      const keyLength = keys ? range(keys.minLength, keys.maxLength, ' chars') : null
      if (keyLength) out.push(`keys ${keyLength}`)
      break
    }
  }
  return out
}

/** Rows for an object schema, nested objects flattened as `parent.child`. */
export function fieldRows(schema: JsonSchema, skip: ReadonlySet<string> = new Set(), prefix = ''): FieldRow[] {
  const properties = asSchema(schema.properties) ?? {}
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : [])
  const rows: FieldRow[] = []
  for (const [name, raw] of Object.entries(properties)) {
    if (prefix === '' && skip.has(name)) continue
    const field = asSchema(raw)
    if (!field) continue
    const description = typeof field.description === 'string' ? field.description : null
    const notes = [description, ...describeConstraints(field)].filter((n): n is string => n !== null)
    rows.push({
      path: prefix + name,
      type: describeType(field),
      required: required.has(name),
      defaultValue: 'default' in field ? JSON.stringify(field.default) : null,
      notes: notes.join('; '),
    })
    const nested = objectBehind(field)
    if (nested) rows.push(...fieldRows(nested, skip, `${prefix}${name}.`))
    const items = field.type === 'array' ? asSchema(field.items) : null
    if (items && objectBehind(items)) rows.push(...fieldRows(objectBehind(items)!, skip, `${prefix}${name}[].`))
  }
  return rows
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ')
}

export function fieldTable(rows: readonly FieldRow[]): string {
  const lines = ['| field | type | required | default | notes |', '| --- | --- | --- | --- | --- |']
  for (const row of rows) {
    const def = row.defaultValue === null ? '' : `\`${cell(row.defaultValue)}\``
    lines.push(`| \`${row.path}\` | ${cell(row.type)} | ${row.required ? 'yes' : 'no'} | ${def} | ${cell(row.notes)} |`)
  }
  return lines.join('\n')
}

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`]
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`)
  return lines.join('\n')
}

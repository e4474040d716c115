/**
 * Builders for invalid variants of a valid payload, shared by the command,
 * event and message suites so each schema is attacked the same way.
 */

export type Payload = Record<string, unknown>

export function without(payload: Payload, key: string): Payload {
  const copy = { ...payload }
  delete copy[key]
  return copy
}

export function withField(payload: Payload, key: string, value: unknown): Payload {
  return { ...payload, [key]: value }
}

/** A JSON value of a type the field cannot have: arrays where the field is not one, a string where it is. */
export function wrongTypeFor(value: unknown): unknown {
  return Array.isArray(value) ? 'not-an-array' : [1]
}

export function requiredKeys(payload: Payload, optional: ReadonlySet<string>): string[] {
  return Object.keys(payload).filter((k) => !optional.has(k))
}

export const json = (value: unknown): string => JSON.stringify(value)

export const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

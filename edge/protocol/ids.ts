import { z } from 'zod'

/**
 * The contract version every board message carries in `v`. A consumer that
 * sees another value must not guess at its meaning: the schemas reject it.
 */
export const CONTRACT_VERSION = 1 as const

/**
 * Hall and counter ids become MQTT topic levels and ACL entries, so they are
 * restricted to characters that can never be a wildcard, a separator or a
 * case-folding surprise in a credential file.
 */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/

export const idSchema = z
  .string()
  .regex(ID_PATTERN, { error: "expected 1–32 characters a–z, 0–9, '-', not starting with '-'" })

/** A call number as the hall shows it, e.g. "A023"; displays have at most 8 digits. */
/** Every character a ticket may have; TICKET_PATTERN's class. */
export const TICKET_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
export const TICKET_PATTERN = /^[A-Z0-9]{1,8}$/

export const ticketSchema = z.string().regex(TICKET_PATTERN, { error: 'expected 1–8 characters A–Z, 0–9' })

export const OFFICER_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/

export const officerIdSchema = z
  .string()
  .regex(OFFICER_ID_PATTERN, { error: "expected 1–32 characters A–Z, a–z, 0–9, '_', '-'" })

/**
 * Message ids are chosen by whoever sends (boards, central), so only what would
 * break logs and dedupe keys is excluded: whitespace and control characters.
 */
// eslint-disable-next-line no-control-regex
export const MESSAGE_ID_PATTERN = /^[^\s\x00-\x1f\x7f]{1,100}$/

export const messageIdSchema = z
  .string()
  .regex(MESSAGE_ID_PATTERN, { error: 'expected 1–100 characters without whitespace' })

/** A new boot id each start lets consumers tell a late will from a fresh birth. */
export const BOOT_ID_PATTERN = /^[a-z0-9-]{1,40}$/

export const bootIdSchema = z.string().regex(BOOT_ID_PATTERN, { error: "expected 1–40 characters a–z, 0–9, '-'" })

/**
 * UTC only: boards in different halls and central must compare timestamps
 * without knowing anyone's time zone.
 */
export const datetimeSchema = z.iso.datetime({
  // A missing field falls through to the parse-wide wording ("required").
  error: (issue) => (issue.input === undefined ? undefined : 'expected an ISO-8601 UTC date-time such as 2024-05-01T08:30:00.000Z'),
})

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value)
}

export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID_PATTERN.test(value)
}

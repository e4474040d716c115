import { z } from 'zod'
import { CONTRACT_VERSION, bootIdSchema, datetimeSchema, messageIdSchema } from './ids.ts'

/**
 * The fields every board message starts with. Consumers dedupe on `id` (the
 * chain is at-least-once), order within a run by `boot` + `seq`, and trust
 * `ts` for durations only when `synced` says the board's clock was set.
 */
export const envelopeSchema = z.strictObject({
  v: z.literal(CONTRACT_VERSION).describe('contract version'),
  id: messageIdSchema.describe('unique message id; consumers drop duplicates by it'),
  boot: bootIdSchema.describe('new on every start of the board runtime'),
  seq: z.number().int().min(0).describe('+1 per message within a boot'),
  ts: datetimeSchema.describe('when the board produced the message (UTC)'),
  synced: z.boolean().describe("whether the board's clock was synchronised when `ts` was taken"),
})

export type Envelope = z.infer<typeof envelopeSchema>

export const ENVELOPE_KEYS = Object.keys(envelopeSchema.shape) as ReadonlyArray<keyof Envelope>

/** What a producer supplies before the link stamps the envelope; distributes over unions. */
export type WithoutEnvelope<T> = T extends unknown ? Omit<T, keyof Envelope> : never

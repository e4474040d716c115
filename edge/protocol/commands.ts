import { z } from 'zod'
import type { ErrorCode } from './errors.ts'
import { datetimeSchema, idSchema, messageIdSchema, officerIdSchema, ticketSchema } from './ids.ts'
import { decodeJsonObject, messageIdOf, validate } from './payload.ts'
import { signedManifestSchema } from './release.ts'
import { captureKindSchema, continuesSchema, logLevelSchema, outcomeSchema, selfTestSchema } from './vocabulary.ts'

export const COMMAND_NAMES = [
  'call',
  'recall',
  'no-show',
  'start',
  'finish',
  'evaluate',
  'pause',
  'resume',
  'capture',
  'officer',
  'identify',
  'self-test',
  'sync',
  'config',
  'transfer',
  'park',
  'update',
] as const

export type CommandName = (typeof COMMAND_NAMES)[number]

export function isCommandName(value: unknown): value is CommandName {
  return typeof value === 'string' && (COMMAND_NAMES as readonly string[]).includes(value)
}

/**
 * Commands come from central, not from a board, so they carry no envelope;
 * `id` addresses the reply and dedupes redelivery, `expires` keeps a call that
 * sat in a queue from putting a stale number on a display.
 */
const commandHeader = {
  id: messageIdSchema.describe('command id: the reply carries it; a repeated id gets the first reply again, whatever the command name (never reuse an id for another command)'),
  expires: datetimeSchema.describe('after this time the board refuses the command (code `expired`) and never acts on it'),
  issued: datetimeSchema.optional().describe('when central issued the command; informational'),
}

function commandSchema<A extends z.ZodRawShape>(args: A) {
  return z.strictObject({ ...commandHeader, ...args })
}

const optionalTicket = ticketSchema.optional().describe('the ticket the command is meant for; refused with `wrong-ticket` if the window holds another')

const callSchema = commandSchema({
  ticket: ticketSchema.describe("the number to show and announce; a window takes only what its display can show: no more characters than it has (4 on a segment display), and on a 7-segment display none of K, M, V, W, X, Z; otherwise refused with `unsupported`"),
  service: z.string().min(1).max(32).optional().describe('service type, e.g. "passport"'),
  green: z.boolean().default(false).describe('green channel (urgent cases)'),
  appointment: z.boolean().default(false).describe('the applicant booked online'),
  caseNo: z.string().min(1).max(64).optional().describe('case number (办件编号): carried by the service\'s events and its rating'),
  item: z.string().min(1).max(128).optional().describe('service item (事项): carried by the service\'s events and its rating'),
  overtimeWarnS: z.number().int().min(30).max(7200).optional().describe('overtime warning for this service type, overriding the window setting'),
  overtimeLimitS: z.number().int().min(60).max(14400).optional().describe('overtime limit for this service type, overriding the window setting'),
  record: z
    .string()
    .min(1)
    .max(80)
    .optional()
    .describe('continue this service record (from a `service-transferred` or `service-parked` event) instead of starting a new one; requires `continues`'),
  continues: continuesSchema.optional().describe('why the service record goes on here: "transfer" (转移) or "park" (回呼, a parked service called back); requires `record`'),
}).superRefine((cmd, ctx) => {
  if (cmd.overtimeWarnS !== undefined && cmd.overtimeLimitS !== undefined && cmd.overtimeWarnS >= cmd.overtimeLimitS) {
    ctx.addIssue({ code: 'custom', path: ['overtimeWarnS'], message: 'must be less than overtimeLimitS' })
  }
  if ((cmd.record === undefined) !== (cmd.continues === undefined)) {
    ctx.addIssue({ code: 'custom', path: [cmd.record === undefined ? 'record' : 'continues'], message: 'record and continues go together' })
  }
})

const transferSchema = commandSchema({
  ticket: ticketSchema.optional().describe('the ticket being served; refused with `wrong-ticket` if the window holds another'),
  toWindow: idSchema.optional().describe('the counter id of the window that takes the service over'),
  toQueue: z.string().min(1).max(32).optional().describe('the queue (service type) the ticket goes back to, to be called at any window serving it'),
  reason: z.string().min(1).max(64).describe('why, e.g. "needs-approval", "wrong-window"'),
}).superRefine((cmd, ctx) => {
  if (cmd.toWindow === undefined && cmd.toQueue === undefined) {
    ctx.addIssue({ code: 'custom', path: ['toWindow'], message: 'required: one of toWindow and toQueue' })
  } else if (cmd.toWindow !== undefined && cmd.toQueue !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['toQueue'], message: 'only one of toWindow and toQueue' })
  }
})

const officerSchema = commandSchema({
  action: z.enum(['sign-in', 'sign-out']),
  officer: officerIdSchema.optional().describe('required for sign-in'),
  // Not `name`: that key is the command name in the parsed `Command` union.
  officerName: z.string().min(1).max(64).optional().describe('display name shown as on-duty information'),
}).superRefine((cmd, ctx) => {
  if (cmd.action === 'sign-in' && cmd.officer === undefined) {
    ctx.addIssue({ code: 'custom', path: ['officer'], message: 'required for sign-in' })
  }
})

/** Every key optional, but an empty `settings` is refused: it would look applied while changing nothing. */
const settingsSchema = z
  .strictObject({
    evaluationTimeoutS: z.number().int().min(5).max(600).optional().describe('how long the evaluator stays open'),
    overtimeWarnS: z.number().int().min(30).max(7200).optional().describe('service time before the overtime warning'),
    overtimeLimitS: z.number().int().min(60).max(14400).optional().describe('service time limit'),
    telemetryPeriodS: z.number().int().min(5).max(3600).optional().describe('seconds between telemetry messages'),
    brightness: z.number().int().min(0).max(15).optional().describe('call display brightness'),
    scale: z.literal([3, 5]).optional().describe('number of evaluator keys in use; at most the keys the window\'s evaluator has (`evaluator:N` in its birth): 5 at a three-key evaluator is refused with `unsupported`'),
    evaluationDwellMs: z.number().int().min(0).max(10_000).optional().describe('a press sooner than this after the evaluator opened is flagged `early` on `evaluated`'),
    noShowPromptS: z.number().int().min(10).max(3600).optional().describe('a call not started within this time (since the last call or recall) raises `call-unanswered`'),
    pauseLimitS: z.number().int().min(60).max(14400).optional().describe('a pause longer than this raises `pause-overtime` (a `pause` may set its own)'),
    recallLimit: z.number().int().min(1).max(10).optional().describe('recalls allowed per call; past it a recall is refused (`limit-reached`) and no-show is suggested'),
    logLevel: logLevelSchema.optional(),
  })
  .describe('at least one setting; overtimeWarnS must be less than overtimeLimitS when both are given')
  .superRefine((settings, ctx) => {
    if (Object.keys(settings).length === 0) {
      ctx.addIssue({ code: 'custom', path: [], message: 'expected at least one setting' })
    }
    if (settings.overtimeWarnS !== undefined && settings.overtimeLimitS !== undefined && settings.overtimeWarnS >= settings.overtimeLimitS) {
      ctx.addIssue({ code: 'custom', path: ['overtimeWarnS'], message: 'must be less than overtimeLimitS' })
    }
  })

export const commandSchemas = {
  call: callSchema,
  recall: commandSchema({ ticket: optionalTicket }),
  'no-show': commandSchema({ ticket: optionalTicket }),
  start: commandSchema({ ticket: optionalTicket }),
  finish: commandSchema({ outcome: outcomeSchema, ticket: optionalTicket }),
  // No `officer`: a rating is charged to the officer who served, never to one central names; the strict schema refuses the field by name.
  evaluate: commandSchema({
    ticket: ticketSchema.optional().describe('the service awaiting its rating; refused with `wrong-ticket` if the window holds another'),
  }),
  pause: commandSchema({
    reason: z.string().min(1).max(64).describe('shown on the window, e.g. "break", "meal", "meeting", "training", "business", "handover"'),
    limitS: z.number().int().min(60).max(14400).optional().describe('how long this pause may last before `pause-overtime`, overriding the window setting'),
  }),
  resume: commandSchema({}),
  capture: commandSchema({ kind: captureKindSchema.describe('which capture device to start'), ticket: optionalTicket }),
  officer: officerSchema,
  identify: commandSchema({
    seconds: z.number().int().min(1).max(300).default(10).describe('how long the window flashes its display and light'),
  }),
  'self-test': commandSchema({
    tests: z.array(selfTestSchema).min(1).optional().describe('which tests to run; all when omitted'),
  }),
  sync: commandSchema({}),
  config: commandSchema({ settings: settingsSchema }),
  transfer: transferSchema,
  park: commandSchema({
    ticket: ticketSchema.optional().describe('the ticket being served; refused with `wrong-ticket` if the window holds another'),
    reason: z.string().min(1).max(64).describe('what the service waits for, e.g. "document"'),
  }),
  update: commandSchema({
    release: signedManifestSchema.describe('the signed manifest of the release (the contents of its .release.json)'),
    url: z
      .string()
      .max(500)
      .regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL')
      .describe("where the board downloads the payload: the hub's HTTP server, authenticated with the board's own MQTT username and password (HTTP Basic)"),
    confirmWithinS: z.number().int().min(10).max(900).default(120).describe('the new version must be online with its devices answering within this time, or the board goes back to the running one by itself'),
  }),
} as const satisfies { [N in CommandName]: z.ZodType }

/** What the board acts on: defaults applied, `name` taken from the topic. */
export type CommandOf<N extends CommandName> = { name: N } & z.output<(typeof commandSchemas)[N]>

export type Command = { [N in CommandName]: CommandOf<N> }[CommandName]

/** What central may send: defaulted fields optional. */
export type CommandInput<N extends CommandName> = z.input<(typeof commandSchemas)[N]>

export const commandDescriptions: Record<CommandName, string> = {
  call: 'Call a ticket to this window: show it on the call display and announce it. A ticket the window\'s display cannot show (too long for it, or a character it cannot draw) is refused with `unsupported`, never cut short. With `record` and `continues`, a transferred or parked service goes on here under its own record (the rating, if any, is given here).',
  recall: 'Call the current ticket again (the applicant did not come); past the window\'s `recallLimit` refused with `limit-reached`, and the reply that reaches it suggests no-show.',
  'no-show': 'Give up on the current ticket: the applicant did not come.',
  start: 'The applicant has arrived; start timing the service. A `capture` sent while the window is calling starts the service too, and a `start` after it is refused with `wrong-mode`.',
  finish: 'The service ended; opens the evaluator when it was served.',
  evaluate: 'Confirm the evaluation of the service that just finished here (served, not yet rated or missed); refused otherwise. It never opens one for another ticket or names the officer: `finish` with outcome "served" opens it.',
  pause: 'Pause the window (break): at once when idle, otherwise after the service at the window ends ("pause after this service"); the display shows the reason\'s code.',
  resume: 'Reopen a paused window, or cancel a pause still waiting for the service to end.',
  capture: 'Trigger the document-photo camera or the fingerprint scanner; the outcome comes as an event (`capture-done` or `capture-failed`). Taken while the window is calling or serving (`wrong-mode` otherwise). At a window that is calling, it also starts the service: the applicant is at the window, so the board sends `service-started` with `cmd` = the capture\'s id before its reply, and the window is serving; do not send `start` after it (refused with `wrong-mode`).',
  officer: 'Sign an officer in or out of the window.',
  identify: 'Flash the display and status light so a technician can find the board.',
  'self-test': 'Run device self-tests; the result is in the reply. The trigger test fires the capture devices, so it is refused `busy` while an applicant is at the window (calling, serving, evaluating) or a capture runs; display and keys run in any mode.',
  sync: 'Republish status and state (e.g. after central restarted).',
  config: 'Change runtime settings; unknown settings are refused.',
  transfer: 'Transfer the service being served to another window or back to a queue (转移): this window\'s part ends with `service-transferred` and no evaluation; the service is rated where it finishes.',
  park: 'Park the service being served while it waits for something (挂起, e.g. a document): it ends here with `service-parked` and no evaluation, to be called back later (`call` with its record) here or at another window.',
  update: 'Install a signed release beside the running version and restart into it (sent by the hub\'s rollout, not by central: one from central, or from any MQTT client at the hub, is refused by the hub with `unsupported` and reaches no board): refused with `busy` while the window has an applicant. Progress and the outcome (confirmed, or rolled back and why) come on `update`.',
}

export type CommandParse =
  | { ok: true; command: Command }
  | { ok: false; code: ErrorCode; message: string; id: string | null }

/**
 * Decode and validate a command from its topic name and payload. Never throws:
 * every failure is a code and a message for the reply, with the payload's id
 * when one could be read so the reply can be addressed.
 */
export function parseCommand(name: string, payload: Uint8Array | string): CommandParse {
  const decoded = decodeJsonObject(payload)
  const id = messageIdOf(decoded)
  if (!isCommandName(name)) {
    return { ok: false, code: 'unknown-command', message: `unknown command ${JSON.stringify(name)}`, id }
  }
  if (!decoded.ok) return { ok: false, code: decoded.code, message: decoded.message, id }
  const result = validate(commandSchemas[name], decoded.value)
  if (!result.ok) return { ok: false, code: 'bad-payload', message: result.message, id }
  return { ok: true, command: { name, ...result.data } as Command }
}

/** An unreadable expiry counts as expired: acting on a command of unknown age is the failure to avoid. */
export function commandExpired(cmd: { expires: string }, nowMs: number): boolean {
  const expiresMs = Date.parse(cmd.expires)
  return Number.isNaN(expiresMs) || nowMs > expiresMs
}

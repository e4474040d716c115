import { z } from 'zod'
import { envelopeSchema, type Envelope } from './envelope.ts'
import { idSchema, messageIdSchema, officerIdSchema, ticketSchema } from './ids.ts'
import { publicWindowSchema } from './public-window.ts'
import {
  FOLLOW_UP_SCORES,
  SCORE_LABELS,
  THREE_KEY_SCORES,
  captureFailureSchema,
  captureKindSchema,
  continuesSchema,
  deviceNameSchema,
  faultCodeSchema,
  followUpScoreSchema,
  officerKeySchema,
  outcomeSchema,
  scaleSchema,
  scoreSchema,
} from './vocabulary.ts'

export const EVENT_TYPES = [
  'called',
  'recalled',
  'no-show',
  'service-started',
  'service-finished',
  'evaluated',
  'evaluation-missed',
  'rating-alert',
  'capture-done',
  'capture-failed',
  'overtime',
  'help-requested',
  'officer-key',
  'paused',
  'resumed',
  'fault',
  'fault-cleared',
  'service-transferred',
  'service-parked',
  'signed-in',
  'signed-out',
  'call-unanswered',
  'pause-overtime',
] as const

export type EventType = (typeof EVENT_TYPES)[number]

/**
 * The events that call an applicant to a window: each carries the public
 * window (`window`), so a voice caller, a hall screen and central can say
 * where to go without a table of counter ids.
 */
export const CALL_EVENT_TYPES = ['called', 'recalled'] as const satisfies readonly EventType[]
export type CallEventType = (typeof CALL_EVENT_TYPES)[number]

export function isCallEventType(type: EventType): type is CallEventType {
  return (CALL_EVENT_TYPES as readonly string[]).includes(type)
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value)
}

/**
 * `type` repeats the topic's last level so an event stays self-describing once
 * it has left MQTT (custody log, central's store).
 */
function eventSchema<T extends EventType, F extends z.ZodRawShape>(type: T, fields: F) {
  return envelopeSchema.extend({ type: z.literal(type).describe('equals the last topic level'), ...fields })
}

/** Set when a command caused the event, so central can join the two; absent when a key or timer did. */
const causedBy = messageIdSchema.optional().describe('id of the command that caused the event')
const requiredCause = messageIdSchema.describe('id of the capture command')
const officerOrNull = officerIdSchema.nullable().describe('the officer signed in, if any')
const ticketOrNull = ticketSchema.nullable()
// Optional on reading only: boards before service records did not send them; this one always does.
const recordId = z.string().min(1).max(80).optional().describe('the service record: one id for every event of one service, unique across boards and restarts (`<counter>-<boot>-<n>`)')
const caseNo = z.string().min(1).max(64).nullable().default(null).describe('case number (办件编号) from the call, if central gave one')
const item = z.string().min(1).max(128).nullable().default(null).describe('service item (事项) from the call, if central gave one')
// Optional on reading only, like `record`: boards before the public window did not send it; this one always does.
const publicWindow = publicWindowSchema.optional().describe('the window the applicant is called to, as the public knows it (number and name); always sent by this version, absent only from older boards (then derive it from the counter id: w03 → "3", "3号窗口")')
const missReasonSchema = z.enum(['timeout', 'evaluator-fault'])
const ms = (description: string) => z.number().int().min(0).describe(description)

const evaluatedSchema = eventSchema('evaluated', {
  ticket: ticketSchema.describe('the ticket the rating is for'),
  officer: officerIdSchema.nullable().describe('the officer rated'),
  score: scoreSchema.describe('with scale 3 only "satisfied", "neutral" or "dissatisfied"'),
  scale: scaleSchema,
  latencyMs: ms('from the evaluator opening to the key press, on the board\'s monotonic clock'),
  record: recordId,
  caseNo,
  item,
  early: z
    .boolean()
    .default(false)
    .describe('the press came sooner after the evaluator opened than the window\'s dwell (evaluationDwellMs): still the rating, flagged for audit (was it the applicant?); absent from older boards, read as false'),
}).superRefine((event, ctx) => {
  // A three-key evaluator cannot produce the extreme values; seeing one means a mapping bug, not a rating.
  if (event.scale === 3 && !(THREE_KEY_SCORES as readonly string[]).includes(event.score)) {
    ctx.addIssue({ code: 'custom', path: ['score'], message: `expected one of ${THREE_KEY_SCORES.map((s) => `"${s}"`).join(', ')} on a 3-key evaluator` })
  }
})

const FOLLOW_UP_LEVELS = FOLLOW_UP_SCORES.map((s) => SCORE_LABELS[s].national) as [string, ...string[]]

/**
 * A bad rating to follow up (差评), sent with its `evaluated` in the same step
 * (one atomic save, one journal append), so one never travels without the
 * other. A separate event, not a field of `evaluated`: a follow-up desk
 * subscribes to this one topic, and `evaluated` stays the statistic it was.
 */
const ratingAlertSchema = eventSchema('rating-alert', {
  ticket: ticketSchema.describe('the ticket the rating is for'),
  officer: officerIdSchema.nullable().describe('the officer rated (who served)'),
  score: followUpScoreSchema.describe('the two dissatisfied levels only; with scale 3 only "dissatisfied"'),
  scale: scaleSchema,
  level: z.enum(FOLLOW_UP_LEVELS).describe('the national 好差评 level of `score`, as people read it: 不满意 or 非常不满意'),
  record: z.string().min(1).max(80).describe('the service record of the rating: the `record` of its `evaluated`'),
  caseNo,
  item,
  early: z.boolean().describe('as on its `evaluated`: the press came sooner than the window\'s dwell (was it the applicant?)'),
}).superRefine((event, ctx) => {
  if (event.level !== SCORE_LABELS[event.score].national) {
    ctx.addIssue({ code: 'custom', path: ['level'], message: `expected "${SCORE_LABELS[event.score].national}" for score "${event.score}"` })
  }
  if (event.scale === 3 && !(THREE_KEY_SCORES as readonly string[]).includes(event.score)) {
    ctx.addIssue({ code: 'custom', path: ['score'], message: 'expected "dissatisfied" on a 3-key evaluator' })
  }
})

export const eventSchemas = {
  called: eventSchema('called', {
    ticket: ticketSchema,
    service: z.string().min(1).max(32).nullable().describe('service type, from the call command'),
    green: z.boolean(),
    appointment: z.boolean(),
    cmd: causedBy,
    record: recordId,
    caseNo,
    item,
    continues: continuesSchema
      .nullable()
      .default(null)
      .describe('"transfer" or "park" when the call continues a service record that began elsewhere (or earlier here): `record` is that record; null for a new service'),
    window: publicWindow,
  }),
  recalled: eventSchema('recalled', {
    ticket: ticketSchema,
    count: z.number().int().min(1).describe('how many times this ticket has been recalled'),
    cmd: causedBy,
    record: recordId,
    window: publicWindow,
  }),
  'no-show': eventSchema('no-show', { ticket: ticketSchema, cmd: causedBy, record: recordId }),
  'service-started': eventSchema('service-started', {
    ticket: ticketSchema,
    officer: officerOrNull,
    waitedMs: ms('from the call to the start of service'),
    cmd: causedBy,
    record: recordId,
  }),
  'service-finished': eventSchema('service-finished', {
    ticket: ticketSchema,
    officer: officerOrNull,
    outcome: outcomeSchema,
    durationMs: ms('from the start of service to its end'),
    cmd: causedBy,
    record: recordId,
    caseNo,
    item,
  }),
  evaluated: evaluatedSchema,
  'rating-alert': ratingAlertSchema,
  'evaluation-missed': eventSchema('evaluation-missed', {
    ticket: ticketSchema,
    officer: officerOrNull,
    afterMs: ms('how long the evaluator stayed open without a press (0 when it never opened)'),
    reason: missReasonSchema
      .default('timeout')
      .describe('"timeout": the applicant did not press in time; "evaluator-fault": an evaluator key was in fault, so the evaluator did not open or closed at once (see detail); absent from older boards, read as "timeout"'),
    detail: z.string().max(200).optional().describe('for evaluator-fault: the faulted keys, e.g. "key-dissatisfied: stuck"'),
    record: recordId,
    caseNo,
    item,
  }),
  'capture-done': eventSchema('capture-done', {
    kind: captureKindSchema,
    ticket: ticketOrNull,
    latencyMs: ms('from the trigger to the device reporting done'),
    cmd: requiredCause,
    record: recordId,
  }),
  'capture-failed': eventSchema('capture-failed', {
    kind: captureKindSchema,
    ticket: ticketOrNull,
    reason: captureFailureSchema,
    message: z.string().max(200).optional().describe('detail for the technician'),
    cmd: requiredCause,
    record: recordId,
  }),
  overtime: eventSchema('overtime', {
    ticket: ticketSchema,
    record: recordId,
    officer: officerOrNull,
    level: z.enum(['warning', 'over']),
    elapsedMs: ms('service time so far'),
    limitMs: ms('the threshold that was crossed'),
  }),
  'help-requested': eventSchema('help-requested', { ticket: ticketOrNull, officer: officerOrNull }),
  'officer-key': eventSchema('officer-key', {
    key: officerKeySchema,
    ticket: ticketOrNull.describe('the ticket at the window when the key was pressed'),
  }),
  paused: eventSchema('paused', {
    reason: z.string().min(1).max(64),
    cmd: causedBy,
    afterService: z.boolean().default(false).describe('the pause was asked for during a service and began when it ended (`cmd` is the pause command)'),
    limitMs: ms('how long the pause may last before `pause-overtime`').optional(),
  }),
  resumed: eventSchema('resumed', { pausedMs: ms('how long the window was paused'), cmd: causedBy }),
  fault: eventSchema('fault', {
    device: deviceNameSchema.describe('e.g. "display", "evaluator", "camera"'),
    code: faultCodeSchema.describe('e.g. "absent", "stuck", "chatter", "nack"'),
    message: z.string().max(200),
  }),
  'fault-cleared': eventSchema('fault-cleared', { device: deviceNameSchema, code: faultCodeSchema }),
  'service-transferred': eventSchema('service-transferred', {
    ticket: ticketSchema,
    officer: officerOrNull.describe('the officer who served this part'),
    toWindow: idSchema.nullable().describe('the window that takes the service over, or null'),
    toQueue: z.string().min(1).max(32).nullable().describe('the queue the ticket goes back to, or null'),
    reason: z.string().min(1).max(64),
    durationMs: ms('from the start of this part of the service to the transfer'),
    cmd: causedBy,
    record: z.string().min(1).max(80).describe('the service record: the receiving window\'s `called` carries it (its `call` gives it back with `continues: "transfer"`)'),
    caseNo,
    item,
  }),
  'service-parked': eventSchema('service-parked', {
    ticket: ticketSchema,
    officer: officerOrNull.describe('the officer who served this part'),
    reason: z.string().min(1).max(64).describe('what the service waits for'),
    durationMs: ms('from the start of this part of the service to the park'),
    cmd: causedBy,
    record: z.string().min(1).max(80).describe('the service record, to be called back with `call {record, continues: "park"}`'),
    caseNo,
    item,
  }),
  'signed-in': eventSchema('signed-in', {
    officer: officerIdSchema,
    officerName: z.string().min(1).max(64).nullable().describe('display name, if central gave one'),
    cmd: causedBy,
  }),
  'signed-out': eventSchema('signed-out', {
    officer: officerIdSchema,
    officerName: z.string().min(1).max(64).nullable(),
    staffedMs: ms('how long this officer was signed in at the window'),
    pausedMs: ms('of that, how long the window was paused'),
    cmd: causedBy.describe('the sign-out, or the sign-in of the officer who took over'),
  }),
  'call-unanswered': eventSchema('call-unanswered', {
    ticket: ticketSchema,
    record: recordId,
    waitedMs: ms('since the last call or recall'),
    limitMs: ms('the window\'s noShowPromptS'),
    recalls: z.number().int().min(0),
    suggest: z.enum(['recall', 'no-show']).describe('"no-show" once the recall limit is used up'),
  }),
  'pause-overtime': eventSchema('pause-overtime', {
    reason: z.string().min(1).max(64),
    officer: officerOrNull,
    pausedMs: ms('how long the window has been paused'),
    limitMs: ms('the limit that was crossed'),
  }),
} as const satisfies { [T in EventType]: z.ZodType }

export type EventOf<T extends EventType> = z.output<(typeof eventSchemas)[T]>

export type BoardEvent = { [T in EventType]: EventOf<T> }[EventType]

/** What a board supplies for an event before the link stamps the envelope and `type`. */
export type EventFields<T extends EventType> = Omit<EventOf<T>, keyof Envelope | 'type'>

/** An event as the counter produces it: `type` plus fields, no envelope yet. */
export type EventDraft = { [T in EventType]: { type: T } & EventFields<T> }[EventType]

export const eventDescriptions: Record<EventType, string> = {
  called: 'A ticket was called to the window and is on its display.',
  recalled: 'The current ticket was called again.',
  'no-show': 'The applicant did not come; the ticket was given up.',
  'service-started': 'The applicant arrived and the service began.',
  'service-finished': 'The service ended.',
  evaluated: 'The applicant rated the service on the evaluator.',
  'evaluation-missed': 'The evaluator closed without a rating.',
  'rating-alert': 'A bad rating (不满意 or 非常不满意) to follow up: sent with its `evaluated`, same record; never counted as a second rating.',
  'capture-done': 'The photo or fingerprint device reported a completed capture (no biometric data is carried).',
  'capture-failed': 'A capture did not complete.',
  overtime: 'A service crossed its warning or limit time.',
  'help-requested': 'The officer asked for the duty supervisor.',
  'officer-key': 'An officer key was pressed (also reported when the board acts on it).',
  paused: 'The window was paused.',
  resumed: 'The window reopened.',
  fault: 'A device developed a fault.',
  'fault-cleared': 'A device fault went away.',
  'service-transferred': 'This window\'s part of a service ended by a transfer (转移) to another window or a queue; no evaluation here: the service is rated where it finishes.',
  'service-parked': 'The service was parked (挂起) to wait for something; no evaluation here: it is rated where it finishes after being called back.',
  'signed-in': 'An officer signed in at the window.',
  'signed-out': 'An officer signed out (or was replaced by another sign-in), with the time staffed.',
  'call-unanswered': 'A called ticket was not started within noShowPromptS: the no-show prompt (the status lamp blinks fast until the call moves on).',
  'pause-overtime': 'The window has been paused longer than its limit: for the duty supervisor.',
}

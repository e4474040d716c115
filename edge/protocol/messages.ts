import { z } from 'zod'
import { commandDescriptions, commandSchemas, parseCommand, type Command } from './commands.ts'
import { envelopeSchema, type WithoutEnvelope } from './envelope.ts'
import { ERROR_CODES } from './errors.ts'
import { eventDescriptions, eventSchemas, isEventType, type BoardEvent } from './events.ts'
import { datetimeSchema, messageIdSchema, officerIdSchema, ticketSchema } from './ids.ts'
import { decodeJsonObject, validate } from './payload.ts'
import { publicWindowSchema } from './public-window.ts'
import { releaseVersionSchema, updateStateNameSchema } from './release.ts'
import { parseTopic, type ParsedTopic, type TopicKind } from './topics.ts'
import {
  bridgeStateSchema,
  deviceHealthSchema,
  deviceNameSchema,
  faultCodeSchema,
  modeSchema,
  offlineReasonSchema,
  overtimeLevelSchema,
} from './vocabulary.ts'

/**
 * The board's retained birth and will share one topic; `boot` in the envelope
 * lets a consumer ignore a will from an earlier run that arrives after a birth.
 */
export const statusSchema = z.discriminatedUnion('online', [
  envelopeSchema.extend({
    online: z.literal(true),
    version: z.string().min(1).max(64).describe('runtime version'),
    board: z.string().min(1).max(64).describe('board profile id'),
    capabilities: z.array(z.string().min(1).max(32)).max(64).describe('devices and features this board has, e.g. "capture:photo"; "display-width:N" is the longest ticket its display shows, and each "display-lacks:CHARS" lists ticket characters it cannot draw (none when absent)'),
  }),
  envelopeSchema.extend({
    online: z.literal(false),
    reason: offlineReasonSchema.describe('"will" when the broker published the last will'),
  }),
])

const ticketStateSchema = z.strictObject({
  number: ticketSchema,
  service: z.string().min(1).max(32).nullable(),
  green: z.boolean(),
  appointment: z.boolean(),
  calledAt: datetimeSchema,
  recalls: z.number().int().min(0),
  startedAt: datetimeSchema.nullable().describe('null until the service starts'),
  record: z.string().min(1).max(80).optional().describe('the service record'),
  continues: z.enum(['transfer', 'park']).nullable().optional().describe('set when the call continues a transferred or parked service'),
  unanswered: z.boolean().optional().describe('the call was not started within noShowPromptS (`call-unanswered` was sent)'),
})

/**
 * Retained, so a consumer that connects late (hall display, central after a
 * restart) sees the window as it is now without replaying events.
 */
export const stateSchema = envelopeSchema.extend({
  mode: modeSchema,
  ticket: ticketStateSchema.nullable().describe('the ticket at the window'),
  officer: z
    .strictObject({ id: officerIdSchema, name: z.string().min(1).max(64).nullable(), since: datetimeSchema.optional().describe('when this officer signed in') })
    .nullable()
    .describe('who is on duty (public information)'),
  since: datetimeSchema.describe('when the window entered this mode'),
  overtime: overtimeLevelSchema,
  evaluation: z.strictObject({ ticket: ticketSchema, openedAt: datetimeSchema, closesAt: datetimeSchema }).nullable().describe('the open evaluation, if any'),
  pause: z
    .strictObject({
      reason: z.string().min(1).max(64),
      since: datetimeSchema,
      code: z.string().min(1).max(8).optional().describe('what a segment display shows for the reason, e.g. "P-BR" for a break'),
      label: z.string().min(1).max(16).optional().describe('the reason as the window screen shows it, e.g. 休息'),
      limitAt: datetimeSchema.optional().describe('when the pause runs over its limit (`pause-overtime`)'),
      over: z.boolean().optional().describe('the pause has run over its limit'),
      afterService: z.boolean().optional().describe('the pause began when the service it waited for ended'),
    })
    .nullable(),
  pauseAfter: z
    .strictObject({ reason: z.string().min(1).max(64), since: datetimeSchema.describe('when it was asked for') })
    .nullable()
    .optional()
    .describe('a pause asked for during a service: it begins when the service at the window ends'),
  faults: z
    .array(z.strictObject({ device: deviceNameSchema, code: faultCodeSchema, message: z.string().max(200), since: datetimeSchema }))
    .max(64)
    .describe('current device faults'),
  window: publicWindowSchema.optional().describe('the public window (number and name, e.g. "3", "3号窗口"); always sent by this version, absent only from older boards'),
})

/** Packed 1-bit rows, most significant bit leftmost, each row padded to whole bytes. */
const SCREEN_PICTURE_MAX_BYTES = 8192

/**
 * What the window's display shows, as the board last wrote it and the chip
 * took it: not what the window wants shown. A display that is absent or
 * failing shows nothing (`text: null`, `fault` set), and a hall's dashboard
 * must say so rather than show the number the state holds
 * (docs/architecture.md §7). Retained, and sent only when it changes.
 */
export const screenSchema = envelopeSchema.extend({
  device: deviceNameSchema.describe('the display it describes ("display")'),
  text: z.string().max(400).nullable().describe('what the display shows, one line per screen line (\\n between), "" when it is blank; null when it shows nothing the board knows of (faulted, never written)'),
  ticket: ticketSchema.nullable().describe('the call number among what it shows; null when it shows none'),
  fault: z.strictObject({ code: faultCodeSchema, message: z.string().max(200) }).nullable().describe('the display\'s fault, while it has one'),
  picture: z
    .strictObject({
      width: z.number().int().min(1).max(512),
      height: z.number().int().min(1).max(256),
      bits: z.string().max(Math.ceil(SCREEN_PICTURE_MAX_BYTES / 3) * 4).regex(/^[A-Za-z0-9+/]*={0,2}$/).describe('base64 of the rows packed 1 bit a pixel (1 lit), most significant bit leftmost, each row padded to whole bytes'),
    })
    .superRefine((p, ctx) => {
      const bytes = Math.ceil(p.width / 8) * p.height
      if (p.bits.length !== Math.ceil(bytes / 3) * 4) ctx.addIssue({ code: 'custom', path: ['bits'], message: `${p.width}×${p.height} packs into ${bytes} bytes (${Math.ceil(bytes / 3) * 4} base64 characters), got ${p.bits.length} characters` })
    })
    .nullable()
    .describe('a pixel screen\'s picture, unscrolled; null for a segment display or when it shows nothing'),
})

/**
 * Where the board is in taking a release: retained, so the hub's rollout and
 * the dashboard see each board's version and update state after a restart of
 * either. Sent at every step and once after each start.
 */
export const updateSchema = envelopeSchema.extend({
  running: z.string().min(1).max(64).describe('the version running now'),
  state: updateStateNameSchema,
  target: releaseVersionSchema.nullable().describe('the version being installed or tried; null when idle'),
  previous: z.string().min(1).max(64).nullable().describe('the version the board goes back to if the running one is not confirmed'),
  cmd: messageIdSchema.nullable().describe('the `update` command this is about; null when no update is under way'),
  reason: z.string().max(500).nullable().describe('why it failed or rolled back, in words; null otherwise'),
  progress: z.strictObject({ bytes: z.number().int().min(0), total: z.number().int().min(0) }).nullable().describe('download progress while `downloading`'),
  waitingFor: z
    .enum(['applicant'])
    .optional()
    .describe('only while `installing`: the release is installed and the restart waits until the applicant at the window has been served (a call came during the download), so the board is waiting, not stuck; absent otherwise'),
})

const nonNegative = z.number().min(0)
const count = z.number().int().min(0)

export const telemetrySchema = envelopeSchema.extend({
  uptimeS: nonNegative.describe('seconds since the runtime started'),
  rssBytes: count,
  heapUsedBytes: count,
  cpuPct: nonNegative.nullable().describe('process CPU use; may exceed 100 on several cores'),
  tempC: z.number().nullable().describe('SoC temperature, when the board can read it'),
  journal: z.strictObject({
    depth: count.describe('records waiting for the hub to acknowledge'),
    oldestAgeMs: count.nullable().describe('age of the oldest waiting record'),
  }),
  rttMs: nonNegative.nullable().describe('last round trip to the hub'),
  devices: z.record(z.string().min(1).max(32), deviceHealthSchema),
  ignoredPresses: count.describe('evaluator or officer key presses dropped since start (outside a window, repeats)'),
  staffedMs: count.nullable().optional().describe('how long the officer on duty has been signed in; null while nobody is'),
  shiftPausedMs: count.nullable().optional().describe('of that, how long the window was paused (the current pause included)'),
  pauseMs: count.nullable().optional().describe('how long the current pause has lasted; null when the window is not paused'),
})

export const replySchema = envelopeSchema
  .extend({
    cmd: messageIdSchema.nullable().describe('id of the command; null when it could not be read, and always for a payload over the size limit (`too-large`: never parsed)'),
    name: z.string().min(1).max(64).describe('the command name from the topic'),
    ok: z.boolean(),
    code: z.enum(ERROR_CODES).optional().describe('required when ok is false, absent when it is true'),
    message: z.string().max(500).optional(),
    result: z.record(z.string(), z.unknown()).optional().describe('command-specific result (each command\'s in integration.md § 4), e.g. self-test outcomes; a failed self-test carries its whole outcome here too, and its message names what failed'),
  })
  .superRefine((reply, ctx) => {
    if (!reply.ok && reply.code === undefined) ctx.addIssue({ code: 'custom', path: ['code'], message: 'required when ok is false' })
    if (reply.ok && reply.code !== undefined) ctx.addIssue({ code: 'custom', path: ['code'], message: 'only allowed when ok is false' })
  })

export const hubStatusSchema = z
  .strictObject({
    online: z.boolean(),
    hub: z.string().min(1).max(64).describe('hub name'),
    boot: z.string().min(1).max(64).describe('new on every hub start'),
    version: z.string().min(1).max(64).optional(),
    ts: datetimeSchema
      .optional()
      .describe("when the hub said it; absent only in the bridge's will (reason `will`), which is written at connect and sent by central whenever the link drops: any time in it would be stale"),
    reason: z.string().min(1).max(200).optional().describe('why the hub went offline'),
  })
  .superRefine((s, ctx) => {
    if (s.ts === undefined && s.reason !== 'will') ctx.addIssue({ code: 'custom', path: ['ts'], message: "required unless reason is 'will'" })
  })

export const hubBridgeSchema = z.strictObject({
  state: bridgeStateSchema,
  backlog: count.describe('custody-log entries not yet acknowledged by central'),
  since: datetimeSchema.describe('when the bridge entered this state'),
  ts: datetimeSchema,
  upstream: z.string().min(1).max(200).describe('the central broker, without credentials'),
})

export const centralStatusSchema = z.strictObject({ online: z.boolean(), ts: datetimeSchema })

/**
 * How many wait per service, as central's queue counts them: the hall's
 * screens show it; a hall whose central publishes none shows none.
 */
export const centralWaitingSchema = z.strictObject({
  services: z
    .array(
      z.strictObject({
        service: z.string().min(1).max(32).describe('the service type, as in a call\'s `service`'),
        name: z.string().min(1).max(32).describe('what the hall calls the service, e.g. "社保业务"'),
        waiting: count.describe('tickets issued and not yet called'),
      }),
    )
    .max(64)
    .describe('one entry per service the hall offers now; empty when none'),
  ts: datetimeSchema.describe('when central counted'),
})

export type Status = z.infer<typeof statusSchema>
export type State = z.infer<typeof stateSchema>
export type Screen = z.infer<typeof screenSchema>
export type UpdateReport = z.infer<typeof updateSchema>
export type Telemetry = z.infer<typeof telemetrySchema>
export type Reply = z.infer<typeof replySchema>
export type HubStatus = z.infer<typeof hubStatusSchema>
export type HubBridge = z.infer<typeof hubBridgeSchema>
export type CentralStatus = z.infer<typeof centralStatusSchema>
export type CentralWaiting = z.infer<typeof centralWaitingSchema>
export type StatusFields = WithoutEnvelope<Status>
export type StateFields = WithoutEnvelope<State>
export type ScreenFields = WithoutEnvelope<Screen>
export type TelemetryFields = WithoutEnvelope<Telemetry>
export type ReplyFields = WithoutEnvelope<Reply>
export type UpdateFields = WithoutEnvelope<UpdateReport>

/** Topics with one schema each; events and commands pick theirs by the last topic level. */
export const messageSchemas = {
  status: statusSchema,
  state: stateSchema,
  screen: screenSchema,
  telemetry: telemetrySchema,
  reply: replySchema,
  update: updateSchema,
  'hub-status': hubStatusSchema,
  'hub-bridge': hubBridgeSchema,
  'central-status': centralStatusSchema,
  'central-waiting': centralWaitingSchema,
} as const satisfies { [K in Exclude<TopicKind, 'event' | 'cmd'>]: z.ZodType }

export type MessageKind = keyof typeof messageSchemas

export type TopicDirection = 'from-board' | 'to-board' | 'from-hub' | 'from-central'

export interface TopicSpec {
  readonly kind: TopicKind
  readonly pattern: string
  readonly direction: TopicDirection
  readonly qos: 0 | 1
  readonly retain: boolean
  /** The topic's schema, or null when it depends on the last level (see `variants`). */
  readonly schema: z.ZodType | null
  readonly variants: { readonly level: 'type' | 'name'; readonly schemas: Readonly<Record<string, z.ZodType>>; readonly descriptions: Readonly<Record<string, string>> } | null
  readonly description: string
}

/**
 * The one table of topics: publishers take QoS and retain from it, and the
 * reference docs are generated from it, so neither can drift from the schemas.
 */
export const TOPIC_TABLE: { readonly [K in TopicKind]: TopicSpec & { readonly kind: K } } = {
  status: {
    kind: 'status', pattern: 'hall/{hall}/counter/{counter}/status', direction: 'from-board', qos: 1, retain: true,
    schema: statusSchema, variants: null,
    description: 'Birth on connect (`online: true`); the last will and a clean stop publish `online: false`.',
  },
  state: {
    kind: 'state', pattern: 'hall/{hall}/counter/{counter}/state', direction: 'from-board', qos: 1, retain: true,
    schema: stateSchema, variants: null,
    description: 'What the window is doing now: mode, ticket, officer, overtime, evaluation, pause, faults.',
  },
  screen: {
    kind: 'screen', pattern: 'hall/{hall}/counter/{counter}/screen', direction: 'from-board', qos: 1, retain: true,
    schema: screenSchema, variants: null,
    description: 'What the window\'s display shows now (its text, a pixel screen\'s picture, or its fault), sent when it changes.',
  },
  event: {
    kind: 'event', pattern: 'hall/{hall}/counter/{counter}/event/{type}', direction: 'from-board', qos: 1, retain: false,
    schema: null, variants: { level: 'type', schemas: eventSchemas, descriptions: eventDescriptions },
    description: 'Something that happened at the window; journalled on the board until the hub acknowledges it.',
  },
  telemetry: {
    kind: 'telemetry', pattern: 'hall/{hall}/counter/{counter}/telemetry', direction: 'from-board', qos: 0, retain: false,
    schema: telemetrySchema, variants: null,
    description: 'Periodic health; a lost sample is replaced by the next one.',
  },
  cmd: {
    kind: 'cmd', pattern: 'hall/{hall}/counter/{counter}/cmd/{name}', direction: 'to-board', qos: 1, retain: false,
    schema: null, variants: { level: 'name', schemas: commandSchemas, descriptions: commandDescriptions },
    description: 'A command from central; answered on `reply`.',
  },
  reply: {
    kind: 'reply', pattern: 'hall/{hall}/counter/{counter}/reply', direction: 'from-board', qos: 1, retain: false,
    schema: replySchema, variants: null,
    description: 'The outcome of a command, by its id; journalled like events.',
  },
  update: {
    kind: 'update', pattern: 'hall/{hall}/counter/{counter}/update', direction: 'from-board', qos: 1, retain: true,
    schema: updateSchema, variants: null,
    description: 'Where the board is in taking a release (downloading, verifying, installing, restarting, confirming) and how it ended (confirmed, rolled back or failed, with the reason); its running version.',
  },
  'hub-status': {
    kind: 'hub-status', pattern: 'hall/{hall}/hub/status', direction: 'from-hub', qos: 1, retain: true,
    schema: hubStatusSchema, variants: null,
    description: 'Hub birth and will.',
  },
  'hub-bridge': {
    kind: 'hub-bridge', pattern: 'hall/{hall}/hub/bridge', direction: 'from-hub', qos: 1, retain: true,
    schema: hubBridgeSchema, variants: null,
    description: 'State of the bridge to central and the size of its backlog.',
  },
  'central-status': {
    kind: 'central-status', pattern: 'hall/{hall}/central/status', direction: 'from-central', qos: 1, retain: true,
    schema: centralStatusSchema, variants: null,
    description: 'Central online/offline, published by central (or its bridge endpoint).',
  },
  'central-waiting': {
    kind: 'central-waiting', pattern: 'hall/{hall}/central/waiting', direction: 'from-central', qos: 1, retain: true,
    schema: centralWaitingSchema, variants: null,
    description: 'Waiting counts per service, from central\'s queue, for the hall\'s screens (the hub\'s `/screen`); optional: a hall without it shows no counts, and deleting it (an empty retained message) takes the counts off the screens.',
  },
}

type TopicOf<K extends TopicKind> = ParsedTopic & { kind: K }

interface MessageByKind {
  status: Status
  state: State
  screen: Screen
  telemetry: Telemetry
  reply: Reply
  update: UpdateReport
  event: BoardEvent
  cmd: Command
  'hub-status': HubStatus
  'hub-bridge': HubBridge
  'central-status': CentralStatus
  'central-waiting': CentralWaiting
}

export type ContractMessage = MessageByKind[TopicKind]

/** `kind` repeats `topic.kind` at the top level so a check on it narrows `message`. */
export type MessageParse =
  | { [K in TopicKind]: { ok: true; kind: K; topic: TopicOf<K>; message: MessageByKind[K] } }[TopicKind]
  | { ok: false; code: (typeof ERROR_CODES)[number]; message: string }

/**
 * Validate any message of the contract against the schema its topic implies.
 * Never throws; used by the hub's custody log, the central stub and tests.
 */
export function parseMessage(topic: string, payload: Uint8Array | string): MessageParse {
  return parseMessageOf(parseTopic(topic), topic, payload)
}

/** parseMessage for a caller that has parsed the topic already (the hub parses each message's once). */
export function parseMessageOf(parsed: ParsedTopic | null, topic: string, payload: Uint8Array | string): MessageParse {
  if (parsed === null) {
    return { ok: false, code: 'bad-topic', message: `not a topic of the contract: ${JSON.stringify(topic.slice(0, 200))}` }
  }
  if (parsed.kind === 'cmd') {
    const result = parseCommand(parsed.name, payload)
    if (!result.ok) return { ok: false, code: result.code, message: result.message }
    return { ok: true, kind: 'cmd', topic: parsed, message: result.command }
  }
  let schema: z.ZodType
  if (parsed.kind === 'event') {
    if (!isEventType(parsed.type)) return { ok: false, code: 'bad-topic', message: `unknown event type ${JSON.stringify(parsed.type)}` }
    schema = eventSchemas[parsed.type]
  } else {
    schema = messageSchemas[parsed.kind]
  }
  const decoded = decodeJsonObject(payload)
  if (!decoded.ok) return { ok: false, code: decoded.code, message: decoded.message }
  const result = validate(schema, decoded.value)
  if (!result.ok) return { ok: false, code: 'bad-payload', message: result.message }
  // The schema chosen above is the one for parsed.kind, so the pairing holds.
  return { ok: true, kind: parsed.kind, topic: parsed, message: result.data } as MessageParse
}

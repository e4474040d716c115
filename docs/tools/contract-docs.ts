import { z } from 'zod'
import {
  COMMAND_NAMES,
  CONTRACT_VERSION,
  ENVELOPE_KEYS,
  ERROR_CODES,
  EVALUATION_SCORES,
  SCORE_LABELS,
  EVENT_TYPES,
  MAX_PAYLOAD_BYTES,
  TOPIC_TABLE,
  commandDescriptions,
  commandExamples,
  commandSchemas,
  envelopeSchema,
  errorCodeDescriptions,
  eventDescriptions,
  eventExamples,
  eventSchemas,
  extraExamples,
  messageExamples,
  messageSchemas,
  type MessageKind,
  type TopicDirection,
  type TopicSpec,
} from '../../edge/protocol/index.ts'
import { ASYNCAPI_DOC, renderAsyncApiFile } from './asyncapi.ts'
import { fieldRows, fieldTable, markdownTable, type JsonSchema } from './schema-tables.ts'

export { ASYNCAPI_DOC }

/**
 * Everything under docs/ that is generated from edge/protocol, as
 * repo-relative path → content. Pure and deterministic (no dates, fixed
 * order) so `--check` and the docs test can compare it with the files on disk.
 */
export const CONTRACT_DOC = 'docs/contract.md'
export const SCHEMA_DIR = 'docs/schema'

const COMMAND_HEADER_KEYS: ReadonlySet<string> = new Set(['id', 'expires', 'issued'])
const ENVELOPE_AND_TYPE: ReadonlySet<string> = new Set([...ENVELOPE_KEYS, 'type'])
const ENVELOPE_ONLY: ReadonlySet<string> = new Set(ENVELOPE_KEYS)

const MESSAGE_TITLES: Record<MessageKind, string> = {
  status: 'Board status (birth / will)',
  state: 'Window state',
  screen: 'What the display shows',
  telemetry: 'Telemetry',
  reply: 'Command reply',
  update: 'Update progress and outcome',
  'hub-status': 'Hub status',
  'hub-bridge': 'Hub bridge',
  'central-status': 'Central status',
  'central-waiting': 'Waiting counts',
}

const DIRECTION_LABELS: Record<TopicDirection, string> = {
  'from-board': 'board →',
  'to-board': '→ board',
  'from-hub': 'hub →',
  'from-central': 'central →',
}

const BOARD_MESSAGES: ReadonlySet<MessageKind> = new Set(['status', 'state', 'screen', 'telemetry', 'reply', 'update'])

function schemaPath(group: 'commands' | 'events' | 'messages', name: string): string {
  return `${SCHEMA_DIR}/${group}/${name}.json`
}

/** Links in contract.md are relative to docs/. */
function schemaLink(group: 'commands' | 'events' | 'messages', name: string): string {
  return `[schema](${schemaPath(group, name).slice('docs/'.length)})`
}

function toJsonSchema(schema: z.ZodType): JsonSchema {
  // `input`: documents what a sender may put on the wire (defaulted fields optional).
  return z.toJSONSchema(schema, { io: 'input' }) as JsonSchema
}

function schemaFile(schema: z.ZodType, title: string, description: string): string {
  const { $schema, ...rest } = toJsonSchema(schema)
  return `${JSON.stringify({ $schema, title, description, ...rest }, null, 2)}\n`
}

function example(value: unknown): string {
  return ['```json', JSON.stringify(value, null, 2), '```'].join('\n')
}

/** An example that fails its own schema would teach integrators the wrong thing; refuse to publish it. */
function checkedExample(schema: z.ZodType, value: unknown, what: string): unknown {
  const result = schema.safeParse(value)
  if (!result.success) throw new Error(`example for ${what} does not match its schema: ${result.error.message}`)
  return value
}

function topicsSection(): string {
  const rows = Object.values(TOPIC_TABLE).map((t: TopicSpec) => {
    const payload = t.variants ? `per ${t.variants.level}, see ${t.kind === 'cmd' ? 'Commands' : 'Events'}` : t.kind
    return [`\`${t.pattern}\``, DIRECTION_LABELS[t.direction], String(t.qos), t.retain ? 'yes' : 'never', payload, t.description]
  })
  return [
    '## Topics',
    '',
    'Topics are the same on the hub and upstream; the bridge copies them without rewriting.',
    '',
    markdownTable(['topic', 'direction', 'QoS', 'retained', 'payload', 'what'], rows),
  ].join('\n')
}

/** A topic pattern without its hall and counter levels: `status`, `event/{type}`, `hub/status`. */
function shortTopic(pattern: string): string {
  return `\`${pattern.replace(/^hall\/\{hall\}\/(counter\/\{counter\}\/)?/, '')}\``
}

function deliverySection(): string {
  const specs: TopicSpec[] = Object.values(TOPIC_TABLE)
  const retained = specs.filter((t) => t.retain).map((t) => shortTopic(t.pattern))
  const never = specs.filter((t) => !t.retain).map((t) => shortTopic(t.pattern))
  return [
    '## Delivery rules',
    '',
    '- **At least once on the wire, exactly once in effect.** Every board message has a unique `id`; consumers drop a message whose `id` they have seen. The board keeps events and replies in its journal until the hub acknowledges them, the hub keeps them in its custody log until central acknowledges them.',
    '- **Order.** Within one run of a board, `seq` increases by 1 per message; a new `boot` starts a new run. Boot ids are random: they give no order between runs, and the current run is the one of the latest birth. Order events, replies and states within a run by `seq`, but never `status`: each connection\'s will is stamped when the connection opens, so it has a lower `seq` than the birth after it. An offline `status` with the current birth\'s `boot` takes the window offline whatever its `seq`; one with another `boot` is a late will from an earlier run, and stale.',
    '- **Expiry.** Every command carries `expires`. A command that arrives after it is refused with a reply (`code: "expired"`) and never acted on: a late `call` must not put a stale number on a display.',
    '- **Repeated commands.** A command whose `id` the board has seen before gets the first reply again; it is not acted on a second time. The `id` alone decides: another command sent under a used id is not acted on and gets the first command\'s reply (its `name` included).',
    `- **Retained topics hold state, never commands.** Retained (the newest on each topic replaces the last): ${retained.join(', ')}. Never retained: ${never.join(', ')}.`,
    `- **Bad input.** A payload that is not JSON, fails its schema, or exceeds ${MAX_PAYLOAD_BYTES} bytes gets a reply with an error code naming what was wrong (on the hub, a log line and a counter). It never crashes a process and never changes state.`,
    '- **Timestamps** are ISO-8601 in UTC (`Z`); `synced: false` in the envelope means the board had not set its clock, so durations between such timestamps are approximate.',
  ].join('\n')
}

function identifiersSection(): string {
  return [
    '## Identifiers',
    '',
    markdownTable(['what', 'format'], [
      ['hall id, counter id', '`[a-z0-9][a-z0-9-]{0,31}` (also a topic level)'],
      ['ticket (call number)', '1–8 characters `A–Z`, `0–9`, e.g. `A023`; a window takes only what its display can show (see `call`)'],
      ['officer id', '1–32 characters `A–Z a–z 0–9 _ -`'],
      ['message id (`id`, `cmd`)', '1–100 characters, no whitespace or control characters'],
      ['boot id', '1–40 characters `a–z 0–9 -`'],
      ['date-time', 'ISO-8601 UTC, e.g. `2025-03-04T09:15:02.120Z`'],
    ]),
  ].join('\n')
}

function envelopeSection(): string {
  return [
    '## Envelope',
    '',
    `Every message a board sends (status, state, screen, event, telemetry, reply, update) starts with these fields. \`v\` is the contract version, ${CONTRACT_VERSION}. ${schemaLink('messages', 'envelope')}`,
    '',
    fieldTable(fieldRows(toJsonSchema(envelopeSchema))),
  ].join('\n')
}

function commandsSection(): string {
  const header = fieldRows(toJsonSchema(commandSchemas.call)).filter((r) => COMMAND_HEADER_KEYS.has(r.path))
  const parts = [
    '## Commands',
    '',
    'Topic `hall/{hall}/counter/{counter}/cmd/{name}`, QoS 1, never retained. Commands come from central and carry no envelope. Every command payload has these fields, followed by its arguments; unknown fields are refused (`bad-payload`).',
    '',
    fieldTable(header),
  ]
  for (const name of COMMAND_NAMES) {
    const rows = fieldRows(toJsonSchema(commandSchemas[name]), COMMAND_HEADER_KEYS)
    parts.push(
      '',
      `### \`${name}\``,
      '',
      `${commandDescriptions[name]} ${schemaLink('commands', name)}`,
      '',
      rows.length > 0 ? fieldTable(rows) : 'No arguments.',
      '',
      example(checkedExample(commandSchemas[name], commandExamples[name], `command ${name}`)),
    )
  }
  return parts.join('\n')
}

function eventsSection(): string {
  const parts = [
    '## Events',
    '',
    'Topic `hall/{hall}/counter/{counter}/event/{type}`, QoS 1, never retained. Each event is the envelope, `type` (equal to the last topic level) and the fields below. `cmd`, where present, is the id of the command that caused the event.',
  ]
  for (const type of EVENT_TYPES) {
    parts.push(
      '',
      `### \`${type}\``,
      '',
      `${eventDescriptions[type]} ${schemaLink('events', type)}`,
      '',
      fieldTable(fieldRows(toJsonSchema(eventSchemas[type]), ENVELOPE_AND_TYPE)),
      '',
      example(checkedExample(eventSchemas[type], eventExamples[type], `event ${type}`)),
    )
  }
  return parts.join('\n')
}

function messageFields(kind: MessageKind): string {
  const json = toJsonSchema(messageSchemas[kind])
  const skip = BOARD_MESSAGES.has(kind) ? ENVELOPE_ONLY : new Set<string>()
  const variants = Array.isArray(json.oneOf) ? (json.oneOf as JsonSchema[]) : null
  if (!variants) return fieldTable(fieldRows(json, skip))
  // Status is a union on `online`; a table per variant reads better than one with conditional rows.
  return variants
    .map((variant) => {
      const discriminator = (variant.properties as Record<string, JsonSchema>).online?.const
      return [`When \`online\` is \`${String(discriminator)}\`:`, '', fieldTable(fieldRows(variant, skip))].join('\n')
    })
    .join('\n\n')
}

function messagesSection(): string {
  const parts = ['## Status, state, telemetry, reply and hall topics']
  for (const spec of Object.values(TOPIC_TABLE)) {
    if (spec.variants) continue
    const kind = spec.kind as MessageKind
    const envelopeNote = BOARD_MESSAGES.has(kind) ? 'The envelope, then:' : 'No envelope:'
    parts.push(
      '',
      `### ${MESSAGE_TITLES[kind]}`,
      '',
      `\`${spec.pattern}\` — ${spec.description} ${schemaLink('messages', kind)}`,
      '',
      envelopeNote,
      '',
      messageFields(kind),
      '',
      example(checkedExample(messageSchemas[kind], messageExamples[kind], `message ${kind}`)),
    )
    if (kind === 'status') parts.push('', example(checkedExample(messageSchemas.status, extraExamples.statusOffline, 'status (offline)')))
    if (kind === 'reply') parts.push('', example(checkedExample(messageSchemas.reply, extraExamples.replyRefused, 'reply (refused)')))
  }
  return parts.join('\n')
}

function scalesSection(): string {
  return [
    '## Rating scales',
    '',
    `\`evaluated.score\` is one of five values. A board with a five-key evaluator (\`scale: 5\`) uses all five, the national 政务服务"好差评" levels; one with three keys (\`scale: 3\`) uses the middle three, whose keys read 满意 / 一般 / 不满意. Central reporting on the national scale counts a three-key 一般 as 基本满意. The dissatisfied levels are the ones to follow up.`,
    '',
    markdownTable(
      ['score', 'national level', 'three-key evaluator', 'English', 'follow up'],
      EVALUATION_SCORES.map((score) => {
        const l = SCORE_LABELS[score]
        return [`\`${score}\``, l.national, l.threeKey ?? '—', l.en, l.followUp ? 'yes' : '']
      }),
    ),
  ].join('\n')
}

function errorsSection(): string {
  return [
    '## Error codes',
    '',
    'Carried in `reply.code` when `ok` is false, and in the hub\'s logs for rejected messages.',
    '',
    markdownTable(['code', 'meaning'], ERROR_CODES.map((code) => [`\`${code}\``, errorCodeDescriptions[code]])),
  ].join('\n')
}

function renderContractMarkdown(): string {
  return [
    `# counter-edge wire contract (v${CONTRACT_VERSION})`,
    '',
    '<!-- Generated from edge/protocol by `npm run docs`; do not edit. The test suite fails when this file is stale. -->',
    '',
    'The MQTT topics and payloads between counter boards, the in-hall hub and the central system. JSON Schemas (draft 2020-12) for every payload are in [`schema/`](schema/); hub, simulator and integrators in TypeScript import `edge/protocol` instead.',
    '',
    'Integrating a central system: start with [`integration.md`](integration.md). The same contract as an AsyncAPI 3.0 document, from the central system\'s point of view, is [`asyncapi.json`](asyncapi.json).',
    '',
    topicsSection(),
    '',
    deliverySection(),
    '',
    identifiersSection(),
    '',
    envelopeSection(),
    '',
    commandsSection(),
    '',
    eventsSection(),
    '',
    messagesSection(),
    '',
    scalesSection(),
    '',
    errorsSection(),
    '',
  ].join('\n')
}

export function renderContractFiles(): Map<string, string> {
  const files = new Map<string, string>()
  files.set(CONTRACT_DOC, renderContractMarkdown())
  files.set(ASYNCAPI_DOC, renderAsyncApiFile())
  files.set(
    schemaPath('messages', 'envelope'),
    schemaFile(envelopeSchema, `Envelope (contract v${CONTRACT_VERSION})`, 'Fields every board message starts with.'),
  )
  for (const name of COMMAND_NAMES) {
    files.set(schemaPath('commands', name), schemaFile(commandSchemas[name], `Command ${name} (contract v${CONTRACT_VERSION})`, commandDescriptions[name]))
  }
  for (const type of EVENT_TYPES) {
    files.set(schemaPath('events', type), schemaFile(eventSchemas[type], `Event ${type} (contract v${CONTRACT_VERSION})`, eventDescriptions[type]))
  }
  for (const spec of Object.values(TOPIC_TABLE)) {
    if (spec.variants) continue
    const kind = spec.kind as MessageKind
    files.set(schemaPath('messages', kind), schemaFile(messageSchemas[kind], `${MESSAGE_TITLES[kind]} (contract v${CONTRACT_VERSION})`, `${spec.pattern}: ${spec.description}`))
  }
  return files
}

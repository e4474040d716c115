import { z } from 'zod'
import {
  COMMAND_NAMES,
  CONTRACT_VERSION,
  EVENT_TYPES,
  ID_PATTERN,
  MAX_PAYLOAD_BYTES,
  TOPIC_TABLE,
  commandDescriptions,
  commandExamples,
  commandSchemas,
  envelopeSchema,
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

/**
 * The AsyncAPI 3.0 document for central-system integrators, generated from
 * the same zod schemas and TOPIC_TABLE as docs/contract.md, so it cannot
 * drift from what boards and hub accept.
 *
 * Written from the central system's point of view: it *receives* what boards
 * and the hub publish and *sends* commands (and its own status). One channel
 * per event type and per command name, so every channel carries exactly one
 * message and code generators get one typed handler per topic. Payload schemas
 * are JSON Schema draft-07 (AsyncAPI's default schema format is a superset of it).
 *
 * Deterministic: no dates, keys in a fixed order, so the staleness test can
 * compare the file on disk byte for byte.
 */
export const ASYNCAPI_DOC = 'docs/asyncapi.json'
export const ASYNCAPI_VERSION = '3.0.0'
export const MQTT_BINDING_VERSION = '0.2.0'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

/** What central does with a topic of each direction. */
const ACTION: Record<TopicDirection, 'send' | 'receive'> = {
  'from-board': 'receive',
  'from-hub': 'receive',
  'to-board': 'send',
  'from-central': 'send',
}

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

const TAGS = {
  window: 'Board messages about one window: status, state, telemetry, replies.',
  events: 'Things that happened at a window; exactly once in effect after deduplication by `id`.',
  commands: 'Commands central sends to a window; each is answered on `reply`.',
  hall: 'Hall-level status: the hub, its bridge to central, and central itself.',
} as const
type TagName = keyof typeof TAGS

const PARAMETERS = {
  hall: { description: `Hall id: ${idRule()}.`, examples: ['hall-1'] },
  counter: { description: `Counter (window) id: ${idRule()}.`, examples: ['w01', 'w05'] },
} as const
type ParameterName = keyof typeof PARAMETERS

function idRule(): string {
  return `1–32 characters matching \`${ID_PATTERN.source}\``
}

/** `{name}` placeholders in a channel address, in order. */
export function addressParameters(address: string): string[] {
  return [...address.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)
}

/** JSON round trip: drops `undefined` and gives the plain JSON type the document is made of. */
function json(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json
}

function payloadSchema(schema: z.ZodType, io: 'input' | 'output', description: string): JsonObject {
  // Draft-07, because AsyncAPI's default schema format is defined on it; `$schema` is implied by the document.
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<string, unknown>
  return json({ description, ...rest }) as JsonObject
}

/** An example that fails its own schema would teach integrators the wrong thing; refuse to publish it. */
function checked(schema: z.ZodType, value: unknown, what: string): Json {
  const result = schema.safeParse(value)
  if (!result.success) throw new Error(`example for ${what} does not match its schema: ${result.error.message}`)
  return json(value)
}

function hasProperty(schema: z.ZodType, name: string): boolean {
  const properties = (z.toJSONSchema(schema, { target: 'draft-7' }) as { properties?: Record<string, unknown> }).properties
  return properties !== undefined && name in properties
}

function ref(pointer: string): JsonObject {
  return { $ref: pointer }
}

interface ChannelPlan {
  key: string
  address: string
  title: string
  description: string
  spec: TopicSpec
  message: { key: string; title: string; summary: string; schema: z.ZodType; examples: Array<{ name: string; summary: string; payload: Json }>; correlation: string | null }
  tag: TagName
}

function plans(): ChannelPlan[] {
  const out: ChannelPlan[] = []
  for (const spec of Object.values(TOPIC_TABLE)) {
    if (spec.kind === 'event') {
      for (const type of EVENT_TYPES) {
        const schema = eventSchemas[type]
        const causedBy = hasProperty(schema, 'cmd')
        out.push({
          key: `event.${type}`,
          address: spec.pattern.replace('{type}', type),
          title: `Event ${type}`,
          description: `${eventDescriptions[type]} ${spec.description}`,
          spec,
          message: {
            key: `event.${type}`,
            title: `Event ${type}`,
            summary: eventDescriptions[type],
            schema,
            examples: [{ name: type, summary: `A ${type} event.`, payload: checked(schema, eventExamples[type], `event ${type}`) }],
            correlation: causedBy ? 'cmd' : null,
          },
          tag: 'events',
        })
      }
      continue
    }
    if (spec.kind === 'cmd') {
      for (const name of COMMAND_NAMES) {
        const schema = commandSchemas[name]
        out.push({
          key: `cmd.${name}`,
          address: spec.pattern.replace('{name}', name),
          title: `Command ${name}`,
          description: `${commandDescriptions[name]} ${spec.description}`,
          spec,
          message: {
            key: `command.${name}`,
            title: `Command ${name}`,
            summary: commandDescriptions[name],
            schema,
            examples: [{ name, summary: `A ${name} command.`, payload: checked(schema, commandExamples[name], `command ${name}`) }],
            correlation: 'id',
          },
          tag: 'commands',
        })
      }
      continue
    }
    const kind = spec.kind as MessageKind
    const schema = messageSchemas[kind]
    const examples: Array<{ name: string; summary: string; payload: Json }> = [{ name: kind, summary: `A ${MESSAGE_TITLES[kind].toLowerCase()} message.`, payload: checked(schema, messageExamples[kind], `message ${kind}`) }]
    if (kind === 'status') {
      examples[0]!.summary = 'Birth: the board is online.'
      examples.push({ name: 'status-offline', summary: 'Will (or clean stop): the board went offline; `boot` says which run ended.', payload: checked(schema, extraExamples.statusOffline, 'status (offline)') })
    }
    if (kind === 'reply') {
      examples[0]!.summary = 'A command was accepted.'
      examples.push({ name: 'reply-refused', summary: 'A command was refused; `code` says why.', payload: checked(schema, extraExamples.replyRefused, 'reply (refused)') })
    }
    out.push({
      key: kind,
      address: spec.pattern,
      title: MESSAGE_TITLES[kind],
      description: spec.description,
      spec,
      message: { key: kind, title: MESSAGE_TITLES[kind], summary: spec.description, schema, examples, correlation: kind === 'reply' ? 'cmd' : null },
      tag: spec.direction === 'from-board' ? 'window' : 'hall',
    })
  }
  return out
}

function deliveryNotes(spec: TopicSpec): string {
  const retained = spec.retain ? 'retained (a new subscriber gets the latest at once)' : 'never retained'
  return `QoS ${spec.qos}, ${retained}.`
}

function operationKey(plan: ChannelPlan): string {
  return `${ACTION[plan.spec.direction]}.${plan.key}`
}

function operationSummary(plan: ChannelPlan): string {
  const action = ACTION[plan.spec.direction]
  // `update` is the hub's own (its rollout sends it): the hub refuses one from central (hub/command-gate.ts).
  if (plan.key === 'cmd.update') return 'Not for central: the hub\'s rollout sends update to its boards; one sent by central is refused by the hub with `unsupported` on reply and reaches no board.'
  if (plan.spec.kind === 'cmd') return `Send the ${plan.key.slice('cmd.'.length)} command to a window; the board answers on reply.`
  if (plan.spec.kind === 'central-status') return 'Publish central online/offline (retained) for the hall.'
  if (plan.spec.kind === 'central-waiting') return 'Publish the waiting counts per service (retained) for the hall\'s screens.'
  return action === 'receive' ? `Receive ${plan.title.charAt(0).toLowerCase()}${plan.title.slice(1)}.` : plan.title
}

const INFO_DESCRIPTION = [
  'The MQTT interface between the counter boards of a public service hall (through the in-hall hub and its bridge) and the central system, described from the **central system\'s** point of view: it receives board and hub messages and sends commands.',
  '',
  'Generated from `edge/protocol` by `npm run docs`; the field-by-field reference is `docs/contract.md`, the integration guide `docs/integration.md`.',
  '',
  'Rules every integrator must follow:',
  '',
  '- **Drop duplicates by `id`.** Delivery is at least once end to end (board journal → hub custody log → bridge); exactly once in effect is the consumer\'s job.',
  '- **Order by `seq` within a `boot`, not by `ts`.** `seq` grows by 1 per message within one run (`boot`) of a board; boot ids are random and give no order between runs; `ts` comes from a clock that may jump.',
  '- **Judge `status` by `boot`, never by `seq`:** a connection\'s will is stamped when it connects, so it has a lower `seq` than the birth after it. An offline `status` with the current birth\'s boot takes the window offline whatever its `seq`; one from another boot is a late will from an earlier run: ignore it.',
  '- **Commands** carry a unique `id` and an `expires` time, go at QoS 1 and are never retained. A command past its expiry is refused (`expired`); a repeated `id` gets the first reply again and is not acted on twice.',
  `- **Replies** come on \`reply\` with \`cmd\` = the command's id; \`ok: false\` carries an error \`code\`. Payloads are UTF-8 JSON objects of at most ${MAX_PAYLOAD_BYTES} bytes.`,
].join('\n')

export function renderAsyncApi(): JsonObject {
  const all = plans()
  const channels: JsonObject = {}
  const operations: JsonObject = {}
  const messages: JsonObject = {}
  const schemas: JsonObject = {
    envelope: payloadSchema(envelopeSchema, 'output', 'Fields every board message (status, state, screen, event, telemetry, reply, update) starts with.'),
  }

  for (const plan of all) {
    const params = addressParameters(plan.address)
    for (const p of params) if (!(p in PARAMETERS)) throw new Error(`address ${plan.address} uses undeclared parameter {${p}}`)
    const m = plan.message
    const io = ACTION[plan.spec.direction] === 'send' ? 'input' : 'output'
    schemas[m.key] = payloadSchema(m.schema, io, `${m.title} (contract v${CONTRACT_VERSION}).`)
    messages[m.key] = json({
      name: m.key,
      title: m.title,
      summary: m.summary,
      contentType: 'application/json',
      ...(m.correlation
        ? {
            correlationId: {
              description: m.correlation === 'id' ? 'The command id; the reply carries it in `cmd`.' : 'The id of the command this answers or was caused by.',
              location: `$message.payload#/${m.correlation}`,
            },
          }
        : {}),
      payload: ref(`#/components/schemas/${m.key}`),
      examples: m.examples,
    }) as JsonObject

    channels[plan.key] = json({
      address: plan.address,
      title: plan.title,
      description: `${plan.description} ${deliveryNotes(plan.spec)}`,
      messages: { [m.key]: ref(`#/components/messages/${m.key}`) },
      parameters: Object.fromEntries(params.map((p) => [p, ref(`#/components/parameters/${p}`)])),
    }) as JsonObject

    const action = ACTION[plan.spec.direction]
    operations[operationKey(plan)] = json({
      action,
      channel: ref(`#/channels/${plan.key}`),
      summary: operationSummary(plan),
      tags: [{ name: plan.tag }],
      bindings: { mqtt: { qos: plan.spec.qos, retain: plan.spec.retain, bindingVersion: MQTT_BINDING_VERSION } },
      messages: [ref(`#/channels/${plan.key}/messages/${m.key}`)],
      ...(plan.spec.kind === 'cmd'
        ? {
            reply: {
              channel: ref('#/channels/reply'),
              messages: [ref('#/channels/reply/messages/reply')],
            },
          }
        : {}),
    }) as JsonObject
  }

  return json({
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'counter-edge: central system interface',
      version: String(CONTRACT_VERSION),
      description: INFO_DESCRIPTION,
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    },
    defaultContentType: 'application/json',
    servers: {
      central: {
        host: '{host}:{port}',
        protocol: 'mqtts',
        protocolVersion: '3.1.1',
        title: 'Central broker',
        description: 'The central MQTT broker (Mosquitto, EMQX, …) that every hall hub bridges into. Topics are the same as on the hall hubs.',
        variables: {
          host: { description: 'the central broker host', examples: ['central.example'] },
          port: { description: 'MQTT over TLS port', default: '8883', examples: ['8883'] },
        },
      },
      'sim-central': {
        host: '127.0.0.1:1884',
        protocol: 'mqtt',
        protocolVersion: '3.1.1',
        title: 'Simulated hall: central stand-in',
        description: 'The embedded central broker that `npm start` (`counter-edge sim`) runs; no credentials. Use `--no-traffic` so your client is the only central.',
      },
    },
    channels,
    operations,
    components: {
      schemas,
      messages,
      parameters: PARAMETERS,
    },
  }) as JsonObject
}

export function renderAsyncApiFile(): string {
  return `${JSON.stringify(renderAsyncApi(), null, 2)}\n`
}

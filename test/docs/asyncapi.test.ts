import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  COMMAND_NAMES,
  EVENT_TYPES,
  TOPIC_TABLE,
  commandSchemas,
  eventSchemas,
  messageSchemas,
  parseMessage,
  topics,
  type MessageKind,
} from '../../edge/protocol/index.ts'
import { ASYNCAPI_DOC, addressParameters, renderAsyncApi, renderAsyncApiFile } from '../../docs/tools/asyncapi.ts'
import { renderContractFiles } from '../../docs/tools/contract-docs.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

type Obj = Record<string, unknown>

function obj(value: unknown, what: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not an object`)
  return value as Obj
}

/** Resolves a local JSON pointer (`#/a/b`), with ~0 / ~1 unescaping; undefined when it points nowhere. */
function resolvePointer(doc: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#/')) return undefined
  let node: unknown = doc
  for (const raw of pointer.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (typeof node !== 'object' || node === null || !(key in node)) return undefined
    node = (node as Obj)[key]
  }
  return node
}

function allRefs(node: unknown, path = '#'): Array<{ at: string; ref: string }> {
  if (Array.isArray(node)) return node.flatMap((v, i) => allRefs(v, `${path}/${i}`))
  if (typeof node !== 'object' || node === null) return []
  return Object.entries(node).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [{ at: path, ref: v }] : allRefs(v, `${path}/${k}`)))
}

function deref(doc: unknown, value: unknown, what: string): Obj {
  const o = obj(value, what)
  if (typeof o.$ref !== 'string') return o
  const target = resolvePointer(doc, o.$ref)
  if (target === undefined) throw new Error(`${what}: $ref ${o.$ref} points nowhere`)
  return obj(target, o.$ref)
}

function draft7(schema: z.ZodType, io: 'input' | 'output'): unknown {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io }) as Obj
  return rest
}

/** The concrete topic a channel address stands for, with example ids. */
function concrete(address: string): string {
  return address.replace('{hall}', 'hall-1').replace('{counter}', 'w01')
}

describe('docs/asyncapi.json (AsyncAPI 3.0)', () => {
  const doc = renderAsyncApi()
  const channels = obj(doc.channels, 'channels')
  const operations = obj(doc.operations, 'operations')
  const components = obj(doc.components, 'components')
  const messages = obj(components.messages, 'components.messages')
  const schemas = obj(components.schemas, 'components.schemas')

  it('is generated with the other contract docs, deterministically, and the committed file is current', () => {
    expect(renderAsyncApiFile()).toBe(renderAsyncApiFile())
    expect(renderContractFiles().get(ASYNCAPI_DOC)).toBe(renderAsyncApiFile())
    const onDisk = readFileSync(join(root, ASYNCAPI_DOC), 'utf8')
    expect(onDisk, 'docs/asyncapi.json is stale: run `npm run docs`').toBe(renderAsyncApiFile())
    expect(JSON.parse(onDisk)).toEqual(doc)
  })

  it('has the AsyncAPI 3.0 top-level structure', () => {
    expect(doc.asyncapi).toBe('3.0.0')
    expect(obj(doc.info, 'info')).toMatchObject({ title: expect.any(String), version: '1' })
    expect(doc.defaultContentType).toBe('application/json')
    for (const [key, raw] of Object.entries(obj(doc.servers, 'servers'))) {
      const server = obj(raw, `server ${key}`)
      expect(server.protocol, key).toMatch(/^mqtts?$/)
      // Every {variable} in a server host is declared.
      const declared = Object.keys(obj(server.variables ?? {}, `${key}.variables`)).sort()
      expect(addressParameters(String(server.host)).sort(), key).toEqual(declared)
    }
    expect(Object.keys(doc).sort()).toEqual(['asyncapi', 'channels', 'components', 'defaultContentType', 'info', 'operations', 'servers'])
  })

  it('every $ref in the document resolves', () => {
    const broken = allRefs(doc).filter(({ ref }) => resolvePointer(doc, ref) === undefined)
    expect(broken).toEqual([])
    expect(allRefs(doc).length).toBeGreaterThan(100)
  })

  it('every command, event and message schema appears as a message whose payload is the zod schema', () => {
    for (const name of COMMAND_NAMES) {
      const message = obj(messages[`command.${name}`], `message command.${name}`)
      expect(deref(doc, message.payload, `command.${name} payload`)).toEqual({ description: expect.any(String), ...(draft7(commandSchemas[name], 'input') as Obj) })
    }
    for (const type of EVENT_TYPES) {
      const message = obj(messages[`event.${type}`], `message event.${type}`)
      expect(deref(doc, message.payload, `event.${type} payload`)).toEqual({ description: expect.any(String), ...(draft7(eventSchemas[type], 'output') as Obj) })
    }
    for (const kind of Object.keys(messageSchemas) as MessageKind[]) {
      const message = obj(messages[kind], `message ${kind}`)
      const io = TOPIC_TABLE[kind].direction === 'from-central' ? 'input' : 'output'
      expect(deref(doc, message.payload, `${kind} payload`)).toEqual({ description: expect.any(String), ...(draft7(messageSchemas[kind], io) as Obj) })
    }
    expect(Object.keys(messages)).toHaveLength(COMMAND_NAMES.length + EVENT_TYPES.length + Object.keys(messageSchemas).length)
    expect(Object.keys(schemas)).toContain('envelope')
  })

  it("every channel's messages resolve and its address parameters are declared, and nothing else is", () => {
    const declared = obj(components.parameters, 'components.parameters')
    for (const [key, raw] of Object.entries(channels)) {
      const channel = obj(raw, `channel ${key}`)
      const address = String(channel.address)
      const params = obj(channel.parameters ?? {}, `${key}.parameters`)
      expect(Object.keys(params).sort(), `${key}: parameters`).toEqual(addressParameters(address).sort())
      for (const [p, value] of Object.entries(params)) {
        expect(p in declared, `${key}: parameter ${p} in components`).toBe(true)
        expect(deref(doc, value, `${key}.parameters.${p}`)).toHaveProperty('description')
      }
      const channelMessages = obj(channel.messages, `${key}.messages`)
      expect(Object.keys(channelMessages).length, `${key} carries a message`).toBeGreaterThan(0)
      for (const [m, value] of Object.entries(channelMessages)) expect(deref(doc, value, `${key}.messages.${m}`)).toHaveProperty('payload')
    }
  })

  it('every topic of the contract is exactly one channel, with the QoS and retain flag of TOPIC_TABLE', () => {
    const concreteTopics: Array<{ topic: string; kind: keyof typeof TOPIC_TABLE }> = [
      ...EVENT_TYPES.map((t) => ({ topic: topics.event('hall-1', 'w01', t), kind: 'event' as const })),
      ...COMMAND_NAMES.map((n) => ({ topic: topics.cmd('hall-1', 'w01', n), kind: 'cmd' as const })),
      ...(Object.keys(messageSchemas) as MessageKind[]).map((k) => ({ topic: concrete(TOPIC_TABLE[k].pattern), kind: k })),
    ]
    const byTopic = new Map<string, string[]>()
    for (const [key, raw] of Object.entries(channels)) {
      const topic = concrete(String(obj(raw, key).address))
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), key])
    }
    expect(byTopic.size).toBe(concreteTopics.length)
    for (const { topic, kind } of concreteTopics) {
      const keys = byTopic.get(topic) ?? []
      expect(keys, topic).toHaveLength(1)
      const ops = Object.values(operations).map((o) => obj(o, 'operation')).filter((o) => obj(o.channel, 'op.channel').$ref === `#/channels/${keys[0]}`)
      expect(ops, `operations on ${topic}`).toHaveLength(1)
      const spec = TOPIC_TABLE[kind]
      expect(obj(obj(ops[0]!.bindings, 'bindings').mqtt, 'mqtt binding')).toEqual({ qos: spec.qos, retain: spec.retain, bindingVersion: '0.2.0' })
    }
  })

  it("operations are the central system's: it sends commands (answered on reply) and receives everything boards and hub publish", () => {
    for (const [key, raw] of Object.entries(operations)) {
      const op = obj(raw, key)
      const channelRef = String(obj(op.channel, `${key}.channel`).$ref)
      const channel = deref(doc, op.channel, `${key}.channel`)
      const address = String(channel.address)
      expect(['send', 'receive']).toContain(op.action)
      // An operation's messages must be a subset of its channel's messages.
      const opMessages = op.messages as Array<{ $ref: string }>
      expect(opMessages.length).toBeGreaterThan(0)
      for (const m of opMessages) {
        expect(m.$ref.startsWith(`${channelRef}/messages/`), `${key}: ${m.$ref}`).toBe(true)
        expect(resolvePointer(doc, m.$ref)).toBeDefined()
      }
      if (address.includes('/cmd/')) {
        expect(op.action, key).toBe('send')
        expect(op.reply).toEqual({ channel: { $ref: '#/channels/reply' }, messages: [{ $ref: '#/channels/reply/messages/reply' }] })
      } else if (address.endsWith('/central/status') || address.endsWith('/central/waiting')) {
        expect(op.action, key).toBe('send')
      } else {
        expect(op.action, key).toBe('receive')
        expect(op.reply).toBeUndefined()
      }
    }
    expect(Object.keys(operations)).toHaveLength(Object.keys(channels).length)
  })

  it('every message example is valid on its channel (parsed by edge/protocol as a subscriber would)', () => {
    let checked = 0
    for (const [key, raw] of Object.entries(channels)) {
      const channel = obj(raw, key)
      const topic = concrete(String(channel.address))
      for (const value of Object.values(obj(channel.messages, `${key}.messages`))) {
        const message = deref(doc, value, `${key} message`)
        const examples = message.examples as Array<{ name: string; payload: unknown }>
        expect(examples.length, `${key} has examples`).toBeGreaterThan(0)
        for (const ex of examples) {
          const parsed = parseMessage(topic, JSON.stringify(ex.payload))
          expect(parsed.ok ? 'ok' : parsed.message, `${key} example ${ex.name}`).toBe('ok')
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(Object.keys(channels).length)
  })

  it('commands and replies declare where their correlation id is', () => {
    for (const name of COMMAND_NAMES) expect(obj(messages[`command.${name}`], name).correlationId).toMatchObject({ location: '$message.payload#/id' })
    expect(obj(messages.reply, 'reply').correlationId).toMatchObject({ location: '$message.payload#/cmd' })
    expect(obj(messages['event.called'], 'called').correlationId).toMatchObject({ location: '$message.payload#/cmd' })
    expect(obj(messages['event.evaluated'], 'evaluated').correlationId).toBeUndefined()
  })
})

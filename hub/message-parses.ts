import { parseMessageOf, parseTopic, type MessageParse, type ParsedTopic } from '../edge/protocol/index.ts'

/**
 * A board message is checked against the contract once on the hub's path.
 * The uplink checks it before the PUBACK; the hall view, subscribed in
 * process, receives the very payload object Aedes passed to the
 * authorisation, so it finds the same answer here instead of parsing and
 * validating the JSON again. Keyed by the payload's identity (a Buffer no one
 * writes to after mqtt-packet made it) and held only as long as that payload
 * lives; the topic must match too, since a quarantined message goes on under
 * another one.
 */
export class MessageParses {
  private readonly byPayload = new WeakMap<object, { topic: string; result: MessageParse }>()

  /** parsed: the topic, if the caller has parsed it already; parsed here only when the answer is not known. */
  parse(topic: string, payload: Uint8Array | string, parsed?: ParsedTopic | null): MessageParse {
    if (typeof payload === 'string') return parseMessageOf(parsed === undefined ? parseTopic(topic) : parsed, topic, payload)
    const hit = this.byPayload.get(payload)
    if (hit && hit.topic === topic) return hit.result
    const result = parseMessageOf(parsed === undefined ? parseTopic(topic) : parsed, topic, payload)
    this.byPayload.set(payload, { topic, result })
    return result
  }
}

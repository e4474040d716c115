import { parseMessage, type MessageParse } from '../edge/protocol/index.ts'

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

  parse(topic: string, payload: Uint8Array | string): MessageParse {
    if (typeof payload === 'string') return parseMessage(topic, payload)
    const hit = this.byPayload.get(payload)
    if (hit && hit.topic === topic) return hit.result
    const result = parseMessage(topic, payload)
    this.byPayload.set(payload, { topic, result })
    return result
  }
}

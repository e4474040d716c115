import { parseTopic, type ParsedTopic } from '../edge/protocol/index.ts'
import type { Principal } from './credentials.ts'
import type { Custody } from './custody-log.ts'
import type { HubCounters } from './hub-counters.ts'
import { MessageParses } from './message-parses.ts'

/** pass: nothing to keep (QoS 0, not a board's); keep: acknowledge once written; invalid: breaks the contract. */
export type Admission = { kind: 'pass' } | { kind: 'keep'; written: Promise<void> } | { kind: 'invalid'; code: string; message: string }

const PASS: Admission = { kind: 'pass' }

export interface UplinkPacket {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** The topic as the broker parsed it for the ACL, so it is parsed once per message; parsed here if absent. */
  parsed?: ParsedTopic | null | undefined
}

/**
 * Decides what of a hall's traffic goes into custody for central: board
 * messages at QoS 1 that obey the contract. Runs inside Aedes's publish
 * authorisation, after the ACL, so the PUBACK waits for the durable write.
 *
 * A message that breaks its schema is answered `invalid`: the broker puts it
 * in quarantine and acknowledges it (hub/quarantine.ts), since the board would
 * otherwise resend it from its journal for ever; it is never forwarded
 * (docs/architecture.md §3: a log line and a counter, never a crash).
 * QoS 0 (telemetry) is checked the same way but not kept: the bridge forwards
 * it live or not at all, and one that breaks its schema is dropped.
 */
export class Uplink {
  private readonly parses: MessageParses

  /** parses: shared with the hall view, so a message is validated once (hub/message-parses.ts). */
  constructor(private readonly opts: { hall: string; custody: Custody; counters: HubCounters; parses?: MessageParses }) {
    this.parses = opts.parses ?? new MessageParses()
  }

  /** What to do before acknowledging: nothing to keep, wait for the custody write, or quarantine. */
  admit(principal: Principal | null, packet: UplinkPacket): Admission {
    if (principal?.role !== 'board') return PASS
    const t = packet.parsed === undefined ? parseTopic(packet.topic) : packet.parsed
    if (!t || t.kind === 'cmd' || t.hall !== this.opts.hall) return PASS
    // QoS 0 is held to the contract too (a junk retained state would replace the window's state), only not kept.
    const parsed = this.parses.parse(packet.topic, packet.payload, t)
    if (!parsed.ok) return { kind: 'invalid', code: parsed.code, message: parsed.message }
    if (packet.qos === 0) return PASS
    const written = this.opts.custody.append({ topic: packet.topic, payload: Buffer.from(packet.payload), qos: packet.qos, retain: packet.retain }).then(() => {
      this.opts.counters.custodyAppended++
    })
    return { kind: 'keep', written }
  }
}

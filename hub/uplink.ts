import { parseMessage, parseTopic } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/log/logger.ts'
import type { Principal } from './credentials.ts'
import type { Custody } from './custody-log.ts'
import type { HubCounters } from './hub-counters.ts'

export interface UplinkPacket {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
}

/**
 * Decides what of a hall's traffic goes into custody for central: board
 * messages at QoS 1 that obey the contract. Runs inside Aedes's publish
 * authorisation, after the ACL, so the PUBACK waits for the durable write.
 *
 * A message that breaks its schema is still acknowledged: the board would
 * otherwise resend it from its journal forever. It is logged, counted and not
 * forwarded (DESIGN.md §3: a log line and a counter, never a crash).
 * QoS 0 (telemetry) is not kept: the bridge forwards it live or not at all.
 */
export class Uplink {
  constructor(private readonly opts: { hall: string; custody: Custody; counters: HubCounters; log: Logger }) {}

  /** A promise to wait for before acknowledging, or null when there is nothing to keep. */
  admit(principal: Principal | null, packet: UplinkPacket): Promise<void> | null {
    if (principal?.role !== 'board' || packet.qos === 0) return null
    const t = parseTopic(packet.topic)
    if (!t || t.kind === 'cmd' || t.hall !== this.opts.hall) return null
    const parsed = parseMessage(packet.topic, packet.payload)
    if (!parsed.ok) {
      this.opts.counters.invalidPayloads++
      this.opts.log.warn({ client: principal.username, topic: packet.topic, code: parsed.code, reason: parsed.message }, 'acknowledged but not forwarded: payload breaks the contract')
      return null
    }
    return this.opts.custody
      .append({ topic: packet.topic, payload: Buffer.from(packet.payload), qos: packet.qos, retain: packet.retain })
      .then(() => {
        this.opts.counters.custodyAppended++
      })
  }
}

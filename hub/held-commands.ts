import { Readable } from 'node:stream'
import { commandExpired, decodeJsonObject, parseTopic } from '../edge/protocol/index.ts'
import type { ClientRef } from './async-persistence.ts'
import type { CommandRefusal } from './command-gate.ts'
import { ForwardingPersistence } from './forwarding-persistence.ts'

interface StoredPacket {
  topic?: string
  brokerId?: string
  brokerCounter?: number
  messageId?: number
}

/**
 * Commands a board's session held while it was away, judged against their
 * `expires` on the hub's clock when the board comes back, before it is given
 * them (docs/integration.md, "Commands for a board that is offline are held").
 *
 * The board judges a command by its own wall clock, and a board that is back
 * from a power cut often has no right time yet: without a real-time clock it
 * boots in 1970, or at the time it was shut down, and NTP sets it only later.
 * Behind by the time it was away, it took a held `call` that central had long
 * given up on (and given to another window) and put that stale number up. The
 * hub, the hall's server, keeps its time: a held command already expired by
 * it is answered `expired` by the hub and never handed over.
 *
 * Only commands the board was never sent: those came from the session store
 * without a packet id (Aedes gives one when it first writes a packet to the
 * board). One that was sent and not acknowledged before the link dropped may
 * have been acted on, and then the board's own ledger answers it again with
 * its first reply; a refusal from the hub beside it would be a second,
 * contradicting reply.
 */
export class HeldCommands extends ForwardingPersistence {
  /** Per client id, the held commands of its current queue stream that it was never sent. */
  private readonly unsent = new Map<string, Set<string>>()

  /** Notes each never-sent command as Aedes streams a reconnecting client's queue to it. */
  override outgoingStream(client: ClientRef): Readable {
    const unsent = new Set<string>()
    this.unsent.set(client.id, unsent)
    const inner = this.inner.outgoingStream(client)
    async function* noted() {
      for await (const p of inner as AsyncIterable<StoredPacket>) {
        if (p.messageId === undefined && p.topic && parseTopic(p.topic)?.kind === 'cmd') unsent.add(keyOf(p))
        yield p
      }
    }
    const stream = Readable.from(noted())
    // Judged or not (the client left half way), what this stream noted goes with the next one.
    stream.once('close', () => {
      if (this.unsent.get(client.id) === unsent && unsent.size === 0) this.unsent.delete(client.id)
    })
    return stream
  }

  /**
   * Called as Aedes is about to hand `packet` to `clientId` from its queue: the refusal if it is a
   * held command, never sent, whose `expires` has passed at `now`; else null (the board judges it).
   */
  expired(clientId: string, packet: { topic: string; payload: Buffer | string; brokerId?: string; brokerCounter?: number }, now: number): CommandRefusal | null {
    const unsent = this.unsent.get(clientId)
    if (!unsent?.delete(keyOf(packet))) return null
    if (unsent.size === 0) this.unsent.delete(clientId)
    const decoded = decodeJsonObject(packet.payload)
    if (!decoded.ok || typeof decoded.value.expires !== 'string') return null
    const expires = decoded.value.expires
    if (!commandExpired({ expires }, now)) return null
    const at = new Date(now).toISOString()
    return {
      code: 'expired',
      message: `命令在窗口离线时已过期，未交给窗口 / expired at ${expires.slice(0, 40)} while the board was offline and its session held it; the hub did not hand it over (hub time ${at})`,
    }
  }
}

function keyOf(p: StoredPacket): string {
  return `${p.brokerId}:${p.brokerCounter}`
}

import { createRequire } from 'node:module'
import { mkdir } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { Level } from 'level'
import type { AsyncPersistence, ClientRef, SubRef } from './async-persistence.ts'
import { ForwardingPersistence } from './forwarding-persistence.ts'

export type { AsyncPersistence } from './async-persistence.ts'

/**
 * Aedes's session persistence (subscriptions, retained messages, wills, QoS 1
 * queues of clients with a persistent session): LevelDB in the hub's data
 * directory, or memory for tests; wrapped so no client's queue grows past a cap.
 */

// The packages are CommonJS without types for their async classes; load them by path.
const require = createRequire(import.meta.url)
const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new () => AsyncPersistence
const LevelPersistence = require('aedes-persistence-level/asyncPersistence.js') as new (db: Level<string, Buffer>) => AsyncPersistence

/** A session persistence that can also tell which client ids hold a session in it. */
export interface SessionPersistence extends AsyncPersistence {
  /**
   * Client ids with stored subscriptions: the persistent sessions a previous run left (the hub's
   * per-account session cap counts them). Absent where the store cannot list them (a cluster's Redis).
   */
  sessionClientIds?(): Promise<string[]>
}

/**
 * aedes-persistence-level keeps each subscription under `subscriptions:<encodeURIComponent(clientId)>:<topic>`
 * (its subByClientKey); ':' never occurs inside the encoded id. test/hub/session-store.test.ts pins this.
 */
const SUBSCRIPTION_KEYS = 'subscriptions:'

async function subscribedClientIds(db: Level<string, Buffer>): Promise<string[]> {
  const ids = new Set<string>()
  for await (const key of db.keys({ gt: SUBSCRIPTION_KEYS, lt: `${SUBSCRIPTION_KEYS}\uffff` })) {
    const encoded = key.slice(SUBSCRIPTION_KEYS.length).split(':')[0]!
    ids.add(decodeURIComponent(encoded))
  }
  return [...ids]
}

/** LevelDB under dataDir/sessions when a data directory is given, memory otherwise (a fresh process: no sessions yet). */
export async function openSessionPersistence(dataDir: string | undefined): Promise<SessionPersistence> {
  if (!dataDir) return Object.assign(new MemoryPersistence(), { sessionClientIds: () => Promise.resolve([]) })
  const path = `${dataDir}/sessions`
  await mkdir(path, { recursive: true })
  const db = new Level<string, Buffer>(path, { valueEncoding: 'buffer' })
  await db.open()
  return Object.assign(new LevelPersistence(db), { sessionClientIds: () => subscribedClientIds(db) })
}

/** What QueueCappedPersistence tells about inbound QoS 2 packets (Qos2Receipts listens). */
export interface IncomingWatcher {
  stored(clientId: string, messageId: number): void
  release(clientId: string, messageId: number): void
  forget(clientId: string): void
}

function messageIdOf(packet: unknown): number {
  return (packet as { messageId?: number }).messageId ?? -1
}

/**
 * Aedes's queueLimit bounds only packets read before CONNECT is handled; a
 * persistent session's queue (aedes#1087) is unbounded. This counts, per
 * client id, the QoS 1 packets stored for it and not yet acknowledged, and
 * drops a new packet for a client at the cap, reporting it through onDrop.
 * A connected client at its cap has stopped acknowledging; Aedes then fails to
 * find the dropped packet when delivering it and closes that client, which is
 * the fate of a stuck consumer anyway.
 */
export class QueueCappedPersistence extends ForwardingPersistence {
  private readonly queued = new Map<string, number>()
  private readonly counting = new Map<string, Promise<number>>()

  constructor(
    inner: AsyncPersistence,
    private readonly cap: number,
    private readonly onDrop: (clientId: string, packet: unknown) => void,
    /** Failures this wrapper absorbs instead of passing on (see delWill). */
    private readonly onError: (operation: string, err: Error) => void = () => {},
    /** Counts in a store shared by several brokers (a cluster): then nothing is kept here, every check asks. */
    private readonly shared?: (clientId: string) => Promise<number>,
    /** Told of inbound QoS 2 packets stored, released (PUBREL) and wiped (hub/qos2-receipts.ts). */
    private readonly incoming?: IncomingWatcher,
  ) {
    super(inner)
  }

  /** What is queued for a client now (for tests and metrics). */
  async queuedFor(clientId: string): Promise<number> {
    return this.count(clientId)
  }

  private count(clientId: string): Promise<number> {
    if (this.shared) return this.shared(clientId)
    const have = this.queued.get(clientId)
    if (have !== undefined) return Promise.resolve(have)
    // First sight of this client in this process (e.g. after a restart): count what LevelDB holds.
    let p = this.counting.get(clientId)
    if (!p) {
      const run = async () => {
        let n = 0
        for await (const _ of this.inner.outgoingStream({ id: clientId })) n++
        if (!this.queued.has(clientId)) this.queued.set(clientId, n)
        return this.queued.get(clientId)!
      }
      // Forgotten once settled, also on failure: a rejected count must not stay cached, or that client's queue fails for good.
      p = run().finally(() => this.counting.delete(clientId))
      this.counting.set(clientId, p)
    }
    return p
  }

  private async admit(all: SubRef[], packet: unknown): Promise<SubRef[]> {
    // Overlapping subscriptions of one client match twice, but the store keeps one copy per client.
    const subs = all.filter((s, i) => all.findIndex((o) => o.clientId === s.clientId) === i)
    const counts = await Promise.all(subs.map((s) => this.count(s.clientId)))
    const kept: SubRef[] = []
    subs.forEach((s, i) => {
      // Re-read after the await: counts of other enqueues may have moved meanwhile.
      const n = this.shared ? counts[i]! : (this.queued.get(s.clientId) ?? counts[i]!)
      if (n >= this.cap) {
        this.onDrop(s.clientId, packet)
        return
      }
      if (!this.shared) this.queued.set(s.clientId, n + 1)
      kept.push(s)
    })
    return kept
  }

  override async outgoingEnqueue(sub: SubRef, packet: unknown): Promise<void> {
    const [kept] = await this.admit([sub], packet)
    if (kept) await this.inner.outgoingEnqueue(kept, packet)
  }

  override async outgoingEnqueueCombi(subs: SubRef[], packet: unknown): Promise<void> {
    if (!subs || subs.length === 0) return
    const kept = await this.admit(subs, packet)
    if (kept.length > 0) await this.inner.outgoingEnqueueCombi(kept, packet)
  }

  override async outgoingClearMessageId(client: ClientRef, packet: unknown): Promise<unknown> {
    // Aedes asks this on every PUBACK, clean clients' too, though it never stores a delivery to a
    // clean session (client.js writes those straight to the socket, and connect.js clears whatever
    // an earlier persistent session under that id left before the clean one gets any): for a clean
    // client's PUBACK the answer is always "nothing", and asking LevelDB for it was a fifth of the
    // hub's CPU under a reader's acks. The connect-time clearing (packet.cmd 'publish') still runs.
    if ((client as ClientRef & { clean?: boolean }).clean === true && (packet as { cmd?: string }).cmd === 'puback') return undefined
    const cleared = await this.inner.outgoingClearMessageId(client, packet)
    if (cleared) {
      const n = this.queued.get(client.id)
      if (n !== undefined) this.queued.set(client.id, Math.max(0, n - 1))
    }
    return cleared
  }

  override async cleanSubscriptions(client: ClientRef): Promise<void> {
    await this.inner.cleanSubscriptions(client)
    this.queued.delete(client.id) // recounted from the store on next use
  }

  override incomingStorePacket(client: ClientRef, packet: unknown): Promise<void> {
    return this.inner.incomingStorePacket(client, packet).finally(() => this.incoming?.stored(client.id, messageIdOf(packet)))
  }

  override async incomingDelPacket(client: ClientRef, packet: unknown): Promise<void> {
    await this.inner.incomingDelPacket(client, packet)
    this.incoming?.release(client.id, messageIdOf(packet))
  }

  override async cleanIncoming(client: ClientRef): Promise<void> {
    await this.inner.cleanIncoming(client)
    this.incoming?.forget(client.id)
  }

  /**
   * Never rejects. Aedes's connect handler runs `delWill(client).finally(…)`
   * and handles nothing on the promise that returns, so a failed delete (a full
   * disk) was an unhandled rejection that ended the hub. The putWill that
   * follows fails the same way and refuses that CONNECT, which the board retries.
   */
  override delWill(client: ClientRef) {
    return this.inner.delWill(client).catch((err: Error) => {
      this.onError('delWill', err)
      return undefined
    })
  }
}

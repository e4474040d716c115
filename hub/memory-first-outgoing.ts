import { Readable } from 'node:stream'
import type { Logger } from '../edge/shared/logger.ts'
import type { ClientRef, SubRef } from './async-persistence.ts'
import { ForwardingPersistence } from './forwarding-persistence.ts'
import type { SessionPersistence } from './session-store.ts'

/**
 * Aedes stores every QoS 1 delivery to a persistent session before it sends it,
 * updates it with its message id and deletes it on PUBACK: three LevelDB writes
 * and two reads per message, although a board that is connected acknowledges it
 * within milliseconds (docs/benchmarks.md, "The hub's share of the tail"). This
 * wrapper keeps the queue entries of clients connected to this broker in memory
 * and writes to disk only what may outlive the connection:
 *
 * - a client that disconnects (also by a takeover, or the broker closing) has its
 *   unacknowledged entries written to disk (enqueue, then update with their message
 *   id) before its next outgoingStream is served, so a reconnecting board gets them
 *   again exactly as from disk;
 * - what the bridge hands in from central is promised to survive kill -9 once central
 *   has its PUBACK: watch() lets the bridge wait until every memory copy of it is
 *   acknowledged by its board or written to disk, flushing it at a short deadline;
 * - a failing write keeps the entry in memory (logged) and is tried again.
 *
 * Sits under QueueCappedPersistence: its outgoingStream yields disk then memory
 * entries, and it answers outgoingClearMessageId for memory entries, so the queue
 * cap counts both. Not used in a cluster: there the queue count is Redis's.
 */

interface QueuedPacket {
  brokerId: string
  brokerCounter: number
  payload?: unknown
  messageId?: number
  [field: string]: unknown
}

/** The part of Aedes this wrapper looks at: who is connected here, and when one leaves. */
interface BrokerView {
  clients: Record<string, { connected?: boolean; closed?: boolean; clean?: boolean } | undefined>
  on(event: 'clientDisconnect', listener: (client: ClientRef) => void): unknown
  removeListener(event: 'clientDisconnect', listener: (client: ClientRef) => void): unknown
}

interface Entry {
  readonly clientId: string
  readonly key: string
  readonly packet: QueuedPacket
  messageId: number | undefined
  /** Enqueued on disk by a flush whose update then failed: the next attempt only updates it. */
  onDisk: boolean
  /** While a write of this entry to disk runs; resolves true once it is there (and out of memory). */
  flushing: Promise<boolean> | null
  /** Watches (bridge hand-ins) waiting for this entry to be acknowledged or on disk. */
  readonly watches: Set<Watch>
}

export interface MemoryFirstOptions {
  log: Logger
  /** How long a watched hand-in may wait for its boards' PUBACK before its memory copies are written to disk. */
  watchDeadlineMs?: number
  /** After a failed write, how soon it is tried again. */
  retryMs?: number
}

/** What the bridge waits on: every memory copy of one hand-in acknowledged or written to disk. */
export interface DeliveryWatch {
  /** Resolves once nothing of the hand-in exists only in this process's memory. Never rejects: failed writes are retried. */
  settled(): Promise<void>
  /** The publish failed: stop watching (what was enqueued stays queued as usual). */
  cancel(): void
}

function keyOf(p: { brokerId?: unknown; brokerCounter?: unknown }): string {
  return `${String(p.brokerId)}:${String(p.brokerCounter)}`
}

export class MemoryFirstOutgoing extends ForwardingPersistence implements SessionPersistence {
  private broker: BrokerView | null = null
  /** Per client id, its memory entries in enqueue order (a Map keeps insertion order). */
  private readonly queues = new Map<string, Map<string, Entry>>()
  private readonly byMessageId = new Map<string, Map<number, Entry>>()
  /** Per client id, the flush its disconnect started: its next outgoingStream waits for it. */
  private readonly flushes = new Map<string, Promise<void>>()
  /**
   * Hand-ins being watched, by payload Buffer. Aedes copies the packet it is given (aedes-packet) but
   * keeps the payload Buffer itself, so the very Buffer the bridge passed to aedes.publish is the one
   * outgoingEnqueueCombi sees: identity, not equality, so two equal commands are never confused, and
   * no marker has to travel through Aedes's packet (which copies only the fields it knows).
   */
  private readonly watching = new Map<unknown, Set<Watch>>()
  private readonly retries = new Map<string, NodeJS.Timeout>()
  private readonly onDisconnect = (client: ClientRef) => this.clientLeft(client.id)
  /** @internal for Watch */
  readonly watchDeadlineMs: number
  private readonly retryMs: number
  private destroyed = false

  constructor(
    inner: SessionPersistence,
    private readonly opts: MemoryFirstOptions,
  ) {
    super(inner)
    this.watchDeadlineMs = opts.watchDeadlineMs ?? 50
    this.retryMs = opts.retryMs ?? 1_000
    if (inner.sessionClientIds) this.sessionClientIds = () => inner.sessionClientIds!()
  }

  sessionClientIds?: () => Promise<string[]>

  override async setup(broker: unknown): Promise<void> {
    this.broker = broker as BrokerView
    this.broker.on('clientDisconnect', this.onDisconnect)
    await this.inner.setup(broker)
  }

  /** Entries held in memory now, all clients (for tests and metrics). */
  get inMemory(): number {
    let n = 0
    for (const q of this.queues.values()) n += q.size
    return n
  }

  /** Starts watching what is published with this payload Buffer next; call before aedes.publish. */
  watch(payload: Buffer): DeliveryWatch {
    const w = new Watch(this, payload)
    let set = this.watching.get(payload)
    if (!set) this.watching.set(payload, (set = new Set()))
    set.add(w)
    return w
  }

  /** @internal for Watch */
  unwatch(w: Watch): void {
    const set = this.watching.get(w.payload)
    set?.delete(w)
    if (set?.size === 0) this.watching.delete(w.payload)
  }

  /** @internal for Watch: its deadline passed, its entries go to disk. */
  flushEntries(entries: Iterable<Entry>): void {
    for (const e of entries) void this.flushEntry(e)
  }

  private connectedHere(clientId: string): boolean {
    const c = this.broker?.clients[clientId]
    return Boolean(c && c.connected && !c.closed && c.clean === false) && !this.destroyed
  }

  override async outgoingEnqueue(sub: SubRef, packet: unknown): Promise<void> {
    await this.outgoingEnqueueCombi([sub], packet)
  }

  override async outgoingEnqueueCombi(subs: SubRef[], packet: unknown): Promise<void> {
    if (!subs || subs.length === 0) return
    const p = packet as QueuedPacket
    const toDisk: SubRef[] = []
    const watches = this.watching.get(p.payload)
    for (const sub of subs) {
      // A client whose flush is still running is not here any more, or has just come back: its order is disk's now.
      if (!this.connectedHere(sub.clientId) || this.flushes.has(sub.clientId)) {
        toDisk.push(sub)
        continue
      }
      const e: Entry = { clientId: sub.clientId, key: keyOf(p), packet: { ...p }, messageId: undefined, onDisk: false, flushing: null, watches: new Set() }
      let q = this.queues.get(sub.clientId)
      if (!q) this.queues.set(sub.clientId, (q = new Map()))
      q.set(e.key, e)
      if (watches) for (const w of watches) w.add(e)
    }
    if (toDisk.length > 0) await this.inner.outgoingEnqueueCombi(toDisk, packet)
  }

  override async outgoingUpdate(client: ClientRef, packet: unknown): Promise<void> {
    const p = packet as QueuedPacket
    const e = p.brokerId !== undefined ? this.queues.get(client.id)?.get(keyOf(p)) : undefined
    if (e && !e.flushing) return this.setMessageId(e, p.messageId)
    // Being written to disk right now: once there, disk serves it; if the write failed, memory still does.
    if (e?.flushing && !(await e.flushing)) return this.setMessageId(e, p.messageId)
    if (!e && p.brokerId === undefined) {
      // Aedes may ask by message id alone (aedes-persistence's augmentWithBrokerData).
      const byId = this.byMessageId.get(client.id)?.get(p.messageId ?? -1)
      if (byId && !byId.flushing) return this.setMessageId(byId, p.messageId)
    }
    await this.flushes.get(client.id)
    return this.inner.outgoingUpdate(client, packet)
  }

  private setMessageId(e: Entry, messageId: number | undefined): void {
    const ids = this.byMessageId.get(e.clientId) ?? new Map<number, Entry>()
    this.byMessageId.set(e.clientId, ids)
    if (e.messageId !== undefined && ids.get(e.messageId) === e) ids.delete(e.messageId)
    e.messageId = messageId
    if (messageId !== undefined) ids.set(messageId, e)
  }

  override async outgoingClearMessageId(client: ClientRef, packet: unknown): Promise<unknown> {
    const messageId = (packet as { messageId?: number }).messageId
    const e = messageId !== undefined ? this.byMessageId.get(client.id)?.get(messageId) : undefined
    if ((e && !e.flushing) || (e?.flushing && !(await e.flushing) && e.messageId === messageId)) {
      this.remove(e)
      if (e.onDisk) await this.clearHalfWritten(e)
      return { ...e.packet, messageId: e.messageId }
    }
    await this.flushes.get(client.id)
    return this.inner.outgoingClearMessageId(client, packet)
  }

  /** Disk entries first, then memory ones, each in enqueue order; waits for a flush the client's disconnect started. */
  override outgoingStream(client: ClientRef): Readable {
    const self = this
    async function* entries() {
      await self.flushes.get(client.id)
      const seen = new Set<string>()
      for await (const p of self.inner.outgoingStream(client)) {
        seen.add(keyOf(p as QueuedPacket))
        yield p
      }
      // A write that failed half way (enqueued, not updated) leaves the entry on disk and in memory: served once.
      for (const e of [...(self.queues.get(client.id)?.values() ?? [])]) {
        if (seen.has(e.key) || self.queues.get(client.id)?.get(e.key) !== e) continue
        yield { ...e.packet, messageId: e.messageId }
      }
    }
    return Readable.from(entries())
  }

  override async cleanSubscriptions(client: ClientRef): Promise<void> {
    await this.flushes.get(client.id)
    await this.inner.cleanSubscriptions(client)
  }

  /** A flush enqueued it and failed to update it, then its board acknowledged it: the disk copy goes too. */
  private async clearHalfWritten(e: Entry): Promise<void> {
    try {
      await this.inner.outgoingUpdate({ id: e.clientId }, { ...e.packet, messageId: e.messageId })
      await this.inner.outgoingClearMessageId({ id: e.clientId }, { cmd: 'puback', messageId: e.messageId })
    } catch (err) {
      // Left on disk: redelivered at the next connect, and the board drops it by its id. Never lost.
      this.opts.log.warn({ client: e.clientId, topic: e.packet.topic, err: (err as Error).message }, 'an acknowledged message stays on disk and will be delivered again')
    }
  }

  private remove(e: Entry): void {
    const q = this.queues.get(e.clientId)
    if (q?.get(e.key) === e) q.delete(e.key)
    if (q?.size === 0) this.queues.delete(e.clientId)
    const ids = this.byMessageId.get(e.clientId)
    if (e.messageId !== undefined && ids?.get(e.messageId) === e) ids.delete(e.messageId)
    if (ids?.size === 0) this.byMessageId.delete(e.clientId)
    for (const w of e.watches) w.done(e)
    e.watches.clear()
  }

  /** Writes one entry to disk as Aedes would have: enqueued, then updated with its message id. True once it is there. */
  private flushEntry(e: Entry): Promise<boolean> {
    if (e.flushing) return e.flushing
    const run = async (): Promise<boolean> => {
      try {
        if (!e.onDisk) await this.inner.outgoingEnqueue({ clientId: e.clientId }, e.packet)
        e.onDisk = true
        // Read after the first write: a message id Aedes assigned meanwhile waited for this flush.
        if (e.messageId !== undefined) await this.inner.outgoingUpdate({ id: e.clientId }, { ...e.packet, messageId: e.messageId })
        e.flushing = null
        this.remove(e)
        return true
      } catch (err) {
        e.flushing = null
        this.opts.log.error({ client: e.clientId, topic: e.packet.topic, err: (err as Error).message }, '会话消息写盘失败，留在内存中稍后重试 / writing a queued message to disk failed; kept in memory and tried again')
        this.retryLater(e.clientId)
        return false
      }
    }
    e.flushing = run()
    return e.flushing
  }

  /** Every memory entry of a client to disk; resolves when all are tried. */
  private async flushClient(clientId: string): Promise<void> {
    const q = this.queues.get(clientId)
    if (!q) return
    await Promise.all([...q.values()].map((e) => this.flushEntry(e)))
  }

  private clientLeft(clientId: string): void {
    if (!this.queues.has(clientId) || this.flushes.has(clientId)) return
    const f = this.flushClient(clientId).finally(() => {
      if (this.flushes.get(clientId) === f) this.flushes.delete(clientId)
    })
    this.flushes.set(clientId, f)
  }

  private retryLater(clientId: string): void {
    if (this.retries.has(clientId) || this.destroyed) return
    const t = setTimeout(() => {
      this.retries.delete(clientId)
      // Connected again meanwhile: its entries are served from memory; its next disconnect or a deadline writes them.
      const q = this.queues.get(clientId)
      if (!q) return
      const due = [...q.values()].filter((e) => !this.connectedHere(clientId) || e.watches.size > 0)
      for (const e of due) void this.flushEntry(e)
    }, this.retryMs)
    t.unref()
    this.retries.set(clientId, t)
  }

  /** Every memory entry to disk (the broker closes). Entries whose write fails stay in memory and are logged. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.flushes.values()])
    await Promise.all([...this.queues.keys()].map((id) => this.flushClient(id)))
  }

  override async destroy(): Promise<void> {
    this.destroyed = true
    this.broker?.removeListener('clientDisconnect', this.onDisconnect)
    await this.flushAll()
    for (const t of this.retries.values()) clearTimeout(t)
    this.retries.clear()
    if (this.inMemory > 0) this.opts.log.error({ entries: this.inMemory }, '关闭时仍有会话消息未能写盘 / queued messages could not be written to disk at shutdown')
    await this.inner.destroy()
  }
}

/** One hand-in's memory copies; settled once each is acknowledged or on disk. */
class Watch implements DeliveryWatch {
  private readonly pending = new Set<Entry>()
  private waiting: (() => void) | null = null
  private timer: NodeJS.Timeout | null = null
  private ended = false

  constructor(
    private readonly owner: MemoryFirstOutgoing,
    readonly payload: Buffer,
  ) {}

  add(e: Entry): void {
    if (this.ended) return
    this.pending.add(e)
    e.watches.add(this)
  }

  done(e: Entry): void {
    this.pending.delete(e)
    if (this.pending.size === 0) this.finish()
  }

  settled(deadlineMs?: number): Promise<void> {
    // Nothing more of this publish can be enqueued: Aedes enqueues before it completes the publish.
    this.owner.unwatch(this)
    if (this.pending.size === 0) return Promise.resolve(this.finish())
    return new Promise<void>((resolve) => {
      this.waiting = resolve
      this.timer = setTimeout(() => this.owner.flushEntries([...this.pending]), deadlineMs ?? this.owner.watchDeadlineMs)
    })
  }

  cancel(): void {
    this.owner.unwatch(this)
    for (const e of this.pending) e.watches.delete(this)
    this.pending.clear()
    this.finish()
  }

  private finish(): void {
    this.ended = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const w = this.waiting
    this.waiting = null
    w?.()
  }
}

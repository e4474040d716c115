import type { AsyncPersistence, ClientRef, SubRef } from './async-persistence.ts'

/**
 * A session persistence that hands every call to the one it wraps. The hub's
 * wrappers (hub/session-store.ts's queue cap, hub/memory-first-outgoing.ts)
 * extend it and override only the calls they change, so a method Aedes adds
 * or renames is forwarded in one place.
 */
export class ForwardingPersistence implements AsyncPersistence {
  constructor(protected readonly inner: AsyncPersistence) {}

  /** Async by declaration: Aedes refuses a persistence whose setup is not an async function. */
  async setup(broker: unknown): Promise<void> {
    await this.inner.setup(broker)
  }

  storeRetained(packet: unknown) { return this.inner.storeRetained(packet) }
  createRetainedStream(pattern: string) { return this.inner.createRetainedStream(pattern) }
  createRetainedStreamCombi(patterns: string[]) { return this.inner.createRetainedStreamCombi(patterns) }
  addSubscriptions(client: ClientRef, subs: unknown[]) { return this.inner.addSubscriptions(client, subs) }
  removeSubscriptions(client: ClientRef, topics: string[]) { return this.inner.removeSubscriptions(client, topics) }
  subscriptionsByClient(client: ClientRef) { return this.inner.subscriptionsByClient(client) }
  countOffline() { return this.inner.countOffline() }
  subscriptionsByTopic(pattern: string) { return this.inner.subscriptionsByTopic(pattern) }
  cleanSubscriptions(client: ClientRef) { return this.inner.cleanSubscriptions(client) }
  outgoingEnqueue(sub: SubRef, packet: unknown) { return this.inner.outgoingEnqueue(sub, packet) }
  outgoingEnqueueCombi(subs: SubRef[], packet: unknown) { return this.inner.outgoingEnqueueCombi(subs, packet) }
  outgoingUpdate(client: ClientRef, packet: unknown) { return this.inner.outgoingUpdate(client, packet) }
  outgoingClearMessageId(client: ClientRef, packet: unknown) { return this.inner.outgoingClearMessageId(client, packet) }
  outgoingStream(client: ClientRef) { return this.inner.outgoingStream(client) }
  incomingStorePacket(client: ClientRef, packet: unknown) { return this.inner.incomingStorePacket(client, packet) }
  incomingGetPacket(client: ClientRef, packet: unknown) { return this.inner.incomingGetPacket(client, packet) }
  incomingDelPacket(client: ClientRef, packet: unknown) { return this.inner.incomingDelPacket(client, packet) }
  cleanIncoming(client: ClientRef) { return this.inner.cleanIncoming(client) }
  putWill(client: ClientRef, packet: unknown) { return this.inner.putWill(client, packet) }
  getWill(client: ClientRef) { return this.inner.getWill(client) }
  delWill(client: ClientRef) { return this.inner.delWill(client) }
  streamWill(brokers: unknown) { return this.inner.streamWill(brokers) }
  getClientList(topic: string) { return this.inner.getClientList(topic) }
  destroy() { return this.inner.destroy() }
}

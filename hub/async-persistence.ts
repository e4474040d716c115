import type { Readable } from 'node:stream'

/** What Aedes hands the session store to name a client and a subscriber. */
export interface ClientRef {
  id: string
}
export interface SubRef {
  clientId: string
}

/** The async persistence interface of aedes-persistence 11 (its shipped types describe the callback one). */
export interface AsyncPersistence {
  setup(broker: unknown): Promise<void>
  storeRetained(packet: unknown): Promise<void>
  createRetainedStream(pattern: string): Readable
  createRetainedStreamCombi(patterns: string[]): Readable
  addSubscriptions(client: ClientRef, subs: unknown[]): Promise<void>
  removeSubscriptions(client: ClientRef, topics: string[]): Promise<void>
  subscriptionsByClient(client: ClientRef): Promise<unknown[]>
  countOffline(): Promise<unknown>
  subscriptionsByTopic(pattern: string): Promise<SubRef[]>
  cleanSubscriptions(client: ClientRef): Promise<void>
  outgoingEnqueue(sub: SubRef, packet: unknown): Promise<void>
  outgoingEnqueueCombi(subs: SubRef[], packet: unknown): Promise<void>
  outgoingUpdate(client: ClientRef, packet: unknown): Promise<void>
  outgoingClearMessageId(client: ClientRef, packet: unknown): Promise<unknown>
  outgoingStream(client: ClientRef): Readable
  incomingStorePacket(client: ClientRef, packet: unknown): Promise<void>
  incomingGetPacket(client: ClientRef, packet: unknown): Promise<unknown>
  incomingDelPacket(client: ClientRef, packet: unknown): Promise<void>
  cleanIncoming(client: ClientRef): Promise<void>
  putWill(client: ClientRef, packet: unknown): Promise<void>
  getWill(client: ClientRef): Promise<unknown>
  delWill(client: ClientRef): Promise<unknown>
  streamWill(brokers: unknown): Readable
  getClientList(topic: string): Readable
  destroy(): Promise<void>
}

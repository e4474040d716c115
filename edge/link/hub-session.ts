import type { IStore } from 'mqtt'
import { connectMqtt, type ConnectOptions } from '../shared/mqtt-connect.ts'

/** The last will a session carries on its next connect. */
export interface SessionWill {
  topic: string
  payload: Buffer | string
  qos?: 0 | 1 | 2
  retain?: boolean
}

export interface SessionPublishOptions {
  qos: 0 | 1
  retain: boolean
}

/**
 * The part of an mqtt.js client that BoardLink uses, so the link can run on
 * something other than a socket (test/support/edge-harness.ts records what it
 * publishes). `MqttClient` satisfies it as it is; anything else must keep its
 * meaning: `publishAsync` resolves on the broker's acknowledgement, a publish
 * still unacknowledged when the connection drops is sent again after
 * `reconnect` (given the stores), `close` follows every lost or failed
 * connection, and nothing reconnects unless `reconnect` is called.
 */
export interface HubSession {
  readonly connected: boolean
  readonly disconnected: boolean
  readonly incomingStore: IStore
  readonly outgoingStore: IStore
  /** Read at each connect: setting `will` changes what the next connect carries. */
  options: { will?: SessionWill }
  on(event: 'connect' | 'close', listener: () => void): unknown
  on(event: 'error', listener: (err: Error) => void): unknown
  on(event: 'packetsend' | 'packetreceive', listener: (packet: { cmd: string }) => void): unknown
  on(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown
  subscribe(topic: string, opts: { qos: 1 }, callback: (err: Error | null) => void): unknown
  /** Fire and forget: for messages whose loss the next one repairs (state, birth, live telemetry). */
  publish(topic: string, payload: string | Buffer, opts: SessionPublishOptions): unknown
  publishAsync(topic: string, payload: string | Buffer, opts: SessionPublishOptions): Promise<unknown>
  reconnect(stores: { incomingStore: IStore; outgoingStore: IStore }): unknown
  endAsync(force: boolean): Promise<void>
}

/** Opens a session to the hub with these options; it connects on its own and reports through `on`. */
export type HubSessionFactory = (opts: ConnectOptions) => HubSession

/**
 * The real one: mqtt.js over TCP (or TLS) with TCP_NODELAY. writeCache off: mqtt-packet would otherwise
 * build a 2-byte Buffer for each of the 65,536 possible packet ids at the first packet: some 50 ms of a
 * board's start and 7 MB of heap, kept for good. A board sends a few packets a minute and writes each
 * number as it goes (docs/benchmarks.md, "Edge footprint").
 */
export const connectHubSession: HubSessionFactory = (opts) => connectMqtt({ writeCache: false, ...opts })

import type { Aedes, AedesPublishPacket } from 'aedes'
import type { MqttClient } from 'mqtt'
import { parseMessage, parseTopic, topics } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/log/logger.ts'
import { connectMqtt, parseBrokerUrl } from '../edge/link/mqtt-connect.ts'
import type { HubCounters } from './hub-counters.ts'

export interface BridgeOptions {
  hall: string
  hubId: string
  boot: string
  version: string
  aedes: Aedes
  upstream: { url: string; username?: string; password?: string; clientId?: string }
  counters: HubCounters
  log: Logger
  /** QoS 1 publishes in flight to central at once. */
  window?: number
}

interface Pending {
  topic: string
  payload: Buffer
  qos: 0 | 1
  retain: boolean
  sent: boolean
}

export type BridgeState = 'connecting' | 'connected' | 'disconnected'

/**
 * Carries the hall's board topics up to the central broker and central's
 * commands down, with the same topics on both sides (DESIGN.md §3), so no
 * rewriting and no loops: up goes everything under counter/ except cmd/, down
 * comes only cmd/ and central/status.
 *
 * The backlog lives in memory here; the durable custody log of DESIGN.md §4
 * step 2 replaces it (issue 6). Until then a hub restart loses what central has
 * not acknowledged.
 */
export class Bridge {
  private client: MqttClient | null = null
  private readonly queue: Pending[] = []
  private inFlight = 0
  private state: BridgeState = 'disconnected'
  private stateSince = new Date().toISOString()
  private readonly deliverLocal = (packet: AedesPublishPacket, done: () => void) => {
    this.fromHall(packet)
    done()
  }

  constructor(private readonly opts: BridgeOptions) {}

  get backlog(): number {
    return this.queue.length
  }

  get linkState(): BridgeState {
    return this.state
  }

  async start(): Promise<void> {
    const { hall, aedes, upstream, log } = this.opts
    await new Promise<void>((r) => aedes.subscribe(topics.hallCounters(hall), this.deliverLocal, () => r()))
    const willPayload = JSON.stringify({ online: false, hub: this.opts.hubId, boot: this.opts.boot, ts: new Date().toISOString(), reason: 'will' })
    this.setState('connecting')
    const client = connectMqtt({
      addresses: [parseBrokerUrl(upstream.url)],
      clientId: upstream.clientId ?? `hub-${hall}`,
      clean: false,
      username: upstream.username,
      password: upstream.password,
      will: { topic: topics.hubStatus(hall), payload: Buffer.from(willPayload), qos: 1, retain: true },
    })
    this.client = client
    client.on('connect', () => {
      log.info({ upstream: upstream.url }, 'bridge connected to central')
      this.setState('connected')
      const birth = { online: true, hub: this.opts.hubId, boot: this.opts.boot, version: this.opts.version, ts: new Date().toISOString() }
      client.publish(topics.hubStatus(hall), JSON.stringify(birth), { qos: 1, retain: true })
      client.subscribe(
        { [`hall/${hall}/counter/+/cmd/+`]: { qos: 1 }, [topics.centralStatus(hall)]: { qos: 1 } },
        (err) => err && log.error({ err: err.message }, 'bridge could not subscribe upstream'),
      )
      this.pump()
    })
    client.on('close', () => {
      if (this.state === 'connected') log.warn('bridge lost central')
      this.setState('disconnected')
    })
    client.on('reconnect', () => this.setState('connecting'))
    client.on('error', (err) => log.warn({ err: err.message }, 'bridge upstream error'))
    client.on('message', (topic, payload, packet) => this.fromCentral(topic, payload, packet.retain))
  }

  private fromHall(packet: AedesPublishPacket): void {
    const t = parseTopic(packet.topic)
    if (!t || t.kind === 'cmd') return // commands come from central; sending them back would loop
    const parsed = parseMessage(packet.topic, packet.payload)
    if (!parsed.ok) {
      this.opts.counters.invalidPayloads++
      this.opts.log.warn({ topic: packet.topic, code: parsed.code, reason: parsed.message }, 'not bridged: payload breaks the contract')
      return
    }
    this.queue.push({ topic: packet.topic, payload: Buffer.from(packet.payload), qos: packet.qos === 0 ? 0 : 1, retain: packet.retain, sent: false })
    this.pump()
  }

  private fromCentral(topic: string, payload: Buffer, retain: boolean): void {
    const t = parseTopic(topic)
    const ok = t && t.hall === this.opts.hall && (t.kind === 'cmd' || t.kind === 'central-status')
    if (!ok) {
      this.opts.counters.refusedDown++
      this.opts.log.warn({ topic }, 'ignored a message from central outside this hall\'s command topics')
      return
    }
    // Commands are never retained, even if central got that wrong: a retained call would replay a stale number.
    const keepRetain = t.kind === 'central-status' && retain
    this.opts.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: keepRetain, dup: false }, (err) => {
      if (err) this.opts.log.error({ topic, err: err.message }, 'could not deliver a command into the hall')
      else this.opts.counters.bridgedDown++
    })
  }

  private pump(): void {
    const client = this.client
    if (!client?.connected) return
    const window = this.opts.window ?? 64
    for (const item of this.queue) {
      if (this.inFlight >= window) break
      if (item.sent) continue
      item.sent = true
      this.inFlight++
      client
        .publishAsync(item.topic, item.payload, { qos: item.qos, retain: item.retain })
        .then(() => {
          const i = this.queue.indexOf(item)
          if (i >= 0) this.queue.splice(i, 1)
          this.opts.counters.bridgedUp++
        })
        .catch((err: Error) => {
          // mqtt.js rejects only when the client is ended; keep the entry for the next start.
          item.sent = false
          this.opts.log.debug({ err: err.message }, 'bridge publish not acknowledged')
        })
        .finally(() => {
          this.inFlight--
          this.pump()
        })
    }
  }

  private setState(state: BridgeState): void {
    if (state === this.state) return
    this.state = state
    this.stateSince = new Date().toISOString()
    const msg = { state, backlog: this.queue.length, since: this.stateSince, ts: this.stateSince, upstream: this.opts.upstream.url }
    this.opts.aedes.publish(
      { cmd: 'publish', topic: topics.hubBridge(this.opts.hall), payload: Buffer.from(JSON.stringify(msg)), qos: 1, retain: true, dup: false },
      () => {},
    )
  }

  async stop(): Promise<void> {
    const { hall, aedes } = this.opts
    await new Promise<void>((r) => aedes.unsubscribe(topics.hallCounters(hall), this.deliverLocal, () => r()))
    const client = this.client
    this.client = null
    if (client) {
      if (client.connected) {
        const bye = { online: false, hub: this.opts.hubId, boot: this.opts.boot, ts: new Date().toISOString(), reason: 'stop' }
        await client.publishAsync(topics.hubStatus(hall), JSON.stringify(bye), { qos: 1, retain: true }).catch(() => {})
      }
      await client.endAsync()
    }
    this.setState('disconnected')
  }
}

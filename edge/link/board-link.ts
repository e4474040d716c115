import type { MqttClient } from 'mqtt'
import { parseTopic, topics, type EventType, type EventFields, type OfflineReason } from '../protocol/index.ts'
import type { Logger } from '../log/logger.ts'
import { connectMqtt, type BrokerAddress } from './mqtt-connect.ts'
import type { EnvelopeStamper } from './envelope-stamper.ts'

export interface BoardLinkOptions {
  hall: string
  counter: string
  addresses: BrokerAddress[]
  username: string
  password: string
  stamper: EnvelopeStamper
  birth: { version: string; board: string; capabilities: string[] }
  log: Logger
  /** QoS 1 messages in flight to the hub at once. */
  window?: number
}

interface Outgoing {
  topic: string
  payload: string
  qos: 0 | 1
  retain: boolean
  sent: boolean
}

export type CommandHandler = (name: string, payload: Buffer) => void

/**
 * The board's MQTT session to its hub: birth on every connect, a will that
 * carries the boot id, its own commands in, events/replies/state out in order.
 *
 * The outbox is in memory: the on-disk journal of DESIGN.md §4 step 1 (issue 5)
 * takes its place, so for now a board restart loses what the hub had not acknowledged.
 */
export class BoardLink {
  private client: MqttClient | null = null
  private readonly outbox: Outgoing[] = []
  private inFlight = 0
  private onCommand: CommandHandler = () => {}
  private onConnected: () => void = () => {}
  private stopping = false

  constructor(private readonly opts: BoardLinkOptions) {}

  get connected(): boolean {
    return Boolean(this.client?.connected)
  }

  get backlog(): number {
    return this.outbox.length
  }

  handleCommands(handler: CommandHandler): void {
    this.onCommand = handler
  }

  /** Called after every (re)connect and birth, so the window can republish its state. */
  whenConnected(cb: () => void): void {
    this.onConnected = cb
  }

  start(): void {
    const { hall, counter, log } = this.opts
    const client = connectMqtt({
      addresses: this.opts.addresses,
      clientId: this.opts.username,
      username: this.opts.username,
      password: this.opts.password,
      clean: false,
      will: this.will(),
    })
    this.client = client
    client.on('connect', () => {
      log.info('connected to hub')
      client.publish(topics.status(hall, counter), JSON.stringify({ ...this.opts.stamper.next(), online: true, ...this.opts.birth }), { qos: 1, retain: true })
      client.subscribe(topics.counterCommands(hall, counter), { qos: 1 }, (err) => {
        if (err) log.error({ err: err.message }, 'could not subscribe to own commands')
      })
      this.onConnected()
      this.pump()
    })
    // The next connect carries a will stamped now, so it is newer than anything sent before it.
    client.on('close', () => {
      if (!this.stopping) client.options.will = this.will()
    })
    client.on('error', (err) => log.warn({ err: err.message }, 'hub link error'))
    client.on('offline', () => log.warn('hub unreachable; keeping events until it is back'))
    client.on('message', (topic, payload) => {
      const t = parseTopic(topic)
      if (!t || t.kind !== 'cmd' || t.hall !== hall || t.counter !== counter) {
        log.warn({ topic }, 'ignored a message on a topic that is not one of this window\'s commands')
        return
      }
      this.onCommand(t.name, payload)
    })
  }

  private will() {
    const payload = JSON.stringify({ ...this.opts.stamper.next(), online: false, reason: 'will' satisfies OfflineReason })
    return { topic: topics.status(this.opts.hall, this.opts.counter), payload: Buffer.from(payload), qos: 1 as const, retain: true }
  }

  event<T extends EventType>(type: T, fields: EventFields<T>): string {
    const env = this.opts.stamper.next()
    this.enqueue(topics.event(this.opts.hall, this.opts.counter, type), JSON.stringify({ ...env, type, ...fields }), 1, false)
    return env.id
  }

  reply(fields: Record<string, unknown>): void {
    this.enqueue(topics.reply(this.opts.hall, this.opts.counter), JSON.stringify({ ...this.opts.stamper.next(), ...fields }), 1, false)
  }

  /** State is retained and only the newest matters: an unsent older state is replaced, not queued behind. */
  state(fields: Record<string, unknown>): void {
    const topic = topics.state(this.opts.hall, this.opts.counter)
    const payload = JSON.stringify({ ...this.opts.stamper.next(), ...fields })
    const stale = this.outbox.find((o) => o.topic === topic && !o.sent)
    if (stale) {
      stale.payload = payload
      this.pump()
    } else {
      this.enqueue(topic, payload, 1, true)
    }
  }

  republishBirth(): void {
    if (!this.client?.connected) return
    this.client.publish(topics.status(this.opts.hall, this.opts.counter), JSON.stringify({ ...this.opts.stamper.next(), online: true, ...this.opts.birth }), { qos: 1, retain: true })
  }

  private enqueue(topic: string, payload: string, qos: 0 | 1, retain: boolean): void {
    this.outbox.push({ topic, payload, qos, retain, sent: false })
    this.pump()
  }

  private pump(): void {
    const client = this.client
    if (!client?.connected) return
    const window = this.opts.window ?? 32
    for (const item of this.outbox) {
      if (this.inFlight >= window) break
      if (item.sent) continue
      item.sent = true
      this.inFlight++
      client
        .publishAsync(item.topic, item.payload, { qos: item.qos, retain: item.retain })
        .then(() => {
          const i = this.outbox.indexOf(item)
          if (i >= 0) this.outbox.splice(i, 1)
        })
        .catch((err: Error) => {
          item.sent = false
          this.opts.log.debug({ err: err.message }, 'publish not acknowledged')
        })
        .finally(() => {
          this.inFlight--
          this.pump()
        })
    }
  }

  /** Clean stop: an offline status with the reason, so the hall view can tell a restart from a crash. */
  async stop(reason: OfflineReason = 'stop'): Promise<void> {
    this.stopping = true
    const client = this.client
    this.client = null
    if (!client) return
    if (client.connected) {
      const bye = JSON.stringify({ ...this.opts.stamper.next(), online: false, reason })
      await Promise.race([
        client.publishAsync(topics.status(this.opts.hall, this.opts.counter), bye, { qos: 1, retain: true }).catch(() => {}),
        new Promise((r) => setTimeout(r, 2000)),
      ])
    }
    // Not forced: a forced end skips DISCONNECT, and the hub would then publish the will over our clean stop.
    await Promise.race([client.endAsync(false), new Promise((r) => setTimeout(r, 2000))])
    if (!client.disconnected) await client.endAsync(true)
  }
}

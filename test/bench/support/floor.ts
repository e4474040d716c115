/**
 * The floor under the call latency: the same two brokers and the same path
 * (central Mosquitto → hub bridge → Aedes → a client with a persistent
 * session logged in as a board), but a bare mqtt.js client at the end instead
 * of the edge runtime, so nothing is parsed, decided or drawn. Sender and
 * receiver live in the bench process and share its clock, so the one-way time
 * is measured directly; an echo back up would add the hub's custody fsync to
 * the floor and make it incomparable with a one-way call.
 *
 * A second receiver reads the same messages straight off central (one broker,
 * no hub), so the floor splits into Mosquitto's part and the hub's.
 */
import type { MqttClient } from 'mqtt'
import { epochNow } from './clock.ts'
import type { CentralClient } from './central.ts'
import { connectPlain } from './net.ts'

class OneWay {
  readonly sentAt = new Map<string, number>()
  samples: number[] = []
  measuring = false

  constructor(client: MqttClient) {
    client.on('message', (_topic, payload) => {
      const t = epochNow()
      const id = (JSON.parse(payload.toString('utf8')) as { id: string }).id
      const t0 = this.sentAt.get(id)
      if (t0 === undefined) return
      this.sentAt.delete(id)
      if (this.measuring) this.samples.push(t - t0)
    })
  }
}

export class FloorProbe {
  private timer: NodeJS.Timeout | null = null
  private readonly viaHub: OneWay
  private readonly direct: OneWay
  private seq = 0

  private constructor(
    private readonly hubClient: MqttClient,
    private readonly centralClient: MqttClient,
    private readonly central: CentralClient,
    private readonly hall: string,
    private readonly counter: string,
  ) {
    this.viaHub = new OneWay(hubClient)
    this.direct = new OneWay(centralClient)
  }

  static async connect(o: { central: CentralClient; centralPort: number; hubPort: number; hall: string; counter: string; username: string; password: string; directClientId?: string }): Promise<FloorProbe> {
    const topic = `hall/${o.hall}/counter/${o.counter}/cmd/+`
    // Like a board: client id = username, persistent session, QoS 1 on its own commands.
    const hubClient = await connectPlain(o.hubPort, { clientId: o.username, username: o.username, password: o.password, clean: false })
    await hubClient.subscribeAsync(topic, { qos: 1 })
    const centralClient = await connectPlain(o.centralPort, { clientId: o.directClientId ?? `bench-floor-direct-${process.pid}`, clean: true })
    await centralClient.subscribeAsync(topic, { qos: 1 })
    return new FloorProbe(hubClient, centralClient, o.central, o.hall, o.counter)
  }

  /** Sends a call-sized command every intervalMs. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      const ticket = `F${this.seq++ % 1000}`
      const { id, t0 } = this.central.send(this.hall, this.counter, 'call', { ticket, service: 'passport' })
      this.viaHub.sentAt.set(id, t0)
      this.direct.sentAt.set(id, t0)
    }, intervalMs)
  }

  startMeasuring(): void {
    for (const w of [this.viaHub, this.direct]) {
      w.samples = []
      w.measuring = true
    }
  }

  /** One-way times through both brokers (the floor), ms; stops measuring. */
  stopMeasuring(): number[] {
    this.viaHub.measuring = false
    this.direct.measuring = false
    return this.viaHub.samples
  }

  /** One-way times through central alone in the last measurement, ms. */
  get directSamples(): number[] {
    return this.direct.samples
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  async close(): Promise<void> {
    this.stop()
    await this.hubClient.endAsync(true)
    await this.centralClient.endAsync(true)
  }
}

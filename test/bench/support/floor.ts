/**
 * The floor under the call latency: the same two brokers and the same path
 * (central Mosquitto → hub bridge → Aedes → a client with a persistent
 * session logged in as a board), but a bare mqtt.js client at the end instead
 * of the edge runtime, so nothing is parsed, decided or drawn. Sender and
 * receiver live in the bench process and share its clock, so the one-way time
 * is measured directly; an echo back up would add the hub's custody fsync to
 * the floor and make it incomparable with a one-way call.
 */
import type { MqttClient } from 'mqtt'
import { epochNow } from './clock.ts'
import type { CentralClient } from './central.ts'
import { connectPlain } from './net.ts'

export class FloorProbe {
  private timer: NodeJS.Timeout | null = null
  private readonly sentAt = new Map<string, number>()
  private samples: number[] = []
  private measuring = false
  private seq = 0

  private constructor(
    private readonly client: MqttClient,
    private readonly central: CentralClient,
    private readonly hall: string,
    private readonly counter: string,
  ) {
    client.on('message', (_topic, payload) => {
      const t = epochNow()
      const id = (JSON.parse(payload.toString('utf8')) as { id: string }).id
      const t0 = this.sentAt.get(id)
      if (t0 === undefined) return
      this.sentAt.delete(id)
      if (this.measuring) this.samples.push(t - t0)
    })
  }

  static async connect(o: { central: CentralClient; hubPort: number; hall: string; counter: string; username: string; password: string }): Promise<FloorProbe> {
    // Like a board: client id = username, persistent session, QoS 1 on its own commands.
    const client = await connectPlain(o.hubPort, { clientId: o.username, username: o.username, password: o.password, clean: false })
    await client.subscribeAsync(`hall/${o.hall}/counter/${o.counter}/cmd/+`, { qos: 1 })
    return new FloorProbe(client, o.central, o.hall, o.counter)
  }

  /** Sends a call-sized command every intervalMs. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      const ticket = `F${this.seq++ % 1000}`
      const { id, t0 } = this.central.send(this.hall, this.counter, 'call', { ticket, service: 'passport' })
      this.sentAt.set(id, t0)
    }, intervalMs)
  }

  startMeasuring(): void {
    this.samples = []
    this.measuring = true
  }

  stopMeasuring(): number[] {
    this.measuring = false
    return this.samples
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  async close(): Promise<void> {
    this.stop()
    await this.client.endAsync(true)
  }
}

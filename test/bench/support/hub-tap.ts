/**
 * A dashboard account on the hub that notes when each window's
 * event/evaluated was routed by the hub: that is after the custody write
 * (fsync) the hub makes before acknowledging, so press → hub and hub → central
 * split the press latency into the hall's part and the bridge's part.
 */
import type { MqttClient } from 'mqtt'
import { epochNow } from './clock.ts'
import { connectPlain } from './net.ts'

export class HubTap {
  private readonly waiting = new Map<string, (t: number) => void>()

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic) => {
      const t = epochNow()
      const counter = topic.split('/')[3]!
      const w = this.waiting.get(counter)
      if (w) {
        this.waiting.delete(counter)
        w(t)
      }
    })
  }

  static async connect(o: { hubPort: number; hall: string; username: string; password: string }): Promise<HubTap> {
    const client = await connectPlain(o.hubPort, { clientId: `${o.username}-tap-${process.pid}`, username: o.username, password: o.password, clean: true })
    await client.subscribeAsync(`hall/${o.hall}/counter/+/event/evaluated`, { qos: 1 })
    return new HubTap(client)
  }

  /** Resolves with when the hub delivered this window's next event/evaluated; never rejects (a miss just leaves no sample). */
  expect(counter: string): Promise<number> {
    return new Promise((resolve) => this.waiting.set(counter, resolve))
  }

  async close(): Promise<void> {
    this.waiting.clear()
    await this.client.endAsync(true)
  }
}

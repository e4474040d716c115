/**
 * The central system as the benches play it: one mqtt.js client on the
 * central Mosquitto that sends commands to any window of any hall and
 * consumes what the boards send up (replies, events, state, status), counting
 * everything it receives for the central message rate.
 */
import type { MqttClient } from 'mqtt'
import { epochNow } from './clock.ts'
import { connectPlain } from './net.ts'

interface Pending<T> {
  resolve: (v: T) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

export interface Reply {
  ok: boolean
  code?: string
  message?: string
}

const RUN = Date.now().toString(36)

export class CentralClient {
  /** Messages received, by kind (reply, event, state, status, other). */
  readonly received: Record<string, number> = { reply: 0, event: 0, state: 0, status: 0, other: 0 }
  sent = 0
  private seq = 0
  private readonly replies = new Map<string, Pending<Reply>>()
  private readonly evaluated = new Map<string, Pending<number>>()
  private readonly online = new Set<string>()
  private readonly onlineWaiters: Array<{ keys: string[]; resolve: () => void }> = []

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => this.onMessage(topic, payload))
  }

  static async connect(port: number, halls: string[] | '+', clientId = `bench-central-${process.pid}`): Promise<CentralClient> {
    const client = await connectPlain(port, { clientId, clean: true })
    const c = new CentralClient(client)
    const hallLevels = halls === '+' ? ['+'] : halls
    const filters: Record<string, { qos: 1 }> = {}
    for (const h of hallLevels) {
      for (const leaf of ['reply', 'state', 'status', 'event/+']) filters[`hall/${h}/counter/+/${leaf}`] = { qos: 1 }
    }
    await client.subscribeAsync(filters)
    return c
  }

  get totalReceived(): number {
    return Object.values(this.received).reduce((a, b) => a + b, 0)
  }

  /** Publishes a command; returns when it was handed to mqtt.js (epochNow) and its id. */
  send(hall: string, counter: string, name: string, args: Record<string, unknown> = {}, id = this.nextId(counter)): { id: string; t0: number } {
    const payload = JSON.stringify({ id, expires: new Date(Date.now() + 60_000).toISOString(), ...args })
    const t0 = epochNow()
    this.client.publish(`hall/${hall}/counter/${counter}/cmd/${name}`, payload, { qos: 1 })
    this.sent++
    return { id, t0 }
  }

  /** Sends a command and resolves with the board's reply, as central sees it. */
  request(hall: string, counter: string, name: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      // Register first, then publish: a fast reply must find its waiter.
      const id = this.nextId(counter)
      const timer = setTimeout(() => {
        this.replies.delete(id)
        reject(new Error(`${hall}/${counter}: no reply to ${name} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.replies.set(id, { resolve, reject, timer })
      this.send(hall, counter, name, args, id)
    })
  }

  private nextId(counter: string): string {
    return `b${RUN}-${counter}-${this.seq++}`
  }

  /** Resolves with the time (epochNow) event/evaluated of this window reached central. */
  expectEvaluated(hall: string, counter: string, timeoutMs = 15_000): Promise<number> {
    const key = `${hall}/${counter}`
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.evaluated.delete(key)
        reject(new Error(`${key}: event/evaluated did not reach central within ${timeoutMs} ms`))
      }, timeoutMs)
      this.evaluated.set(key, { resolve, reject, timer })
    })
  }

  /** Resolves once every window in `keys` ("hall/counter") has announced itself online at central. */
  waitOnline(keys: string[], timeoutMs: number): Promise<void> {
    const missing = () => keys.filter((k) => !this.online.has(k))
    if (missing().length === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${missing().length} of ${keys.length} windows not online at central after ${timeoutMs} ms`)), timeoutMs)
      this.onlineWaiters.push({
        keys,
        resolve: () => {
          clearTimeout(t)
          resolve()
        },
      })
    })
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = epochNow()
    // hall/{hall}/counter/{counter}/{leaf}[/{name}]
    const parts = topic.split('/')
    const hall = parts[1]
    const counter = parts[3]
    const leaf = parts[4]
    const kind = leaf === 'reply' || leaf === 'event' || leaf === 'state' || leaf === 'status' ? leaf : 'other'
    this.received[kind]!++
    if (leaf === 'reply') {
      const msg = JSON.parse(payload.toString('utf8')) as { cmd?: string } & Reply
      const p = msg.cmd ? this.replies.get(msg.cmd) : undefined
      if (p) {
        clearTimeout(p.timer)
        this.replies.delete(msg.cmd!)
        p.resolve(msg)
      }
    } else if (leaf === 'event' && parts[5] === 'evaluated') {
      const key = `${hall}/${counter}`
      const p = this.evaluated.get(key)
      if (p) {
        clearTimeout(p.timer)
        this.evaluated.delete(key)
        p.resolve(t)
      }
    } else if (leaf === 'status') {
      const msg = JSON.parse(payload.toString('utf8')) as { online?: boolean }
      const key = `${hall}/${counter}`
      if (msg.online) this.online.add(key)
      else this.online.delete(key)
      for (const w of [...this.onlineWaiters]) {
        if (w.keys.every((k) => this.online.has(k))) {
          this.onlineWaiters.splice(this.onlineWaiters.indexOf(w), 1)
          w.resolve()
        }
      }
    }
  }

  async close(): Promise<void> {
    for (const p of [...this.replies.values(), ...this.evaluated.values()]) clearTimeout(p.timer)
    await this.client.endAsync(true)
  }
}

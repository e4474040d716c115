import mqtt, { type MqttClient } from 'mqtt'
import { letTimePass } from './pace.ts'

export interface Received {
  topic: string
  payload: Record<string, unknown>
  retain: boolean
}

/** Messages as a consumer sees them, in arrival order, with a way to wait for one. */
export class MessageLog {
  readonly messages: Received[] = []
  private waiters: Array<{ match: (m: Received) => boolean; resolve: (m: Received) => void }> = []

  protected record(topic: string, payload: Buffer, retain: boolean): void {
    let json: Record<string, unknown>
    try {
      json = JSON.parse(payload.toString('utf8'))
    } catch {
      json = { raw: payload.toString('utf8') }
    }
    const m = { topic, payload: json, retain }
    this.messages.push(m)
    this.waiters = this.waiters.filter((w) => (w.match(m) ? (w.resolve(m), false) : true))
  }

  /** Resolves with the first message (already received or arriving later) that matches. */
  waitFor(match: (m: Received) => boolean, timeoutMs = 10_000, what = 'a matching message'): Promise<Received> {
    const have = this.messages.find(match)
    if (have) return Promise.resolve(have)
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got: ${this.messages.map((m) => m.topic).slice(-15).join(', ')}`))
      }, timeoutMs)
      const done = (m: Received) => {
        clearTimeout(t)
        resolve(m)
      }
      this.waiters.push({ match, resolve: done })
    })
  }
}

/** A MessageLog fed by hand, for a subscription a test reads itself (a raw mqtt.js client's `message` handler). */
export class Recorder extends MessageLog {
  /** A recorder of everything `client` receives from now on. */
  static of(client: MqttClient): Recorder {
    const r = new Recorder()
    client.on('message', (topic, payload, packet) => r.add(topic, payload, packet.retain))
    return r
  }

  add(topic: string, payload: Buffer, retain = false): void {
    this.record(topic, payload, retain)
  }
}

/**
 * An MQTT client standing where the central system stands: it records what
 * arrives and lets a test wait for a message that matches.
 */
export class Probe extends MessageLog {
  private constructor(readonly client: MqttClient) {
    super()
    client.on('message', (topic, payload, packet) => this.record(topic, payload, packet.retain))
  }

  static async connect(url: string, filters: string[], opts: mqtt.IClientOptions = {}): Promise<Probe> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...opts })
    ;(client.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true)
    const probe = new Probe(client)
    if (filters.length) await client.subscribeAsync(filters, { qos: 1 })
    return probe
  }

  async publish(topic: string, payload: unknown, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    await this.client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: opts.qos ?? 1, retain: opts.retain ?? false })
  }

  async close(): Promise<void> {
    await this.client.endAsync()
  }
}

/** Thrown from an `eventually` check: the condition can no longer come true (the process it waits on exited), so stop polling now. */
export class GiveUp extends Error {}

/**
 * Polls until check() returns a truthy value; for state that is not a message
 * (what a display shows, a port listening). A check that throws is retried,
 * unless it throws GiveUp.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition', everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v) return v
      last = v
    } catch (err) {
      if (err instanceof GiveUp) throw err
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
    await letTimePass(everyMs, 'between two polls of the condition')
  }
}

let seq = 0
/** A command payload as central would send it: fresh id, expiry a minute ahead. */
export function command(args: Record<string, unknown>, opts: { id?: string; expiresInMs?: number } = {}): Record<string, unknown> {
  return { id: opts.id ?? `test-cmd-${process.pid}-${seq++}`, expires: new Date(Date.now() + (opts.expiresInMs ?? 60_000)).toISOString(), ...args }
}

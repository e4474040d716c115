/**
 * One load generator for every broker the benches compare: a hall's worth of
 * publishers, each keeping a window of QoS 1 publishes in flight (the next one
 * goes as soon as a PUBACK frees a slot, as a board's link does), plus one QoS 1
 * subscriber reading the whole hall. Publishers send contract-valid events, so
 * the hub accepts, validates and keeps every one of them.
 */
import type { MqttClient } from 'mqtt'
import { eventExamples } from '../../../edge/protocol/index.ts'
import { connectPlain } from './net.ts'
import { summarize, sleep, round, type Summary } from './stats.ts'

export interface LoadTarget {
  port: number
  hall: string
  publishers: Array<{ username: string; password: string; counter: string }>
  subscriber: { username: string; password: string } | null
}

export interface LoadOptions {
  /** QoS 1 publishes each publisher keeps in flight. */
  window: number
  warmupMs: number
  measureMs: number
  /** Called once the measured window starts and once it ends (to read CPU meters, start profiles). */
  onMeasure?: (phase: 'start' | 'end') => void | Promise<void>
}

export interface LoadResult {
  /** PUBACKs received per second: messages the broker took responsibility for. */
  ackedPerS: number
  /** Messages the subscriber received per second. */
  deliveredPerS: number
  /** publish → PUBACK, ms. */
  ackMs: Summary
  payloadBytes: number
  failed: number
}

/** A board's event with a fresh envelope: what the hub's schema check accepts. */
function eventPayload(counter: string, boot: string, seq: number): Buffer {
  const e = eventExamples.evaluated
  return Buffer.from(JSON.stringify({ ...e, id: `${counter}-${boot}-${seq}`, boot, seq, ts: new Date().toISOString() }))
}

export async function runLoad(t: LoadTarget, o: LoadOptions): Promise<LoadResult> {
  const clients: MqttClient[] = []
  let running = true
  let measuring = false
  let acked = 0
  let delivered = 0
  let failed = 0
  const ackSamples: number[] = []
  let payloadBytes = 0
  try {
    let sub: MqttClient | null = null
    if (t.subscriber) {
      sub = await connectPlain(t.port, { clientId: `${t.subscriber.username}-load`, username: t.subscriber.username, password: t.subscriber.password, clean: true })
      clients.push(sub)
      sub.on('message', () => {
        if (measuring) delivered++
      })
      await sub.subscribeAsync(`hall/${t.hall}/counter/+/event/+`, { qos: 1 })
    }
    const pubs: Array<{ client: MqttClient; counter: string }> = []
    for (let i = 0; i < t.publishers.length; i += 10) {
      const batch = t.publishers.slice(i, i + 10)
      const connected = await Promise.all(
        batch.map(async (p) => ({ client: await connectPlain(t.port, { clientId: p.username, username: p.username, password: p.password, clean: true }), counter: p.counter })),
      )
      clients.push(...connected.map((c) => c.client))
      pubs.push(...connected)
    }
    const boot = Date.now().toString(36)
    const loops = pubs.map(({ client, counter }) => {
      const topic = `hall/${t.hall}/counter/${counter}/event/evaluated`
      let seq = 0
      return new Promise<void>((done) => {
        let inFlight = 0
        const sendOne = () => {
          if (!running) {
            if (inFlight === 0) done()
            return
          }
          const payload = eventPayload(counter, boot, seq++)
          payloadBytes = payload.length
          const t0 = performance.now()
          const counted = measuring
          inFlight++
          client.publish(topic, payload, { qos: 1 }, (err) => {
            inFlight--
            if (err) failed++
            else if (counted && measuring) {
              acked++
              if (acked % 16 === 0) ackSamples.push(performance.now() - t0)
            }
            sendOne()
          })
        }
        for (let k = 0; k < o.window; k++) sendOne()
      })
    })
    await sleep(o.warmupMs)
    await o.onMeasure?.('start')
    measuring = true
    const m0 = performance.now()
    await sleep(o.measureMs)
    measuring = false
    const wallS = (performance.now() - m0) / 1000
    await o.onMeasure?.('end')
    running = false
    await Promise.race([Promise.all(loops), sleep(10_000)])
    return {
      ackedPerS: round(acked / wallS, 0),
      deliveredPerS: round(delivered / wallS, 0),
      ackMs: summarize(ackSamples),
      payloadBytes,
      failed,
    }
  } finally {
    running = false
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})))
  }
}

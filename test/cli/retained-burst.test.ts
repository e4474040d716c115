import { describe, it, expect, afterEach } from 'vitest'
import { createServer, type Server } from 'node:net'
import { once } from 'node:events'
import { Aedes } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { retainedBurst } from '../../cli/retained-burst.ts'
import { letTimePass } from '../support/pace.ts'

/** A real broker and two real clients: the burst is what mqtt.js hands the CLI. */
describe('retainedBurst', () => {
  let broker: Aedes | undefined
  let server: Server | undefined
  const clients: MqttClient[] = []

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true)
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
    await new Promise<void>((r) => (broker ? broker.close(() => r()) : r()))
  })

  async function start(): Promise<{ reader: MqttClient; writer: MqttClient }> {
    broker = await Aedes.createBroker()
    server = createServer((s) => {
      s.setNoDelay(true)
      broker!.handle(s)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as { port: number }).port
    const connect = async () => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })
      clients.push(c)
      return c
    }
    return { reader: await connect(), writer: await connect() }
  }

  it('lasts until the messages stop for the quiet period, however long they keep coming', async () => {
    const { reader, writer } = await start()
    await reader.subscribeAsync('hall/#', { qos: 1 })
    const seen: string[] = []
    reader.on('message', (topic) => seen.push(topic))
    const QUIET_MS = 1_000
    const burst = retainedBurst(reader, QUIET_MS, (topic) => topic.startsWith('hall/'))
    let settledAfter = -1
    void burst.settled.then(() => (settledAfter = seen.length))
    // Twelve messages 100 ms apart: the burst outlasts one quiet period, as a big hall's does on a slow hub.
    for (let i = 0; i < 12; i++) {
      await writer.publishAsync(`hall/w${i}`, 'x', { qos: 1 })
      await letTimePass(100, 'a burst that outlasts one quiet period')
    }
    await burst.settled
    expect(settledAfter).toBe(12)
    expect(seen.filter((t) => t.startsWith('hall/'))).toHaveLength(12)
  })

  it('end() closes it at once and leaves no listener on the client', async () => {
    const { reader } = await start()
    const before = reader.listenerCount('message')
    const burst = retainedBurst(reader, 60_000, () => true)
    expect(reader.listenerCount('message')).toBe(before + 1)
    burst.end()
    await burst.settled
    expect(reader.listenerCount('message')).toBe(before)
  })
})

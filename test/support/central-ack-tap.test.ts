import { describe, it, expect, afterEach } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import { Central } from '../hub/support/central.ts'
import { CentralAckTap } from './central-ack-tap.ts'
import { FaultProxy } from './fault-proxy.ts'
import { eventually } from './probe.ts'

/**
 * The tap decides which losses the fault-injection proof counts as central's,
 * so it must write down an acknowledgement only when central's broker sent it.
 */
const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {})
})

async function rig(): Promise<{ central: Central; tap: CentralAckTap; client: MqttClient }> {
  const central = await Central.start()
  cleanup.push(() => central.dispose())
  const tap = new CentralAckTap()
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: central.port }, observe: tap.observe })
  cleanup.push(() => proxy.close())
  const client = await mqtt.connectAsync(proxy.url, { clientId: 'tap-test', reconnectPeriod: 0 })
  cleanup.push(() => client.endAsync(true))
  return { central, tap, client }
}

const body = (id: string) => JSON.stringify({ id, ts: new Date().toISOString(), seq: 1 })

describe('CentralAckTap', () => {
  it("writes down each QoS 1 message's id when central acknowledges it, and nothing for QoS 0", async () => {
    const { tap, client } = await rig()
    for (let i = 0; i < 50; i++) await client.publishAsync(`hall/h1/counter/w01/event/evaluated`, body(`e-${i}`), { qos: 1 })
    await client.publishAsync('hall/h1/counter/w01/telemetry', body('live-0'), { qos: 0 })
    await client.publishAsync('x/not-json', 'plain text', { qos: 1 })
    expect([...tap.ackedAt.keys()]).toEqual(Array.from({ length: 50 }, (_, i) => `e-${i}`))
    expect(tap.errors).toEqual([])
  })

  it('writes down nothing while central holds the acknowledgement back', async () => {
    const { central, tap, client } = await rig()
    central.freeze(true)
    const sent = client.publishAsync('hall/h1/counter/w01/event/evaluated', body('held'), { qos: 1 })
    // Past the tap on its way to central, which is stopped and so cannot acknowledge it.
    await eventually(() => tap.sent.has('held'), 5_000, 'the publish to pass the tap')
    expect(tap.ackedAt.has('held')).toBe(false)
    central.freeze(false)
    await sent
    expect(tap.ackedAt.has('held')).toBe(true)
  })
})

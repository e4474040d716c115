import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { Aedes } from 'aedes'
import { Redis } from 'ioredis'
import { HallTotals } from '../../hub/hall-totals.ts'
import { topics } from '../../edge/protocol/index.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startRedis, type RunningRedis } from '../support/redis.ts'
import { eventually } from '../support/probe.ts'
import { boardEvent } from './support/hub-fixture.ts'

let redis: RunningRedis
const conns: Redis[] = []

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  for (const c of conns) c.disconnect()
  await redis?.stop()
})

function publish(aedes: Aedes, topic: string, message: unknown): Promise<void> {
  return new Promise((resolve, reject) =>
    aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(message)), qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
  )
}

describe('hall totals (Redis)', () => {
  it("a transfer ends the window's part of the service: the hall counts it transferred, once however often it comes", async () => {
    // The simulated hall's central got service-transferred events while counter_edge_hall_services_total had no transferred at all.
    const r = new Redis(redis.url, { keyPrefix: 'totals-test:h1:' })
    r.on('error', () => {})
    conns.push(r)
    const aedes = await Aedes.createBroker()
    const totals = new HallTotals({ hall: 'h1', aedes, redis: r, log: silentLogger() })
    await totals.start()
    try {
      const transferred = boardEvent('service-transferred', 'boot-a', 9)
      await publish(aedes, topics.event('h1', 'w01', 'service-transferred'), transferred)
      await publish(aedes, topics.event('h1', 'w01', 'service-transferred'), transferred)
      // The barrier: a finished service after them, counted in order behind them.
      await publish(aedes, topics.event('h1', 'w01', 'service-finished'), boardEvent('service-finished', 'boot-a', 10))
      const snap = await eventually(
        async () => {
          await totals.read()
          return totals.snapshot?.served.w01?.served === 1 ? totals.snapshot : null
        },
        5000,
        'the finished service counted',
      )
      expect(snap!.served.w01).toEqual({ served: 1, transferred: 1 })
    } finally {
      await totals.stop()
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
    }
  })
})

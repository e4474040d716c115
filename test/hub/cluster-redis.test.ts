import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { Redis } from 'ioredis'
import { RedisCustodyLog } from '../../hub/redis-custody.ts'
import { BridgeLease } from '../../hub/bridge-lease.ts'
import { startRedis, type RunningRedis } from '../support/redis.ts'
import { eventually } from '../support/probe.ts'
import { CapturedLog, startTestHub, user } from './support/hub-fixture.ts'
import { letTimePass } from '../support/pace.ts'

/** The cluster's shared pieces against a real redis-server: the custody stream and the bridge lease. */

let redis: RunningRedis
const conns: Redis[] = []
const conn = (prefix: string | null = 'test:h1:') => {
  const r = new Redis(redis.url, prefix ? { keyPrefix: prefix } : {})
  r.on('error', () => {})
  conns.push(r)
  return r
}

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  for (const c of conns) c.disconnect()
  await redis?.stop()
})

function custody(prefix: string, log = new CapturedLog()) {
  return new RedisCustodyLog({ redis: conn(prefix), subscriber: conn(prefix), channel: `${prefix}custody`, log: log.logger, pollMs: 200, deleteDelayMs: 10 })
}

const msg = (i: number) => ({ topic: `hall/h1/counter/w01/event/called`, payload: Buffer.from(`{"n":${i}}`), qos: 1 as const, retain: false })

describe('shared custody log (Redis stream)', () => {
  it('two nodes append at once: one order, seqs without gaps, each record once', async () => {
    const a = custody('c1:')
    const b = custody('c1:')
    await a.start()
    await b.start()
    const seqs = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? a : b).append(msg(i))))
    expect(new Set(seqs).size).toBe(400)
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
    const all = [...(await a.next(0, 300)), ...(await a.next(300, 300))]
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
    // What a node appended is found under the seq it was given.
    const bySeq = new Map(all.map((r) => [r.seq, JSON.parse(r.payload.toString()).n as number]))
    seqs.forEach((seq, i) => expect(bySeq.get(seq)).toBe(i))
    expect(all[0]).toMatchObject({ topic: 'hall/h1/counter/w01/event/called', qos: 1, retain: false })
    await a.stop()
    await b.stop()
  })

  it("tells the other node's bridge at once, and acknowledged records leave for every node", async () => {
    const writer = custody('c2:')
    const bridge = custody('c2:')
    await writer.start()
    await bridge.start()
    let told = 0
    bridge.onAppended(() => told++)
    const seq = await writer.append(msg(1))
    await eventually(() => told > 0, 2000, 'the append notice on the other node')
    expect((await bridge.next(0, 10)).map((r) => r.seq)).toEqual([seq])
    await eventually(() => bridge.size === 1, 2000, 'the backlog count')
    bridge.ack(seq)
    await eventually(async () => (await writer.next(0, 10)).length === 0, 2000, 'the record deleted')
    await eventually(() => writer.size === 0, 2000, 'the backlog count on the writer')
    await writer.stop()
    await bridge.stop()
  })

  it('with minReplicas, an append counts only once a replica has it (Redis WAIT)', async () => {
    const replica = await startRedis(['--replicaof', '127.0.0.1', String(redis.port)])
    try {
      const atReplica = new Redis(replica.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
      atReplica.on('error', () => {})
      conns.push(atReplica)
      await eventually(async () => /master_link_status:up/.test(await atReplica.info('replication')), 10_000, 'the replica in sync')
      const one = new RedisCustodyLog({ redis: conn('c4:'), subscriber: conn('c4:'), channel: 'c4:custody', log: new CapturedLog().logger, minReplicas: 1 })
      const two = new RedisCustodyLog({ redis: conn('c4:'), subscriber: conn('c4:'), channel: 'c4:custody', log: new CapturedLog().logger, minReplicas: 2, waitTimeoutMs: 200 })
      await one.start()
      await two.start()
      expect(await one.append(msg(1))).toBe(1)
      await expect(two.append(msg(2))).rejects.toThrow(/only 1 of 2 Redis replicas/)
      await one.stop()
      await two.stop()
    } finally {
      await replica.stop()
    }
  })

  it('seqs go on after the counter key was lost', async () => {
    const a = custody('c3:')
    await a.start()
    await a.append(msg(1))
    const last = await a.append(msg(2))
    await conn('c3:').del('custody:seq')
    expect(await a.append(msg(3))).toBe(last + 1)
    await a.stop()
  })
})

describe('bridge lease', () => {
  function lease(holder: string, events: string[], ttlMs = 600) {
    return new BridgeLease({
      redis: conn(),
      key: `lease-${ttlMs}`,
      holder,
      ttlMs,
      log: new CapturedLog().logger,
      onAcquired: () => void events.push(`${holder}+ ${performance.now()}`),
      onLost: (reason) => void events.push(`${holder}- ${performance.now()} ${reason}`),
    })
  }

  it('one holder at a time; a clean stop hands it over at once', async () => {
    const events: string[] = []
    const a = lease('a', events)
    const b = lease('b', events)
    a.start()
    await eventually(() => a.held, 2000, 'a to hold the lease')
    b.start()
    // Real time on purpose: the lease expires in Redis (PX), which no fake timer moves.
    await letTimePass(1500, 'a renews for more than two lifetimes; b never gets it')
    expect(b.held).toBe(false)
    const stoppedAt = performance.now()
    await a.stop()
    await eventually(() => b.held, 1000, 'b to take over')
    expect(performance.now() - stoppedAt).toBeLessThan(600) // within b's next try, not after the lease would have expired
    expect(events.map((e) => e.split(' ')[0])).toEqual(['a+', 'a-', 'b+'])
    await b.stop()
  })

  it('a holder that cannot reach Redis stops bridging before anyone else can start', async () => {
    const events: string[] = []
    const a = lease('a', events, 1000)
    const b = lease('b', events, 1000)
    a.start()
    await eventually(() => a.held, 2000, 'a to hold the lease')
    b.start()
    // Redis stops answering everyone for 2.5 s: a cannot renew, b cannot take the lease yet.
    await conn(null).call('CLIENT', 'PAUSE', '2500', 'ALL')
    await eventually(() => !a.held, 2000, 'a to fence itself')
    await eventually(() => b.held, 5000, 'b to take over after the pause')
    const at = (p: string) => Number(events.find((e) => e.startsWith(p))!.split(' ')[1])
    expect(at('a-')).toBeLessThan(at('b+'))
    expect(events.find((e) => e.startsWith('a-'))).toContain('lease not renewed in time')
    await a.stop()
    await b.stop()
  })

  it('a holder whose lease was taken away lets go at its next renewal', async () => {
    const events: string[] = []
    const a = lease('a', events, 900)
    a.start()
    await eventually(() => a.held, 2000, 'a to hold the lease')
    await conn().set('lease-900', 'intruder', 'PX', 5000)
    await eventually(() => !a.held, 1000, 'a to let go')
    expect(events.at(-1)).toContain('another node holds the lease')
    await a.stop()
  })
})

describe('a node refuses a Redis that would lose acknowledged messages (issue 26)', () => {
  const board = user('board', 'h9', 'w01')
  const node = (url: string, extra: Record<string, unknown> = {}) =>
    startTestHub([board], { hall: 'h9', node: 'n1', redis: { url, ...extra }, upstream: { url: 'mqtt://127.0.0.1:1' } })

  it('refuses by default, saying why in Chinese and English; starts when told the loss is accepted', async () => {
    const volatile = await startRedis([], { volatile: true })
    try {
      await expect(node(volatile.url)).rejects.toThrow(/Redis 会丢失已确认的数据（appendonly no.*Redis would lose acknowledged data \(appendonly no.*allowVolatileRedis/)
      const allowed = await node(volatile.url, { allowVolatileRedis: true })
      try {
        expect(allowed.log.text()).toMatch(/Redis 可能丢失已确认的消息（已允许）/)
      } finally {
        await allowed.stop()
      }
    } finally {
      await volatile.stop()
    }
  })

  it('refuses appendfsync everysec: a power cut would lose the last second', async () => {
    const everysec = await startRedis(['--appendfsync', 'everysec'])
    try {
      await expect(node(everysec.url)).rejects.toThrow(/appendfsync everysec.*power cut/)
    } finally {
      await everysec.stop()
    }
  })

  it('starts on the durable Redis the tests run', async () => {
    const hub = await node(redis.url, { prefix: 'durable:' })
    await hub.stop()
  })

  it('a Redis that refuses CONFIG needs the operator to declare it durable', async () => {
    const hidden = await startRedis(['--rename-command', 'CONFIG', '""'])
    try {
      await expect(node(hidden.url)).rejects.toThrow(/CONFIG 被拒绝.*redis\.declaredDurable: true/)
      const declared = await node(hidden.url, { declaredDurable: true })
      await declared.stop()
    } finally {
      await hidden.stop()
    }
  })
})

import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import { Redis } from 'ioredis'
import type { Logger } from '../edge/shared/logger.ts'
import type { AsyncPersistence } from './session-store.ts'
import { RedisCustodyLog } from './redis-custody.ts'
import { BridgeLease } from './bridge-lease.ts'
import { judgeRedisDurability } from './redis-durability.ts'
import { HallTotals } from './hall-totals.ts'
import { ClusterHealth } from './cluster-health.ts'
import type { Aedes } from 'aedes'
import type { z } from 'zod'
import type { redisSchema } from './config.ts'
import { noUnhandledRejections } from './unawaited-redis-commands.ts'

/** A hall's hub cluster: its nodes share one Redis. */
/** The `redis` section of the hub's config: its schema (hub/config.ts) is the one declaration. */
export type RedisConfig = z.output<typeof redisSchema>

interface ClientRef {
  id: string
}

// CommonJS packages; their async classes have no types we can use.
const require = createRequire(import.meta.url)
const RedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (opts: { conn: Redis }) => AsyncPersistence
const { MQEmitterRedisPrefix } = require('mqemitter-redis') as { MQEmitterRedisPrefix: new (prefix: string, opts: Record<string, unknown>) => MqEmitter }

interface MqEmitter {
  close(cb: () => void): void
  state: { on(event: 'error', cb: (err: Error) => void): void }
  /** Channel → listeners: mqemitter-redis's own record of what it believes Redis has subscribed. */
  _topics: Record<string, number>
}

/**
 * mqemitter-redis counts a topic as subscribed as soon as it sends SUBSCRIBE and ignores the
 * answer: one that fails while Redis is away (ioredis gives up after maxRetriesPerRequest) is
 * never sent again, since ioredis resubscribes only what Redis confirmed and mqemitter-redis
 * subscribes a topic only once. A board connecting during the outage could then hold a session
 * whose commands never reached it through the bus: silence until it reconnected (issue 26;
 * test/e2e/hub-cluster-command-store-fail.test.ts). Each time the connection is ready
 * again, every topic it counts is subscribed again (SUBSCRIBE of a subscribed channel is a no-op).
 */
function resubscribeWhenBack(busSub: Redis, mq: MqEmitter, log: Logger): void {
  busSub.on('ready', () => {
    for (const [channel, listeners] of Object.entries(mq._topics)) {
      if (listeners <= 0) continue
      const done = channel.includes('*') ? busSub.psubscribe(channel) : busSub.subscribe(channel)
      done.catch((err: Error) => log.warn({ channel, err: err.message }, 'could not subscribe the message bus again; tried at the next reconnect'))
    }
  })
}

/**
 * aedes-persistence-redis keeps a will per (broker, client). A board that
 * moves from a node that died to another leaves its old will behind, and the
 * survivors would publish it once the dead node stops heartbeating: an
 * offline status, with the board's current boot, for a board that is online.
 * So the cluster remembers which broker holds each client's will, and a new
 * will removes the one at any other broker first.
 */
function willOwnership(persistence: AsyncPersistence, db: Redis, brokerId: () => string): AsyncPersistence {
  // Aedes awaits delWill inside will batches whose rejections it leaves unhandled: a failure here leaves
  // the will stored (published again on the next round, a duplicate status consumers drop by id).
  const delWill = persistence.delWill.bind(persistence)
  persistence.delWill = async (client: ClientRef) => delWill(client).catch(() => null)
  const putWill = persistence.putWill.bind(persistence)
  persistence.putWill = async (client: ClientRef, packet: unknown) => {
    const previous = await db.set(`willowner:${encodeURIComponent(client.id)}`, brokerId(), 'GET')
    if (previous && previous !== brokerId()) await persistence.delWill({ id: client.id, brokerId: previous } as ClientRef)
    await putWill(client, packet)
  }
  return persistence
}

/**
 * aedes-persistence-redis 12 returns async generators where Aedes 1.2 pipes
 * Node streams (retained messages on SUBSCRIBE, a session's queue on
 * CONNECT): without this, the first SUBSCRIBE throws in Aedes.
 */
function streamsForAedes(persistence: AsyncPersistence): AsyncPersistence {
  for (const name of ['createRetainedStream', 'createRetainedStreamCombi', 'outgoingStream', 'streamWill', 'getClientList'] as const) {
    const original = (persistence[name] as (...args: unknown[]) => unknown).bind(persistence)
    ;(persistence as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const out = original(...args)
      return out instanceof Readable ? out : Readable.from(out as AsyncIterable<unknown>)
    }
  }
  return persistence
}

const LEASE_KEY = 'bridge-lease'


export interface HallCluster {
  readonly prefix: string
  /** Messages between the nodes (mqemitter-redis), for Aedes's `mq`. */
  readonly mq: unknown
  /** Sessions, subscriptions, retained messages and wills (aedes-persistence-redis 12). */
  readonly persistence: AsyncPersistence
  /** Unacknowledged QoS 1 messages queued for a client, counted in Redis (every node enqueues, any node clears). */
  countQueued(clientId: string): Promise<number>
  /** The hall's shared custody log. */
  custody(log: Logger): RedisCustodyLog
  /** The hall's bridge lease, held by the given holder. */
  lease(opts: Omit<ConstructorParameters<typeof BridgeLease>[0], 'redis' | 'key' | 'ttlMs'>): BridgeLease
  /** The hall's ratings and services, counted in Redis. */
  totals(aedes: Aedes, log: Logger): HallTotals
  /** This node's probe of Redis, the lease holder and the totals, for /metrics. */
  health(opts: { leaseHeld: () => boolean; self: { node: string | null; boards: () => number }; totals: HallTotals; log: Logger }): ClusterHealth
  stop(): Promise<void>
}

/** Opens this node's five connections to the hall's Redis: two for messages, one for sessions, two for custody and the lease. */
export async function openHallCluster(config: RedisConfig, hall: string, brokerId: string, log: Logger): Promise<HallCluster> {
  const prefix = config.prefix ?? `counter-edge:${hall}:`
  const opened: Redis[] = []
  const connect = (name: string, keyed: boolean) => {
    const r = new Redis(config.url, { ...(keyed ? { keyPrefix: prefix } : {}), connectionName: `${brokerId}-${name}`, lazyConnect: true, maxRetriesPerRequest: 3 })
    // ioredis reconnects by itself; the errors would otherwise be unhandled events.
    let logged = 0
    r.on('error', (err: Error) => {
      if (logged++ < 3) log.warn({ redis: name, err: err.message }, 'Redis connection error')
    })
    r.on('ready', () => (logged = 0))
    opened.push(r)
    return r
  }
  const sessions = connect('sessions', true)
  const commands = connect('custody', true)
  const notices = connect('notices', false)
  const busSub = connect('bus-sub', false)
  const busPub = connect('bus-pub', false)
  try {
    // Connected and ready before mqemitter-redis subscribes: a SUBSCRIBE sent while ioredis
    // still runs its ready check (INFO) turns the ready check into an error, and that
    // connection's subscriptions were then lost (seen as commands that never reached a board).
    await Promise.all(opened.map((r) => r.connect()))
  } catch (err) {
    for (const r of opened) r.disconnect()
    throw new Error(`cannot reach Redis at ${redactUrl(config.url)}: ${(err as Error).message}`)
  }
  // Refused before anything is acknowledged into it: a Redis that would lose what the hub acknowledges.
  const verdict = await judgeRedisDurability(commands, config).catch((err: Error) => ({ ok: false as const, reason: `cannot read the Redis persistence settings: ${err.message}` }))
  if (!verdict.ok) {
    for (const r of opened) r.disconnect()
    throw new Error(verdict.reason)
  }
  if (verdict.warning) log.warn({ settings: verdict.settings }, `Redis 可能丢失已确认的消息（已允许）/ ${verdict.warning}`)
  else log.info({ settings: verdict.settings, how: verdict.how }, 'Redis keeps what the hub acknowledges')
  // A Redis that comes back may be another one, or the same restarted with other settings: judged again
  // on every reconnect, and until it passes no custody write is acknowledged (the boards keep their messages).
  let notDurable: string | null = null
  commands.on('close', () => {
    notDurable ??= 'Redis 连接中断，重连后需重新检查持久化 / Redis connection lost; its persistence is checked again on reconnect'
  })
  let stopped = false
  const recheck = (): void => {
    if (stopped) return
    judgeRedisDurability(commands, config).then(
      (v) => {
        if (v.ok) {
          if (notDurable) log.info({ settings: v.settings }, 'Redis back and durable: custody writes resume')
          notDurable = null
        } else {
          notDurable = v.reason
          log.error({ reason: v.reason }, 'Redis came back without the persistence the hub needs: board messages are refused until it has it')
        }
      },
      (err: Error) => {
        log.warn({ err: err.message }, 'could not check the Redis persistence after a reconnect; trying again in a second')
        setTimeout(recheck, 1_000).unref()
      },
    )
  }
  commands.on('ready', recheck)
  const mq = new MQEmitterRedisPrefix(prefix, { subConn: noUnhandledRejections(busSub, ['quit']), pubConn: noUnhandledRejections(busPub, ['quit']) })
  mq.state.on('error', (err) => log.warn({ err: err.message }, 'Redis message bus error'))
  resubscribeWhenBack(busSub, mq, log)
  const persistence = willOwnership(streamsForAedes(new RedisPersistence({ conn: noUnhandledRejections(sessions, ['lrem', 'rpush']) })), sessions, () => brokerId)
  let custody: RedisCustodyLog | null = null
  return {
    prefix,
    mq,
    persistence,
    countQueued: (clientId) => sessions.llen(`outgoing:${encodeURIComponent(clientId)}`),
    custody(custodyLog) {
      custody ??= new RedisCustodyLog({
        redis: commands,
        subscriber: notices,
        channel: `${prefix}custody`,
        log: custodyLog,
        refusal: () => notDurable,
        ...(config.minReplicas ? { minReplicas: config.minReplicas } : {}),
      })
      return custody
    },
    lease(opts) {
      return new BridgeLease({ ...opts, redis: commands, key: LEASE_KEY, ttlMs: config.leaseMs ?? 10_000 })
    },
    totals(aedes, totalsLog) {
      return new HallTotals({ hall, aedes, redis: commands, log: totalsLog })
    },
    health(opts) {
      return new ClusterHealth({ ...opts, self: { ...opts.self, id: brokerId }, redis: commands, leaseKey: LEASE_KEY })
    },
    async stop() {
      stopped = true
      // Aedes has closed the message bus and the persistence its connection by now, unless Redis is
      // gone and they could not: then every connection is cut here, so the process can exit.
      await Promise.race([Promise.all([commands, notices].map((r) => r.quit().catch(() => {}))), new Promise((r) => setTimeout(r, 1_000))])
      for (const r of opened) r.disconnect()
    },
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    u.password = ''
    u.username = ''
    return u.toString()
  } catch {
    return 'invalid-url'
  }
}

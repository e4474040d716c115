import type { Redis } from 'ioredis'

/**
 * What a hall cluster needs of its Redis before it acknowledges a board's
 * message there: a write on disk before Redis answers (`appendonly yes`,
 * `appendfsync always`). The custody log PUBACKs once Redis has the record, so a
 * Redis that keeps it only in memory loses acknowledged events on a restart
 * (issue 26: a kill -9 of the lease holder then of Redis lost 9 events and 5
 * replies). `everysec` is refused too: Redis writes the AOF before it answers, so
 * a crash of the Redis process alone loses nothing, but a power cut or a kernel
 * crash loses up to the last second of acknowledged records, and the hub's own
 * single-node custody log does not allow that.
 */
export interface RedisDurabilityPolicy {
  /** Start (and go on) on a Redis that would lose acknowledged data: the operator accepts the loss. */
  allowVolatileRedis?: boolean | undefined
  /**
   * The Redis refuses CONFIG (renamed away, a managed service): the operator states it runs
   * `appendonly yes` and `appendfsync always`, since the hub cannot read it.
   */
  declaredDurable?: boolean | undefined
}

export type DurabilityVerdict =
  | { ok: true; how: 'checked' | 'declared' | 'allowed-volatile'; settings: string; warning?: string }
  | { ok: false; reason: string }

const FIX_EN = 'run Redis with appendonly yes and appendfsync always, or set redis.allowVolatileRedis: true in the hub config to accept that loss'
const FIX_ZH = '请以 appendonly yes、appendfsync always 运行 Redis，或在集群配置中设 redis.allowVolatileRedis: true 表示接受丢失'

/** Reads the persistence settings and judges them against the policy. Throws only when Redis cannot be reached. */
export async function judgeRedisDurability(redis: Redis, policy: RedisDurabilityPolicy): Promise<DurabilityVerdict> {
  let appendonly: string | null = null
  let appendfsync: string | null = null
  let configRefused: string | null = null
  try {
    const pairs = (await redis.config('GET', 'append*')) as string[]
    const map = new Map<string, string>()
    for (let i = 0; i + 1 < pairs.length; i += 2) map.set(pairs[i]!, pairs[i + 1]!)
    appendonly = map.get('appendonly') ?? null
    appendfsync = map.get('appendfsync') ?? null
  } catch (err) {
    // A Redis that is not there is the caller's to report; only a command Redis answered with a refusal is judged here.
    if ((err as Error).name !== 'ReplyError') throw err
    configRefused = (err as Error).message
  }
  if (configRefused !== null) {
    if (policy.declaredDurable) return { ok: true, how: 'declared', settings: 'CONFIG refused; declared durable (redis.declaredDurable)' }
    if (policy.allowVolatileRedis) return { ok: true, how: 'allowed-volatile', settings: 'CONFIG refused', warning: 'Redis persistence unknown (CONFIG refused); allowVolatileRedis accepts any loss' }
    return {
      ok: false,
      reason:
        `无法读取 Redis 持久化设置（CONFIG 被拒绝：${configRefused}）；若其以 appendonly yes、appendfsync always 运行，请设 redis.declaredDurable: true，` +
        `或设 redis.allowVolatileRedis: true 接受丢失 / ` +
        `cannot read the Redis persistence settings (CONFIG refused: ${configRefused}); if it runs appendonly yes and appendfsync always set redis.declaredDurable: true, ` +
        `or set redis.allowVolatileRedis: true to accept losing acknowledged messages`,
    }
  }
  const settings = `appendonly ${appendonly ?? '?'}, appendfsync ${appendfsync ?? '?'}`
  const durable = appendonly === 'yes' && appendfsync === 'always'
  if (durable) return { ok: true, how: 'checked', settings }
  const loss =
    appendonly !== 'yes'
      ? { zh: 'Redis 重启即丢失全部已确认的消息', en: 'a Redis restart loses every acknowledged message it holds' }
      : { zh: '断电或系统崩溃会丢失最近约 1 秒已确认的消息', en: 'a power cut or kernel crash loses up to the last second of acknowledged messages' }
  if (policy.allowVolatileRedis) return { ok: true, how: 'allowed-volatile', settings, warning: `${settings}: ${loss.en} (allowVolatileRedis)` }
  return {
    ok: false,
    reason: `Redis 会丢失已确认的数据（${settings}）：${loss.zh}；${FIX_ZH} / Redis would lose acknowledged data (${settings}): ${loss.en}; ${FIX_EN}`,
  }
}

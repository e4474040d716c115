import type { Redis } from 'ioredis'
import type { Logger } from '../edge/shared/logger.ts'
import { SerialQueue } from '../edge/shared/serial-queue.ts'

export interface BridgeLeaseOptions {
  redis: Redis
  /** The lease key (under the hall's key prefix). */
  key: string
  /** Who holds it: this node's broker id, new on every run, so a restarted node never believes it still holds its old lease. */
  holder: string
  /** How long a lease lasts without renewal: the longest central may go without a bridge after a node dies. */
  ttlMs: number
  log: Logger
  /** Called once the lease is ours: start bridging. */
  onAcquired: (epoch: number) => Promise<void> | void
  /** Called when the lease is, or may be, no longer ours: stop bridging before anyone else can start. */
  onLost: (reason: string) => Promise<void> | void
}

/** Renews only a lease that is still ours. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`
/** Releases only a lease that is still ours. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`

/**
 * One bridge per hall at a time: a lease in Redis (SET NX PX), renewed every
 * third of its lifetime. Fencing is by time, on the holder's side: the holder
 * counts its lease from the moment it *sent* the last successful renewal, so
 * its own deadline always falls before Redis lets the key expire, and it stops
 * bridging at that deadline (less a margin for clock drift and a busy event
 * loop) if no renewal got through, whether Redis said no or did not answer.
 * Only then can another node take the lease. Central adds a second fence: all
 * nodes use the same upstream client id, so a second session there would
 * take over the first rather than run beside it.
 *
 * Each acquisition also bumps an epoch counter, logged and handed to the
 * bridge, so an operator can tell the reigns apart.
 */
export class BridgeLease {
  private holding = false
  private validUntil = 0
  private timer: NodeJS.Timeout | null = null
  private fenceTimer: NodeJS.Timeout | null = null
  private stopped = false
  /** The tick in progress, if any: stop() waits for it. */
  private readonly ticks = new SerialQueue()
  private epoch = 0

  constructor(private readonly opts: BridgeLeaseOptions) {}

  get held(): boolean {
    return this.holding
  }

  get currentEpoch(): number {
    return this.epoch
  }

  private get margin(): number {
    return Math.max(100, Math.round(this.opts.ttlMs * 0.1))
  }

  start(): void {
    this.tick()
  }

  /** Every third of the lease: renew it if held, else try to take it. Ticks never overlap. */
  private tick(): void {
    if (this.stopped) return
    void this.ticks
      .run(() => (this.holding ? this.renew() : this.tryAcquire()))
      .catch((err: Error) => {
        this.opts.log.warn({ err: err.message }, 'bridge lease: Redis did not answer')
      })
      .finally(() => {
        if (this.stopped) return
        this.timer = setTimeout(() => this.tick(), Math.max(50, Math.round(this.opts.ttlMs / 3)))
      })
  }

  private async tryAcquire(): Promise<void> {
    const sentAt = performance.now()
    let ok = (await this.opts.redis.set(this.opts.key, this.opts.holder, 'PX', this.opts.ttlMs, 'NX')) === 'OK'
    // Still ours from before a slow renewal made us let go: take it back rather than wait for it to expire.
    if (!ok) ok = (await this.opts.redis.eval(RENEW, 1, this.opts.key, this.opts.holder, this.opts.ttlMs)) === 1
    if (!ok || this.stopped) return
    this.epoch = await this.opts.redis.incr(`${this.opts.key}:epoch`)
    this.holding = true
    this.extend(sentAt)
    this.opts.log.info({ holder: this.opts.holder, epoch: this.epoch, ttlMs: this.opts.ttlMs }, 'bridge lease acquired: this node bridges the hall to central')
    try {
      await this.opts.onAcquired(this.epoch)
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'bridge lease: the bridge did not start')
      await this.lose('bridge did not start')
      await this.opts.redis.eval(RELEASE, 1, this.opts.key, this.opts.holder).catch(() => {})
    }
  }

  private async renew(): Promise<void> {
    const sentAt = performance.now()
    let ok: unknown
    try {
      ok = await this.opts.redis.eval(RENEW, 1, this.opts.key, this.opts.holder, this.opts.ttlMs)
    } catch (err) {
      // Not fatal yet: the fence timer decides when the lease can no longer be trusted.
      this.opts.log.warn({ err: (err as Error).message }, 'bridge lease: renewal failed')
      return
    }
    if (!this.holding) return
    if (ok === 1) return this.extend(sentAt)
    await this.lose('another node holds the lease')
  }

  private extend(sentAt: number): void {
    this.validUntil = sentAt + this.opts.ttlMs - this.margin
    this.armFence()
  }

  /** Fires at the lease's deadline; a timer that fires a little early (they round to the millisecond) waits again. */
  private armFence(): void {
    if (this.fenceTimer) clearTimeout(this.fenceTimer)
    this.fenceTimer = setTimeout(() => {
      this.fenceTimer = null
      if (!this.holding) return
      if (performance.now() >= this.validUntil) void this.lose('lease not renewed in time')
      else this.armFence()
    }, Math.max(1, Math.ceil(this.validUntil - performance.now())))
  }

  private async lose(reason: string): Promise<void> {
    if (!this.holding) return
    this.holding = false
    if (this.fenceTimer) clearTimeout(this.fenceTimer)
    this.fenceTimer = null
    this.opts.log.warn({ holder: this.opts.holder, epoch: this.epoch, reason }, 'bridge lease lost: this node stops bridging')
    await this.opts.onLost(reason)
  }

  /** Stops bridging, then hands the lease back so another node can take it at once. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.ticks.drain()
    if (!this.holding) return
    this.holding = false
    if (this.fenceTimer) clearTimeout(this.fenceTimer)
    await this.opts.onLost('stop')
    await this.opts.redis.eval(RELEASE, 1, this.opts.key, this.opts.holder).catch((err: Error) => {
      this.opts.log.warn({ err: err.message }, 'could not release the bridge lease; it expires by itself')
    })
  }
}

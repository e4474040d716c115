import { performance } from 'node:perf_hooks'
import type { Logger } from '../shared/logger.ts'
import type { LinkHealth } from '../link/board-link.ts'
import type { Notifier } from './sd-notify.ts'

export interface SupervisedLink {
  linkHealth(): LinkHealth
  readonly backlog: number
}

export interface SupervisorOptions {
  /** Null when not running under a service manager: the self-check still runs and logs. */
  notifier: Notifier | null
  /** How often to feed the watchdog (half of WatchdogSec); null when there is no watchdog. */
  watchdogMs: number | null
  link: SupervisedLink
  log: Logger
  /** A turn of the event loop this late means the runtime is not keeping up (a blocking call, swapping). */
  loopLagLimitMs?: number
  /**
   * The link counts as stuck when it has neither been connected with nothing
   * waiting nor had an entry acknowledged for this long. A restart cannot fix a
   * hub that is down, but it does fix a wedged socket or client, and costs
   * nothing: the journal and the window's state survive it (like ESPHome's
   * reboot_timeout, 15 minutes by default).
   */
  linkStallLimitMs?: number
  /** How often the self-check runs when there is no watchdog to feed. */
  checkMs?: number
}

const LAG_STEP_MS = 100

export interface Verdict {
  healthy: boolean
  reasons: string[]
  status: string
}

/**
 * Tells systemd the runtime is ready, feeds its watchdog while the runtime is
 * healthy, and stops feeding it when it is not, so systemd restarts the
 * process (Restart=always). A loop that is stuck outright cannot feed anything;
 * this catches the slower failures: a loop that lags for seconds, a link that
 * stopped making progress.
 */
export class Supervisor {
  private timer: NodeJS.Timeout | null = null
  private lagTimer: NodeJS.Timeout | null = null
  private lastBeat = performance.now()
  private maxLagMs = 0
  private lastVerdict: boolean | null = null

  constructor(private readonly opts: SupervisorOptions) {
  }

  async ready(): Promise<void> {
    await this.opts.notifier?.notify(['READY=1', `STATUS=${this.check(false).status}`])
  }

  start(): void {
    // A beat every LAG_STEP_MS that arrives late measures how long the loop was held up
    // (perf_hooks' monitorEventLoopDelay, on Node 20, did not see a 400 ms synchronous stall).
    this.lastBeat = performance.now()
    this.lagTimer = setInterval(() => this.beat(), LAG_STEP_MS)
    this.lagTimer.unref?.()
    const every = this.opts.watchdogMs ?? this.opts.checkMs ?? 10_000
    this.timer = setInterval(() => void this.tick(), every)
    this.timer.unref?.()
  }

  /** What the self-check says now; `resetLag` starts a new measuring interval for the loop lag. */
  check(resetLag = true): Verdict {
    const reasons: string[] = []
    if (this.lagTimer) this.beat()
    const lagMs = this.maxLagMs
    if (resetLag) this.maxLagMs = 0
    const lagLimit = this.opts.loopLagLimitMs ?? 5000
    if (lagMs > lagLimit) reasons.push(`event loop lagged ${Math.round(lagMs)} ms (limit ${lagLimit} ms)`)
    const h = this.opts.link.linkHealth()
    const stalledMs = h.stalledMs
    const stallLimit = this.opts.linkStallLimitMs ?? 15 * 60_000
    if (stalledMs > stallLimit) {
      reasons.push(`${h.connected ? 'link not draining' : 'hub unreachable'} for ${Math.round(stalledMs / 1000)} s with ${this.opts.link.backlog} waiting (limit ${Math.round(stallLimit / 1000)} s)`)
    }
    const link = h.connected ? `hub connected${h.rttMs === null ? '' : `, rtt ${h.rttMs.toFixed(1)} ms`}` : 'hub not connected'
    return { healthy: reasons.length === 0, reasons, status: `${link}; journal ${this.opts.link.backlog} waiting` }
  }

  private beat(): void {
    const t = performance.now()
    this.maxLagMs = Math.max(this.maxLagMs, t - this.lastBeat - LAG_STEP_MS)
    this.lastBeat = t
  }

  private async tick(): Promise<void> {
    const v = this.check()
    if (v.healthy !== this.lastVerdict) {
      if (v.healthy) {
        if (this.lastVerdict === false) this.opts.log.info('self-check healthy again; feeding the watchdog')
      } else {
        this.opts.log.error({ reasons: v.reasons }, this.opts.watchdogMs ? 'self-check failed; no longer feeding the watchdog, systemd will restart the runtime' : 'self-check failed')
      }
      this.lastVerdict = v.healthy
    }
    if (!this.opts.notifier) return
    if (v.healthy && this.opts.watchdogMs) await this.opts.notifier.notify(['WATCHDOG=1', `STATUS=${v.status}`])
    else await this.opts.notifier.notify([`STATUS=${v.healthy ? v.status : `unhealthy: ${v.reasons.join('; ')}`}`])
  }

  /** Tells systemd a stop is under way, so the exit that follows is not taken for a crash. */
  async stopping(): Promise<void> {
    await this.opts.notifier?.notify(['STOPPING=1'])
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    if (this.lagTimer) clearInterval(this.lagTimer)
    this.timer = null
    this.lagTimer = null
  }
}

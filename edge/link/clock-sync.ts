import { execFile } from 'node:child_process'
import { access } from 'node:fs/promises'
import type { Logger } from '../shared/logger.ts'
import { plausibleTime } from '../shared/plausible-time.ts'
import type { Clock } from './envelope-stamper.ts'

export interface SyncProbeOptions {
  /** Touched by systemd-timesyncd once it has synchronised the clock (since this boot: /run is a tmpfs). */
  flagFile?: string
  /** Exists when the machine was booted with systemd (sd_booted()). */
  systemdDir?: string
  /** Asks the kernel's view through timedated, so it also covers chrony and ntpd. */
  timedatectl?: string
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

/**
 * Whether the system clock is NTP-synchronised: true, false, or null when
 * this machine cannot tell. Cheap first (a flag file), then timedatectl; too
 * slow to ask per message, so SyncedClock asks once a minute.
 */
export async function probeClockSync(opts: SyncProbeOptions = {}): Promise<boolean | null> {
  if (!plausibleTime(Date.now())) return false
  if (await exists(opts.flagFile ?? '/run/systemd/timesync/synchronized')) return true
  if (!(await exists(opts.systemdDir ?? '/run/systemd/system'))) return null
  return new Promise((resolve) => {
    execFile(opts.timedatectl ?? 'timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 3000 }, (err, stdout) => {
      const answer = err ? '' : stdout.trim()
      resolve(answer === 'yes' ? true : answer === 'no' ? false : null)
    })
  })
}

export interface SyncedClockOptions {
  log: Logger
  probe?: () => Promise<boolean | null>
  /**
   * What to say when the probe cannot tell. A board runs Linux with systemd:
   * there an unknown answer means no NTP client we can see, so the clock is
   * not to be trusted (false). Elsewhere (a laptop or CI running the
   * simulator) we cannot know and say true, as the contract's `synced` is
   * about boards without an RTC.
   */
  fallback?: boolean
  intervalMs?: number
  now?: () => number
}

export function defaultSyncFallback(platform: NodeJS.Platform, bootedWithSystemd: boolean): boolean {
  return !(platform === 'linux' && bootedWithSystemd)
}

/**
 * The wall clock with a cached `synced()` that a timer refreshes: stamping a
 * message must not spawn a process. Order on the wire comes from `seq`, never
 * from `ts`; `synced` tells consumers whether `ts` can be used for durations.
 */
export class SyncedClock implements Clock {
  private state: boolean
  private timer: NodeJS.Timeout | null = null
  private readonly probe: () => Promise<boolean | null>

  constructor(private readonly opts: SyncedClockOptions) {
    this.probe = opts.probe ?? (() => probeClockSync())
    this.state = opts.fallback ?? true
  }

  now(): number {
    return (this.opts.now ?? Date.now)()
  }

  synced(): boolean {
    return this.state
  }

  /** Durations and timeouts on the board run on this, which no wall-clock step moves. */
  monotonic(): number {
    return performance.now()
  }

  /** Takes a first reading before returning, so the birth message already says the truth. */
  async start(): Promise<void> {
    await this.check()
    this.timer = setInterval(() => void this.check(), this.opts.intervalMs ?? 60_000)
    this.timer.unref?.()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private async check(): Promise<void> {
    const answer = await this.probe().catch(() => null)
    const next = answer ?? this.opts.fallback ?? true
    if (next !== this.state) this.opts.log.info({ synced: next, determined: answer !== null }, next ? 'system clock is synchronised' : 'system clock is not synchronised; messages say so')
    this.state = next
  }
}

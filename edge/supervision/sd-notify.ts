import { execFile } from 'node:child_process'
import type { Logger } from '../shared/logger.ts'

/** Where the supervisor tells the service manager how the process is. */
export interface Notifier {
  /** `KEY=value` assignments of sd_notify(3), e.g. READY=1, WATCHDOG=1, STATUS=…; false if they could not be sent. */
  notify(assignments: string[]): Promise<boolean>
}

export interface SystemdNotifierOptions {
  log: Logger
  /** The systemd-notify binary. */
  command?: string
  env?: NodeJS.ProcessEnv
}

/**
 * sd_notify for Node. NOTIFY_SOCKET is a unix datagram socket, which Node
 * cannot send to (node:net is stream-only, node:dgram is UDP-only) without a
 * native addon; so we run systemd-notify(1) for each message. That costs a
 * process spawn per watchdog ping (every WatchdogSec/2: seconds, not
 * milliseconds) and needs two things from the unit:
 *   NotifyAccess=all — the sender is a child, not the main PID;
 *   systemd ≥ 246 — systemd-notify then waits (a barrier) until the manager
 *   has read the message, so it is not dropped after the child exits.
 * Without NOTIFY_SOCKET (not under systemd, or Type=simple) nothing is sent.
 */
export class SystemdNotifier implements Notifier {
  private disabled = false

  private constructor(private readonly opts: SystemdNotifierOptions) {}

  /** A notifier when this process runs under systemd with Type=notify, else null. */
  static fromEnv(opts: SystemdNotifierOptions): SystemdNotifier | null {
    const env = opts.env ?? process.env
    return env.NOTIFY_SOCKET ? new SystemdNotifier(opts) : null
  }

  notify(assignments: string[]): Promise<boolean> {
    if (this.disabled) return Promise.resolve(false)
    return new Promise((resolve) => {
      execFile(this.opts.command ?? 'systemd-notify', assignments, { timeout: 5000, env: this.opts.env ?? process.env }, (err, _stdout, stderr) => {
        if (!err) return resolve(true)
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          // Under systemd but without its tools: readiness and watchdog cannot work, and the unit will time out. Say why, once.
          this.disabled = true
          this.opts.log.error({ command: this.opts.command ?? 'systemd-notify' }, 'NOTIFY_SOCKET is set but systemd-notify is not installed; cannot report readiness or feed the watchdog')
        } else {
          this.opts.log.warn({ err: err.message, stderr: stderr.trim() }, 'systemd-notify failed')
        }
        resolve(false)
      })
    })
  }
}

/**
 * How often to ping the watchdog: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
 * advises; null when systemd set no watchdog for this process.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC)
  if (!Number.isFinite(usec) || usec <= 0) return null
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null
  return Math.max(100, Math.floor(usec / 2000))
}

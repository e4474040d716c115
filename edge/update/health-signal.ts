/**
 * What tells the launcher (edge/update/launcher.ts) a started version works:
 * `{type: 'healthy', version}` over the IPC channel once the link is online
 * and the devices answered (none absent), checked every periodMs until it is
 * true once. The launcher answers `{type: 'confirmed'}` when that confirmed a
 * trial, which the runtime then reports.
 */
export interface LauncherChannel {
  send(message: unknown): void
  onMessage(listener: (message: unknown) => void): () => void
}

export type LauncherMessage = { type: 'healthy'; version: string } | { type: 'confirmed'; version: string }

export interface HealthSignalOptions {
  channel: LauncherChannel
  version: string
  isHealthy: () => boolean
  onConfirmed: () => void
  periodMs?: number
}

export class HealthSignal {
  private timer: NodeJS.Timeout | null = null
  private off: (() => void) | null = null
  private sent = false

  constructor(private readonly opts: HealthSignalOptions) {}

  start(): void {
    this.off = this.opts.channel.onMessage((m) => {
      const msg = m as Partial<LauncherMessage> | null
      if (msg?.type === 'confirmed' && msg.version === this.opts.version) this.opts.onConfirmed()
    })
    this.check()
    if (!this.sent) this.timer = setInterval(() => this.check(), this.opts.periodMs ?? 1000)
  }

  private check(): void {
    if (this.sent || !this.opts.isHealthy()) return
    this.sent = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.opts.channel.send({ type: 'healthy', version: this.opts.version } satisfies LauncherMessage)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.off?.()
    this.off = null
  }
}

/** The IPC channel of a process the launcher started; null when there is none (run by hand, or by the old unit). */
export function processChannel(proc: NodeJS.Process = process): LauncherChannel | null {
  if (!proc.send) return null
  return {
    send: (m) => {
      if (proc.connected) proc.send!(m)
    },
    onMessage: (listener) => {
      proc.on('message', listener)
      // The channel must not keep a stopped runtime alive.
      proc.channel?.unref()
      return () => proc.off('message', listener)
    },
  }
}

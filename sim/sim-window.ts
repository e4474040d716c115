import type { Logger } from '../edge/log/logger.ts'
import type { BoardProfile } from '../boards/profile-schema.ts'
import { startEdge, type RunningEdge } from '../edge/main.ts'
import type { BrokerAddress } from '../edge/link/mqtt-connect.ts'
import { SimWindowHardware } from './window-hardware.ts'

export interface SimWindowOptions {
  hall: string
  counter: string
  profile: BoardProfile
  hub: BrokerAddress[]
  username: string
  password: string
  log: Logger
}

/**
 * One simulated window: the real edge runtime, its real drivers, running on
 * simulated buses whose device models hold what a person would see.
 */
export class SimWindow {
  readonly hardware: SimWindowHardware
  private edge: RunningEdge | null = null

  constructor(private readonly opts: SimWindowOptions) {
    this.hardware = new SimWindowHardware(opts.profile)
  }

  get counter(): string {
    return this.opts.counter
  }

  get running(): RunningEdge | null {
    return this.edge
  }

  keyNames(): string[] {
    return Object.keys(this.opts.profile.keys)
  }

  async start(): Promise<void> {
    this.edge = await startEdge(
      { hall: this.opts.hall, counter: this.opts.counter, hub: this.opts.hub, username: this.opts.username, password: this.opts.password },
      { profile: this.opts.profile, gpio: this.hardware.gpio, bus: this.hardware.bus, log: this.opts.log },
    )
  }

  injectDisplayFault(fault: 'absent' | 'nack-once' | 'none'): void {
    this.hardware.displayFault(fault)
  }

  describe() {
    const s = this.edge?.window.current
    return {
      counter: this.opts.counter,
      online: this.edge?.link.connected ?? false,
      mode: s?.mode ?? null,
      ticket: s?.ticket?.number ?? null,
      officer: s?.officer?.id ?? null,
      evaluationOpen: s?.mode === 'evaluating',
      faults: s?.faults.map((f) => `${f.device}:${f.code}`) ?? [],
      display: this.hardware.view(),
      keys: this.keyNames(),
    }
  }

  async stop(): Promise<void> {
    const edge = this.edge
    this.edge = null
    await edge?.stop()
  }
}

import type { Logger } from '../edge/shared/logger.ts'
import type { BoardProfile } from '../boards/profile-schema.ts'
import { startEdge, type RunningEdge } from '../edge/main.ts'
import type { BrokerAddress } from '../edge/shared/mqtt-connect.ts'
import { SimWindowHardware, type SimDisplayFault, type SimKeyName } from './window-hardware.ts'
import { CaptureModel } from './capture-model.ts'
import type { VideoConfig } from '../edge/devices/video-hooks.ts'
import type { BitmapFont } from '../edge/hardware/bitmap-font.ts'

export interface SimWindowOptions {
  hall: string
  counter: string
  profile: BoardProfile
  hub: BrokerAddress[]
  username: string
  password: string
  log: Logger
  /** Where the window's state survives a restart (a simulated SD card); absent: fresh each start. */
  dataDir?: string
  video?: VideoConfig
  /** The font the simulated pixel screens are read back with; shared across a hall's windows. */
  font?: BitmapFont
}

/**
 * One simulated window: the real edge runtime, its real drivers, running on
 * simulated buses whose device models hold what a person would see.
 */
export class SimWindow {
  readonly hardware: SimWindowHardware
  /** The simulated camera and fingerprint scanner, for the profile's capture lines. */
  readonly captures: Partial<Record<'photo' | 'fingerprint', CaptureModel>> = {}
  private edge: RunningEdge | null = null

  constructor(private readonly opts: SimWindowOptions) {
    this.hardware = new SimWindowHardware(opts.profile, opts.font ? { font: opts.font } : {})
    for (const kind of ['photo', 'fingerprint'] as const) {
      if (opts.profile.capture?.[kind]) this.captures[kind] = new CaptureModel({ gpio: this.hardware.gpio, kind })
    }
  }

  get counter(): string {
    return this.opts.counter
  }

  get running(): RunningEdge | null {
    return this.edge
  }

  /** Evaluator keys, then officer keys: what a person at this window can press. */
  keyNames(): SimKeyName[] {
    const { keys, officerKeys = {} } = this.opts.profile
    return [...(Object.keys(keys) as Array<keyof typeof keys>), ...(Object.keys(officerKeys) as Array<keyof typeof officerKeys>)]
  }

  async start(): Promise<void> {
    this.edge = await startEdge(
      {
        hall: this.opts.hall,
        counter: this.opts.counter,
        hub: this.opts.hub,
        username: this.opts.username,
        password: this.opts.password,
        ...(this.opts.dataDir ? { dataDir: this.opts.dataDir } : {}),
        ...(this.opts.video ? { video: this.opts.video } : {}),
      },
      { profile: this.opts.profile, gpio: this.hardware.backend, bus: this.hardware.bus, log: this.opts.log },
    )
  }

  /**
   * Takes an edge runtime started elsewhere on this window's hardware
   * (`counter-edge edge` on a board profile of adapter "sim", cli/edge-command.ts),
   * so the control API reads and drives it as it does a window the simulator started.
   */
  attach(edge: RunningEdge): void {
    this.edge = edge
  }

  injectDisplayFault(fault: SimDisplayFault): void {
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
      ...(this.hardware.officerPanel ? { officerPanel: this.hardware.officerPanel.view() } : {}),
      keys: this.keyNames(),
      outputs: {
        statusLamp: this.hardware.hasLine('status-lamp') ? this.hardware.output('statusLamp') : null,
        evaluatorLamp: this.hardware.hasLine('evaluator-lamp') ? this.hardware.output('evaluatorLamp') : null,
        nvrRelay: this.hardware.hasLine('nvr-relay') ? this.hardware.output('nvrRelay') : null,
      },
      captures: Object.fromEntries(Object.entries(this.captures).map(([k, m]) => [k, { fault: m.fault, triggers: m.triggers }])),
    }
  }

  async stop(): Promise<void> {
    const edge = this.edge
    this.edge = null
    await edge?.stop()
  }

  /** Stops the edge runtime and the simulated hardware for good. */
  async shutdown(): Promise<void> {
    await this.stop()
    this.release()
  }

  /** Stops the simulated camera and fingerprint device; the edge runtime is its starter's to stop. */
  release(): void {
    for (const m of Object.values(this.captures)) m.stop()
  }
}

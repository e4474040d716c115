import { z } from 'zod'
import type { Logger } from 'pino'
import type { EventType } from '../protocol/index.ts'
import type { Relay } from '../hardware/relay.ts'
import { NvrTextLine } from './nvr-text-line.ts'
import type { DeviceHealthSink } from './device-health.ts'

/** The moments a video reviewer looks for, and the word each gets on the NVR text line. */
const MARKS: Partial<Record<EventType, string>> = {
  'service-started': 'START',
  'service-finished': 'END',
  evaluated: 'RATING',
  'help-requested': 'HELP',
  overtime: 'OVERTIME',
}

export const videoConfigSchema = z.strictObject({
  /** hold: contact closed for the length of each service; pulse: a short closure at each marked moment. */
  relay: z.enum(['hold', 'pulse']).default('hold'),
  textLine: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      // Officer names are deliberately not offered: recordings are reviewed widely.
      template: z
        .string()
        .min(1)
        .max(200)
        .refine((t) => !/\{officer/.test(t), 'template: officer names are never sent to the NVR')
        .default('{counter} {ticket} {action} {ts}'),
    })
    .optional(),
})
export type VideoConfig = z.infer<typeof videoConfigSchema>

export interface VideoHooksOptions {
  counter: string
  config: VideoConfig
  /** Holds every closure for the NVR's minimum, so its sampler sees it; it reports its own health. */
  relay?: Relay
  log: Logger
  now: () => number
  /** Where the text line reports its health ('nvr-text'). */
  health: DeviceHealthSink
}

/**
 * The window's marks for the video monitoring: an NVR alarm relay and a text
 * line. A hook that fails becomes a fault and is otherwise ignored: video must
 * never hold up the service.
 */
export class VideoHooks {
  private readonly text: NvrTextLine | null
  private held = false

  constructor(private readonly opts: VideoHooksOptions) {
    const t = opts.config.textLine
    this.text = t ? new NvrTextLine({ host: t.host, port: t.port, log: opts.log, device: 'nvr-text', health: opts.health }) : null
  }

  start(): void {
    this.text?.start()
  }

  /** Hold mode follows the state: closed while a service runs. */
  serving(active: boolean): void {
    const relay = this.opts.relay
    if (!relay || this.opts.config.relay !== 'hold' || active === this.held) return
    this.held = active
    // The relay has already reported a failed write as its fault; here it only must not go unhandled.
    ;(active ? relay.close() : relay.open()).catch((err: Error) => this.opts.log.debug({ err: err.message }, 'NVR relay did not follow the service'))
  }

  event(type: EventType, fields: Record<string, unknown>): void {
    const action = MARKS[type]
    if (!action) return
    if (this.opts.relay && this.opts.config.relay === 'pulse') {
      this.opts.relay.pulse(1).catch((err: Error) => this.opts.log.debug({ err: err.message }, 'NVR relay did not pulse'))
    }
    const t = this.opts.config.textLine
    if (this.text && t) this.text.send(render(t.template, { counter: this.opts.counter.toUpperCase(), action, ts: new Date(this.opts.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'), ...fields }))
  }

  async stop(): Promise<void> {
    await this.text?.stop()
    if (this.held) await this.opts.relay?.open().catch(() => undefined)
  }
}

/** `{name}` placeholders from the event; unknown ones become '-', so a line always has its fields. */
export function render(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{([a-zA-Z]+)\}/g, (_m, k: string) => {
    if (k === 'officer' || k === 'officerName') return '-'
    const v = values[k]
    return v === undefined || v === null ? '-' : String(v)
  })
}

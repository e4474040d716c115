import { z } from 'zod'
import type { Logger } from 'pino'
import type { EventType } from '../protocol/index.ts'
import type { Relay } from '../hardware/relay.ts'
import { NvrTextLine } from './nvr-text-line.ts'
import type { DeviceHealthSink } from './device-health.ts'
import { formatLocal, isTimeZone } from './local-time.ts'

/**
 * The moments a video supervisor looks for, and the word each gets on the NVR
 * text line: every step of a service, every way one ends without a rating,
 * and the waits and pauses a supervisor is asked about.
 */
export const MARKS: Partial<Record<EventType, string>> = {
  called: 'CALL',
  'service-started': 'START',
  'service-finished': 'END',
  evaluated: 'RATING',
  // A bad rating (不满意 / 非常不满意) to follow up: its own word, so a reviewer can search the recording for it.
  'rating-alert': 'BAD-RATING',
  'evaluation-missed': 'NO-RATING',
  'no-show': 'NO-SHOW',
  'call-unanswered': 'NO-SHOW-PROMPT',
  'service-transferred': 'TRANSFER',
  'service-parked': 'PARK',
  paused: 'PAUSE',
  resumed: 'RESUME',
  'pause-overtime': 'PAUSE-OVER',
  'signed-in': 'SIGN-IN',
  'signed-out': 'SIGN-OUT',
  'help-requested': 'HELP',
  overtime: 'OVERTIME',
}

/** The hall's zone when the board file names none: the halls this runs in read China Standard Time. */
export const DEFAULT_HALL_TIME_ZONE = 'Asia/Shanghai'

/** A bad rating's closure in pulse mode: well over any NVR's sampling period and a mark's minimum hold (1 s on the shipped boards). */
export const ALERT_PULSE_MS = 3_000

export const videoConfigSchema = z.strictObject({
  /**
   * hold: contact closed from each call through the end of its evaluation;
   * pulse: a short closure at each marked moment, and a long one of its own for a bad rating.
   */
  relay: z.enum(['hold', 'pulse']).default('hold'),
  /** Pulse mode: how long the bad-rating closure lasts (default ALERT_PULSE_MS); longer than a mark's, so the NVR's alarm log tells them apart. */
  alertPulseMs: z.number().int().min(1).max(60_000).optional(),
  /** The hall's IANA time zone (default DEFAULT_HALL_TIME_ZONE): the text line's `{ts}` is its local time with the offset written (e.g. 2026-11-22T16:00:05+08:00). */
  timeZone: z.string().refine(isTimeZone, { message: 'expected an IANA time zone such as "Asia/Shanghai"' }).optional(),
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
  /** Pulse mode: the last closure asked for; a bad rating's waits for it to end, so it is a closure of its own. */
  private lastPulse: Promise<void> = Promise.resolve()

  constructor(private readonly opts: VideoHooksOptions) {
    const t = opts.config.textLine
    this.text = t ? new NvrTextLine({ host: t.host, port: t.port, log: opts.log, device: 'nvr-text', health: opts.health }) : null
  }

  start(): void {
    this.text?.start()
  }

  /** Hold mode follows the window: closed from the call through the end of its evaluation, so the rating is on video too. */
  covering(active: boolean): void {
    const relay = this.opts.relay
    if (!relay || this.opts.config.relay !== 'hold' || active === this.held) return
    this.held = active
    // The relay has already reported a failed write as its fault; here it only must not go unhandled.
    ;(active ? relay.close() : relay.open()).catch((err: Error) => this.opts.log.debug({ err: err.message }, 'NVR relay did not follow the window'))
  }

  event(type: EventType, fields: Record<string, unknown>): void {
    const action = MARKS[type]
    if (!action) return
    const relay = this.opts.relay
    if (relay && this.opts.config.relay === 'pulse') {
      const pulse =
        type === 'rating-alert'
          ? // After the rating's own closure has opened again (the relay keeps its gap): two closures, the second long.
            this.lastPulse.then(() => relay.pulse(this.opts.config.alertPulseMs ?? ALERT_PULSE_MS))
          : relay.pulse(1)
      this.lastPulse = pulse.catch((err: Error) => this.opts.log.debug({ err: err.message }, 'NVR relay did not pulse'))
    }
    const t = this.opts.config.textLine
    if (this.text && t) this.text.send(render(t.template, { counter: this.opts.counter.toUpperCase(), action, ts: formatLocal(this.opts.now(), this.opts.config.timeZone ?? DEFAULT_HALL_TIME_ZONE), ...fields }))
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

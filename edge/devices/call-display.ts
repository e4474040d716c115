/**
 * The window's call-number display: what ticket it shows, whether it draws
 * attention to a fresh call, and the technician's identify blink.
 *
 * Its health goes to the sink it is built with: a fault when a driver call
 * fails with a new code (including at start: a display that never answered
 * is 'absent'), null when a call succeeds again.
 *
 * It remembers what it was told to show and restores exactly that after an
 * identify or a device fault, never anything older: a stale number on a
 * window sends an applicant to the wrong desk.
 */
import type { Logger } from 'pino'
import { DeviceFault } from '../hardware/device-fault.ts'
import type { BlinkRate, TextDisplay } from '../hardware/text-display.ts'
import type { DeviceHealthSink } from './device-health.ts'
import { DisplayFaultWatch } from './display-fault-watch.ts'
import type { DisplayShows, ShowsListener } from './display-shows.ts'

const IDENTIFY_BLINK: BlinkRate = '2hz'
const ATTENTION_BLINK: BlinkRate = '1hz'

export interface CallDisplayOptions {
  /** Any display driver: HT16K33 7- or 14-segment, MAX7219 (ours or through johnny-five). */
  driver: TextDisplay
  log: Logger
  /** The name its health is reported under ('display'). */
  device: string
  health: DeviceHealthSink
  /**
   * While faulted, re-send the whole display state this often (ms; 0 = never),
   * so a reseated cable or a board that browned out comes back on its own.
   * Default 5000.
   */
  retryMs?: number
}

export interface CallDisplayStatus {
  ticket: string | null
  attention: boolean
  identifying: boolean
  fault: DeviceFault | null
}

export class CallDisplay {
  private readonly driver: TextDisplay
  /** Dashes across the display cannot be mistaken for a ticket number, unlike an '8888' segment test. */
  private readonly identifyText: string
  private readonly log: Logger
  private readonly watch: DisplayFaultWatch
  private ticket: string | null = null
  private attentionOn = false
  private identifyTimer: NodeJS.Timeout | undefined
  /** The text the driver last took without an error; null after a fault or a stop. */
  private glass: string | null = null
  private readonly showsListeners = new Set<ShowsListener>()

  constructor(opts: CallDisplayOptions) {
    this.driver = opts.driver
    this.identifyText = '-'.repeat(opts.driver.width)
    this.log = opts.log
    opts.health.register(opts.device)
    this.watch = new DisplayFaultWatch({
      device: opts.device,
      noun: 'display',
      health: opts.health,
      log: opts.log,
      retryMs: opts.retryMs ?? 5_000,
      restore: () => this.restore(),
      onFault: () => {
        this.glass = null
      },
      onRecovered: () => undefined,
    })
    opts.driver.watchRefresh?.((refresh) => this.watch.followRefresh(refresh, (op) => this.track(op)))
  }

  status(): CallDisplayStatus {
    return {
      ticket: this.ticket,
      attention: this.attentionOn,
      identifying: this.identifyTimer !== undefined,
      fault: this.watch.fault,
    }
  }

  /** What the glass shows, as far as the writes the chip took tell. */
  shows(): DisplayShows {
    const fault = this.watch.wireFault
    return { text: fault ? null : this.glass, fault, picture: null }
  }

  /** Called after every change of what shows() may answer. */
  watchShows(listener: ShowsListener): void {
    this.showsListeners.add(listener)
  }

  /** Starts the display blank. Rejects with a DeviceFault when it does not answer. */
  start(): Promise<void> {
    this.watch.start()
    return this.track(this.driver.start())
  }

  /** Character positions of the display. */
  get width(): number {
    return this.driver.width
  }

  /** The characters a ticket may contain on this display (upper case): the counter's `call` check. */
  get charset(): string {
    return this.driver.charset
  }

  /** Whether `ticket` can be shown at all (fits, and every character has a glyph). */
  canShow(ticket: string): boolean {
    return this.driver.canShow(ticket)
  }

  /**
   * Shows a ticket, or blanks the display for null. Throws a RangeError for a
   * ticket the display cannot show, before anything changes on the glass.
   */
  async show(ticket: string | null): Promise<void> {
    if (ticket !== null && !this.canShow(ticket)) {
      throw new RangeError(
        `the call display cannot show "${ticket}" (${this.driver.width} positions of ${this.driver.charset})`,
      )
    }
    this.ticket = ticket
    if (ticket === null) this.attentionOn = false
    if (this.identifyTimer !== undefined) return // shown when identify ends
    await this.track(this.render())
  }

  /** Blinks the number while a call is fresh, so the applicant notices it. */
  async attention(on: boolean): Promise<void> {
    this.attentionOn = on && this.ticket !== null
    if (this.identifyTimer !== undefined) return
    await this.track(this.driver.setBlink(this.attentionOn ? ATTENTION_BLINK : 'off'))
  }

  /** Blinks dashes for `seconds` so a technician can find this window, then restores the call. */
  async identify(seconds: number): Promise<void> {
    if (!(seconds > 0)) throw new RangeError(`identify needs a duration > 0 s, got ${seconds}`)
    clearTimeout(this.identifyTimer)
    this.identifyTimer = setTimeout(() => {
      this.identifyTimer = undefined
      this.track(this.render()).catch((err: unknown) => this.log.warn({ err }, 'could not restore the display after identify'))
    }, seconds * 1000)
    await this.track(this.showIdentify())
  }

  private async showIdentify(): Promise<void> {
    await this.driver.show(this.identifyText)
    this.glass = this.identifyText
    await this.driver.setBlink(IDENTIFY_BLINK)
  }

  async stop(): Promise<void> {
    this.watch.stop()
    clearTimeout(this.identifyTimer)
    this.identifyTimer = undefined
    try {
      await this.driver.stop()
    } catch (err) {
      this.log.warn({ err }, 'display did not blank on stop')
    }
    this.glass = null
    this.changed()
  }

  /** Writes the whole display again: what it was told to show, or the identify dashes. */
  private restore(): Promise<void> {
    return this.track(this.identifyTimer !== undefined ? this.showIdentify() : this.render())
  }

  private async render(): Promise<void> {
    await this.driver.show(this.ticket ?? '')
    this.glass = this.ticket ?? ''
    await this.driver.setBlink(this.attentionOn ? ATTENTION_BLINK : 'off')
  }

  /** Every driver operation goes through the fault watch; whatever its outcome, what shows() answers may have changed. */
  private async track(op: Promise<void>): Promise<void> {
    try {
      await this.watch.track(op)
    } finally {
      this.changed()
    }
  }

  private changed(): void {
    for (const l of this.showsListeners) l()
  }
}

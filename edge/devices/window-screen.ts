/**
 * A pixel screen as a window device: the public sign over the desk (role
 * 'window') or the officer's panel (role 'officer'). It draws the layout of
 * the window's ScreenView (edge/devices/screen-layouts.ts) in the shipped
 * bitmap font, scrolls lines longer than the screen, blinks a fresh call, and
 * shows the technician's identify picture.
 *
 * Scrolling and blinking run on the runtime's timers (setInterval), so fake
 * timers drive them in tests. Health is watched as the call display's is
 * (edge/devices/display-fault-watch.ts): a fault when a driver call fails
 * with a new code, null when one succeeds again, and while faulted the whole
 * picture is re-sent every `retryMs`, so a reseated cable comes back on its own.
 *
 * A character the font lacks is drawn as a box and reported once per
 * character (a warning in the log, and missingGlyphs()), never dropped.
 */
import type { Logger } from 'pino'
import type { ScreenView } from '../counter/screen-view.ts'
import type { BitmapFont } from '../hardware/bitmap-font.ts'
import { DeviceFault } from '../hardware/device-fault.ts'
import type { PixelFrame } from '../hardware/pixel-frame.ts'
import type { PixelScreen } from '../hardware/pixel-screen.ts'
import type { DeviceHealthSink } from './device-health.ts'
import { DisplayFaultWatch } from './display-fault-watch.ts'
import type { DisplayShows, ShowsListener } from './display-shows.ts'
import { identifyFrame, linesScroll, renderLines, screenLines, type ScreenRole } from './screen-layouts.ts'

/** Characters a ticket number may hold on a pixel screen: what the counter checks a `call` against. */
export const SCREEN_TICKET_CHARSET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-'

const ATTENTION_HALF_PERIOD_MS = 500
const IDENTIFY_HALF_PERIOD_MS = 250

export interface WindowScreenOptions {
  driver: PixelScreen
  font: BitmapFont
  role: ScreenRole
  log: Logger
  /** The name its health is reported under ('display', 'officer-panel'). */
  device: string
  health: DeviceHealthSink
  /** Longest ticket number the counter may call onto it (the profile's `digits`). */
  ticketChars: number
  /** One scroll step every this many ms. Default 100. */
  scrollMs?: number
  /** Pixels per scroll step. Default 2. */
  scrollStepPx?: number
  /** While faulted, re-send the picture this often (ms; 0 = never). Default 5000. */
  retryMs?: number
}

export interface WindowScreenStatus {
  view: ScreenView | null
  identifying: boolean
  scrolling: boolean
  fault: DeviceFault | null
}

const IDLE_VIEW: ScreenView = { mode: 'closed', ticket: null, attention: false, officer: null, pauseReason: null, windowName: null, services: [] }

export class WindowScreen {
  readonly role: ScreenRole
  private readonly driver: PixelScreen
  private readonly font: BitmapFont
  private readonly log: Logger
  private readonly device: string
  private readonly watch: DisplayFaultWatch
  private readonly ticketChars: number
  private readonly scrollMs: number
  private readonly scrollStepPx: number
  private view: ScreenView | null = null
  private scrollPx = 0
  private scrollTimer: NodeJS.Timeout | undefined
  private blinkTimer: NodeJS.Timeout | undefined
  private lit = true
  private identifyTimer: NodeJS.Timeout | undefined
  private readonly missing = new Set<string>()
  private stopped = false
  /** What the driver last took without an error: a view's lines, the identify picture, or nothing (after a fault or a stop). */
  private glass: { kind: 'view'; view: ScreenView } | { kind: 'identify' } | null = null
  private readonly showsListeners = new Set<ShowsListener>()

  constructor(opts: WindowScreenOptions) {
    this.driver = opts.driver
    this.font = opts.font
    this.role = opts.role
    this.log = opts.log
    this.device = opts.device
    this.ticketChars = opts.ticketChars
    this.scrollMs = opts.scrollMs ?? 100
    this.scrollStepPx = opts.scrollStepPx ?? 2
    opts.health.register(opts.device)
    this.watch = new DisplayFaultWatch({
      device: opts.device,
      noun: 'screen',
      health: opts.health,
      log: opts.log,
      retryMs: opts.retryMs ?? 5_000,
      restore: () => this.restore(),
      onFault: (isNew) => {
        if (!isNew) return
        this.glass = null
        this.changed()
      },
      onRecovered: () => this.changed(),
    })
    opts.driver.watchRefresh?.((refresh) => this.watch.followRefresh(refresh, (op) => this.track(op)))
  }

  get width(): number {
    return this.ticketChars
  }

  get charset(): string {
    return SCREEN_TICKET_CHARSET
  }

  get name(): string {
    return this.driver.name
  }

  canShow(ticket: string): boolean {
    return [...ticket].length <= this.ticketChars && [...ticket].every((c) => SCREEN_TICKET_CHARSET.includes(c) && this.font.has(c.codePointAt(0)!))
  }

  status(): WindowScreenStatus {
    return { view: this.view, identifying: this.identifyTimer !== undefined, scrolling: this.scrollTimer !== undefined, fault: this.watch.fault }
  }

  /** Characters drawn as a box because the font lacks them, in the order first met. */
  missingGlyphs(): string[] {
    return [...this.missing]
  }

  /** What the glass shows, unscrolled, as far as the frames the chip took tell. */
  shows(): DisplayShows {
    const fault = this.watch.wireFault
    const glass = this.glass
    if (fault || glass === null) return { text: null, fault, picture: null }
    if (glass.kind === 'identify') return { text: '', fault: null, picture: identifyFrame(this.driver.width, this.driver.height) }
    const lines = screenLines(glass.view, this.role, this.driver.height)
    const picture = renderLines(this.font, lines, this.driver.width, this.driver.height, 0, (ch) => this.noteMissing(ch))
    return { text: lines.map((l) => l.text).join('\n'), fault: null, picture }
  }

  /** Called after every change of what shows() may answer (not on scroll steps: the picture is reported unscrolled). */
  watchShows(listener: ShowsListener): void {
    this.showsListeners.add(listener)
  }

  /** The picture the screen should show now (what render() sends). */
  frame(): PixelFrame {
    if (this.identifyTimer !== undefined) return identifyFrame(this.driver.width, this.driver.height)
    const lines = screenLines(this.view ?? IDLE_VIEW, this.role, this.driver.height)
    return renderLines(this.font, lines, this.driver.width, this.driver.height, this.scrollPx, (ch) => this.noteMissing(ch))
  }

  start(): Promise<void> {
    this.stopped = false
    this.watch.start()
    return this.track(this.driver.start())
  }

  /** The whole view of the window; redraws only when something shown changed. */
  async screen(view: ScreenView): Promise<void> {
    const before = this.view
    this.view = view
    if (before === null || !sameText(before, view)) this.scrollPx = 0
    this.updateScroll()
    if (this.identifyTimer !== undefined) return // shown when identify ends
    await this.track(this.render())
    await this.track(this.setAttention(this.wantsBlink(view)))
  }

  /** Only the public sign blinks for a fresh call: the officer's panel is read up close, and a blinking panel is a nuisance. */
  private wantsBlink(view: ScreenView | null): boolean {
    return this.role === 'window' && (view?.attention ?? false)
  }

  /** For callers that only know a number (the CallDisplay interface): a call, or the idle picture for null. */
  async show(ticket: string | null): Promise<void> {
    if (ticket !== null && !this.canShow(ticket)) {
      throw new RangeError(`the screen cannot show "${ticket}" (${this.ticketChars} characters of ${SCREEN_TICKET_CHARSET})`)
    }
    const base = this.view ?? IDLE_VIEW
    await this.screen({ ...base, mode: ticket === null ? 'idle' : 'calling', ticket, attention: ticket === null ? false : base.attention })
  }

  async attention(on: boolean): Promise<void> {
    if (this.view) this.view = { ...this.view, attention: on && this.view.ticket !== null }
    if (this.identifyTimer !== undefined) return
    await this.track(this.setAttention(this.wantsBlink(this.view)))
  }

  /** Lights every pixel, blinking, for `seconds` so a technician finds this window; then the picture returns. */
  async identify(seconds: number): Promise<void> {
    if (!(seconds > 0)) throw new RangeError(`identify needs a duration > 0 s, got ${seconds}`)
    clearTimeout(this.identifyTimer)
    this.identifyTimer = setTimeout(() => {
      this.identifyTimer = undefined
      this.restore().catch((err: unknown) => this.log.warn({ err }, 'could not restore the screen after identify'))
    }, seconds * 1000)
    await this.track(this.render())
    this.blink(IDENTIFY_HALF_PERIOD_MS)
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.watch.stop()
    clearTimeout(this.identifyTimer)
    for (const t of [this.scrollTimer, this.blinkTimer]) clearInterval(t)
    this.identifyTimer = this.scrollTimer = this.blinkTimer = undefined
    try {
      await this.driver.stop()
    } catch (err) {
      this.log.warn({ err }, 'screen did not blank on stop')
    }
    this.glass = null
    this.changed()
  }

  private async restore(): Promise<void> {
    await this.track(this.render())
    await this.track(this.setAttention(this.wantsBlink(this.view)))
  }

  private async render(): Promise<void> {
    const identifying = this.identifyTimer !== undefined
    const view = this.view ?? IDLE_VIEW
    await this.driver.draw(this.frame())
    const before = this.glass
    this.glass = identifying ? { kind: 'identify' } : { kind: 'view', view }
    if (before === null || before.kind !== this.glass.kind || (before.kind === 'view' && before.view !== view)) this.changed()
  }

  private changed(): void {
    for (const l of this.showsListeners) l()
  }

  private async setAttention(on: boolean): Promise<void> {
    if (on) {
      if (this.blinkTimer === undefined) this.blink(ATTENTION_HALF_PERIOD_MS)
      return
    }
    clearInterval(this.blinkTimer)
    this.blinkTimer = undefined
    if (!this.lit) {
      this.lit = true
      await this.driver.setOn(true)
    }
  }

  /** Switches the screen dark and lit every `halfMs`: the chips' own on/off, the picture untouched. */
  private blink(halfMs: number): void {
    clearInterval(this.blinkTimer)
    this.blinkTimer = setInterval(() => {
      this.lit = !this.lit
      this.track(this.driver.setOn(this.lit)).catch(() => undefined)
    }, halfMs)
  }

  private updateScroll(): void {
    const moving = this.view !== null && linesScroll(this.font, screenLines(this.view, this.role, this.driver.height), this.driver.width)
    if (moving && this.scrollTimer === undefined && !this.stopped) {
      this.scrollTimer = setInterval(() => {
        if (this.identifyTimer !== undefined || this.watch.fault !== null) return
        this.scrollPx += this.scrollStepPx
        this.track(this.render()).catch(() => undefined)
      }, this.scrollMs)
    } else if (!moving && this.scrollTimer !== undefined) {
      clearInterval(this.scrollTimer)
      this.scrollTimer = undefined
    }
  }

  private noteMissing(ch: string): void {
    if (this.missing.has(ch)) return
    this.missing.add(ch)
    const codePoint = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
    this.log.warn({ device: this.device, char: ch, codePoint, font: this.font.name }, `the screen font has no glyph for ${codePoint}; it is shown as a box`)
  }

  private track(op: Promise<void>): Promise<void> {
    return this.watch.track(op)
  }
}

function sameText(a: ScreenView, b: ScreenView): boolean {
  return a.mode === b.mode && a.ticket === b.ticket && a.pauseReason === b.pauseReason && a.windowName === b.windowName && a.officer?.id === b.officer?.id && a.officer?.name === b.officer?.name && a.services.join() === b.services.join()
}

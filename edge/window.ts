import { selfTestFailures } from './devices/self-test.ts'
import { parseCommand, type CaptureKind, type EventDraft, type PublicWindow, type EvaluationScore, type EventType, type OfficerKey, type ReplyFields, type SelfTest, type ErrorCode } from './protocol/index.ts'
import type { CaptureOutcome } from './hardware/capture-trigger.ts'
import type { Logger } from './shared/logger.ts'
import { hasApplicant, step } from './counter/machine.ts'
import { refuse } from './counter/replies.ts'
import { nextDeadline, resumeOnNewClock, type ClockReading } from './counter/time-rules.ts'
import { displayFor, evaluatorOpen, stateFields, statusLampFor, videoCovers } from './counter/view.ts'
import { CommandLedger } from './counter/command-ledger.ts'
import { screenViewFor, type ScreenInfo, type ScreenView } from './counter/screen-view.ts'
import type { CounterState, Effect, Input, ReplyEffect } from './counter/state.ts'
import type { BoardLink, OutboxRecord } from './link/board-link.ts'
import type { StateFile } from './state-file.ts'
import { SerialQueue } from './shared/serial-queue.ts'
import type { DisplayShows, ShowsListener } from './devices/display-shows.ts'

/** The devices the window drives, as the counter sees them. */
export interface WindowDevices {
  display: {
    show(text: string | null): Promise<void>
    attention(on: boolean): Promise<void>
    identify(seconds: number): Promise<void>
    /** A pixel screen shows the whole view (mode, officer, pause reason), not only the number; given it, show/attention are not used. */
    screen?(view: ScreenView): Promise<void>
    /** What the glass shows (edge/devices/display-shows.ts): published on `screen` when it changes. */
    shows?(): DisplayShows
    watchShows?(listener: ShowsListener): void
  }
  /** The officer's panel (a pixel screen): who is signed in and what the window is doing. */
  officerPanel?: { screen(view: ScreenView): Promise<void> }
  evaluator: {
    setOpen(open: boolean): Promise<void>
    /** While a press is being decided (edge/devices/evaluator.ts): resolves once it has been reported. */
    deciding?(): Promise<void> | null
  }
  captures?: Partial<Record<CaptureKind, { capture(): Promise<CaptureOutcome> }>>
  statusLamp?: { on(): Promise<void>; off(): Promise<void>; blink(p?: { onMs: number; offMs: number }): Promise<void> }
  /** Runs the technician's tests on the devices; the result goes into the reply. */
  selfTest?: (tests: SelfTest[]) => Promise<{ ok: boolean; result: Record<string, unknown> }>
}

/** What else follows the window: video marks today. */
export interface WindowHooks {
  event(type: EventType, fields: Record<string, unknown>): void
  /** True from a call through the end of its evaluation (videoCovers in edge/counter/view.ts). */
  covering(active: boolean): void
}

export interface WindowOptions {
  state: CounterState
  /** The window as the public knows it: in every `state` and call event (edge/protocol/public-window.ts). */
  publicWindow: PublicWindow
  devices: WindowDevices
  link: BoardLink
  now: () => number
  /** Monotonic readings for every duration, window and timeout; required, never `now` by default (see edge/counter/state.ts). */
  mono: () => number
  /** The machine's monotonic clock and boot (edge/machine-clock.ts); absent: a restart counts the wall time that passed. */
  machineClock?: (() => { boot: string; ms: number }) | null
  log: Logger
  setLogLevel?: (level: string) => void
  /** Told after a `config` command changed settings (e.g. the telemetry period). */
  onSettings?: () => void
  /** Where the state survives a restart; absent in tests that want a fresh window each time. */
  stateFile?: StateFile
  hooks?: WindowHooks
  /** Takes releases on `update` (edge/update/installer.ts); absent on a board not installed under a root, which refuses them. */
  updater?: { begin(cmd: Extract<Effect, { kind: 'update' }>['cmd']): Promise<{ ok: true; result: Record<string, unknown> } | { ok: false; code: ErrorCode; message: string }> }
  /** The window's public name and services for its pixel screens, from the board config once it carries them; absent: the screens show a neutral text. */
  screenInfo?: ScreenInfo
}

const UNINSTALLED = 'not an installed board (no <root>/current): install with counter-edge install'
const RESTARTING = '正在重启进入新版本，请稍后再发 / the window is restarting into an update; send again once it is back online'

/** Replies kept in the state file: central resends within seconds, and commands expire within minutes. */
const LEDGER_SAVED = 64

function replyFields(e: ReplyEffect): ReplyFields {
  const { kind: _k, ...fields } = e
  return fields
}

/**
 * Runs the pure counter machine against the world: feeds it commands, key
 * presses and time; carries out its effects on the devices and the link.
 * Inputs are handled one at a time, in arrival order.
 */
export class Window {
  private state: CounterState
  private readonly ledger = new CommandLedger<ReplyEffect>()
  private timer: NodeJS.Timeout | null = null
  private shown: { text: string | null; attention: boolean } | undefined
  /** The pixel screens' last view (JSON), undefined until one was shown or after one failed. */
  private shownScreen: string | undefined
  private lampOpen: boolean | undefined
  private lamp: ReturnType<typeof statusLampFor> | undefined
  /** Inputs are handled one at a time, in arrival order: the machine sees one input's whole effect before the next. */
  private readonly inputs = new SerialQueue()
  /** Stopping: no new input is queued; those already queued still run. */
  private closing = false
  private stopped = false
  /** Set once a restart into an update is decided (holdForRestart): nothing may bring an applicant to the window any more. */
  private heldForRestart = false
  /** The last `screen` fields published (JSON): only a change is sent. */
  private screenSent: string | undefined

  private readonly mono: () => number
  /** An answer that took its time came while stopping: stop() saves the ledger that holds it. */
  private answeredWhileClosing = false

  constructor(private readonly opts: WindowOptions) {
    this.mono = opts.mono
    // The last run's monotonic readings are on its clock's origin; carried onto ours by the wall time that passed (none if the clock stepped back).
    const saved = opts.stateFile?.savedClock
    this.state = saved ? resumeOnNewClock(opts.state, saved, this.clockReading(opts.now(), this.mono())) : opts.state
    this.ledger.restore((opts.stateFile?.takeLedger() ?? []) as Array<[string, ReplyEffect]>)
  }

  /** Saved with the state: the machine's clock too, so a restart knows the time that passed whatever the wall clock did. */
  private clockReading(wall: number, mono: number): ClockReading {
    const machine = this.opts.machineClock?.()
    return machine ? { wall, mono, machine } : { wall, mono }
  }

  get current(): CounterState {
    return this.state
  }

  async start(): Promise<void> {
    // What the last run saved with its state but may not have journalled: first in line, same ids.
    const recovered = this.opts.stateFile?.takeRecovered() ?? []
    for (const r of recovered) this.opts.link.append(r)
    if (recovered.length) this.opts.log.info({ ids: recovered.map((r) => r.id) }, 'sent again what the last run saved with its state')
    // A capture cut short by a restart is reported, never left open at central.
    for (const [device, c] of Object.entries(this.state.captures) as Array<[CaptureKind, { cmd: string }]>) {
      this.enqueue(() => this.apply({ kind: 'capture-result', device, cmd: c.cmd, outcome: { ok: false, reason: 'timeout', message: 'the board restarted during the capture' } }))
    }
    this.opts.devices.display.watchShows?.(() => this.publishScreen())
    await this.render()
    this.publishScreen()
    this.opts.link.handleCommands((name, payload) => this.enqueue(() => this.onCommand(name, payload)))
    this.opts.link.whenConnected(() => this.opts.link.publish('state', this.stateMessage()))
    this.schedule()
  }

  /**
   * The installer's last check before it switches `current` and restarts (edge/update/installer.ts), run in the
   * window's own input queue so no command lands between the check and the hold: true when nobody is at the window,
   * and from then on any input that would bring one (a `call`) is refused `busy` instead of being shown and then cut
   * by the restart; false, holding nothing, while someone is there.
   */
  holdForRestart(): Promise<boolean> {
    if (this.closing) return Promise.resolve(false)
    return this.inputs.run(() => {
      if (this.stopped || hasApplicant(this.state)) return false
      this.heldForRestart = true
      return true
    })
  }

  /** The restart did not happen after all (the switch failed): the window takes calls again. */
  releaseRestartHold(): void {
    this.heldForRestart = false
  }

  /** A decided press; `pressedMono` is when the key went down, on this window's monotonic clock (the evaluator holds a press a while). */
  press(score: EvaluationScore, pressedMono?: number): void {
    this.enqueue(() => this.apply(pressedMono === undefined ? { kind: 'key', score } : { kind: 'key', score, pressedMono }))
  }

  officerKey(key: OfficerKey): void {
    this.enqueue(() => this.apply({ kind: 'officer-key', key }))
  }

  ambiguousPress(): void {
    this.enqueue(() => this.apply({ kind: 'ambiguous-press' }))
  }

  fault(device: string, code: string, message: string): void {
    // The contract caps these fields; a driver's error text can be longer.
    this.enqueue(() => this.apply({ kind: 'fault', device: device.slice(0, 32), code: code.slice(0, 32), message: message.slice(0, 200) }))
  }

  /** A device reports its health: a fault, or null when it works again (clearing every fault it had). */
  deviceHealth(device: string, fault: { code: string; message: string } | null): void {
    if (fault) return this.fault(device, fault.code, fault.message)
    this.enqueue(async () => {
      for (const f of this.state.faults.filter((x) => x.device === device.slice(0, 32))) await this.apply({ kind: 'fault-cleared', device: f.device, code: f.code })
    })
  }

  private enqueue(task: () => Promise<void>): void {
    if (this.closing) return
    this.inputs.run(task).catch((err: Error) => this.opts.log.error({ err: err.message, stack: err.stack }, 'window input failed'))
  }

  private async onCommand(name: string, payload: Buffer): Promise<void> {
    const parsed = parseCommand(name, payload)
    if (!parsed.ok) {
      this.opts.log.warn({ command: name, code: parsed.code, reason: parsed.message }, 'refused a malformed command')
      this.opts.link.publish('reply', { cmd: parsed.id, name, ok: false, code: parsed.code, message: parsed.message })
      return
    }
    const seen = this.ledger.get(parsed.command.id)
    if (seen) {
      // At-least-once delivery: answer again, act once.
      this.sendReply(seen)
      return
    }
    this.opts.log.info({ command: name, id: parsed.command.id }, 'command')
    await this.apply({ kind: 'command', command: parsed.command })
  }

  private async apply(input: Input): Promise<void> {
    if (this.stopped) return
    const before = this.state
    const wall = this.opts.now()
    const mono = this.mono()
    let result = step(before, input, wall, mono)
    if (this.heldForRestart && hasApplicant(result.state) && !hasApplicant(before)) {
      result = input.kind === 'command' ? refuse(before, input.command, 'busy', RESTARTING) : { state: before, effects: [] }
    }
    // The machine knows the counter, not the sign above it: the public window is added to the call events here.
    for (const e of result.effects) if (e.kind === 'event') e.event = this.withPublicWindow(e.event)
    this.state = result.state
    const changed = this.state !== before
    // A first answer is saved even when it changed nothing (a refusal, sync, identify): a retry of that id
    // after a power cut is answered from the ledger, never acted on by a window that could take it by then.
    const answered = result.effects.some((e) => e.kind === 'reply')
    const saving = (changed || answered) && this.opts.stateFile !== undefined
    // Stamped now and saved with the state in one atomic write: the journal commits a few
    // milliseconds later, and a power cut in between must lose neither the state nor the rating.
    const prepared = new Map<Effect, OutboxRecord>()
    for (const e of result.effects) {
      if (e.kind === 'reply') this.ledger.remember(e.cmd, e)
      if (!saving) continue
      if (e.kind === 'event') prepared.set(e, this.opts.link.prepare('event', e.event))
      else if (e.kind === 'reply') prepared.set(e, this.opts.link.prepare('reply', replyFields(e)))
    }
    if (saving) {
      // This save replaces the outbox of the last save (a rating, say, journalled a moment ago and
      // maybe not yet committed): the journal holds it first, or a power cut could lose it with neither.
      await this.opts.link.flush()
      // On disk before anyone is told: a crash after `called` went out must not restart to a dark display.
      await this.opts.stateFile!.save(this.state, [...prepared.values()], this.ledger.recent(LEDGER_SAVED), this.clockReading(wall, mono))
    }
    for (const e of result.effects) await this.perform(e, prepared.get(e))
    if (this.state !== before) this.opts.link.publish('state', this.stateMessage())
    await this.render()
    this.schedule()
  }

  private async perform(e: Effect, prepared?: OutboxRecord): Promise<void> {
    switch (e.kind) {
      case 'event': {
        if (prepared) this.opts.link.append(prepared)
        else this.opts.link.publish('event', e.event)
        const { type, ...fields } = e.event
        this.opts.log.info({ event: type, ...fields }, 'event')
        this.opts.hooks?.event(type, fields)
        return
      }
      case 'capture': {
        const device = this.opts.devices.captures?.[e.device]
        const run = device ? device.capture() : Promise.resolve<CaptureOutcome>({ ok: false, reason: 'not-ready', message: `no ${e.device} device` })
        // Not awaited: a capture takes seconds and the window keeps taking commands meanwhile.
        run
          .catch((err: Error): CaptureOutcome => ({ ok: false, reason: 'not-ready', message: err.message }))
          .then((outcome) => this.enqueue(() => this.apply({ kind: 'capture-result', device: e.device, cmd: e.cmd, outcome })))
        return
      }
      case 'self-test': {
        const run = this.opts.devices.selfTest ?? (async () => ({ ok: false, result: { error: 'this board has no self-test' } }))
        void run(e.tests)
          .catch((err: Error) => ({ ok: false, result: { error: err.message } }))
          .then(({ ok, result }) => {
            const reply: ReplyEffect = ok
              ? { kind: 'reply', cmd: e.cmd, name: 'self-test', ok: true, result }
              : // A refusal carries the whole outcome too, and its message names what failed, so central reads
                // both without parsing JSON out of a message cut at 480 characters.
                { kind: 'reply', cmd: e.cmd, name: 'self-test', ok: false, code: 'device-fault', message: selfTestFailures(result), result }
            this.answerLater(reply)
          })
        return
      }
      case 'update': {
        const begin = this.opts.updater
          ? this.opts.updater.begin(e.cmd)
          : Promise.resolve({ ok: false as const, code: 'unsupported' as const, message: UNINSTALLED })
        // Not awaited: the checks read files, and the window keeps taking commands meanwhile.
        void begin
          .catch((err: Error) => ({ ok: false as const, code: 'device-fault' as const, message: `update: ${err.message}`.slice(0, 480) }))
          .then((a) => {
            const reply: ReplyEffect = a.ok ? { kind: 'reply', cmd: e.cmd.id, name: 'update', ok: true, result: a.result } : { kind: 'reply', cmd: e.cmd.id, name: 'update', ok: false, code: a.code, message: a.message }
            this.answerLater(reply)
          })
        return
      }
      case 'reply':
        if (prepared) this.opts.link.append(prepared)
        else this.sendReply(e)
        return
      case 'identify':
        await this.guard('display', () => this.opts.devices.display.identify(e.seconds))
        return
      case 'sync':
        this.opts.link.republishBirth()
        this.opts.link.publish('state', this.stateMessage())
        return
      case 'apply-settings':
        if (e.logLevel) this.opts.setLogLevel?.(e.logLevel)
        this.opts.onSettings?.()
        return
    }
  }

  /**
   * The answer to a command that took its time (self-test, update): saved with the ledger before it
   * goes out, as an answer given at once is, so a retry of that id after a power cut gets this answer
   * and the tests or the update are not run again. In the input queue, so this save replaces the file's
   * outbox only once the journal holds it, like any other (see apply).
   */
  private answerLater(reply: ReplyEffect): void {
    this.ledger.remember(reply.cmd, reply)
    const file = this.opts.stateFile
    if (!file) return this.sendReply(reply)
    if (this.closing) {
      // Stopping: the queue takes no more; stop() saves the ledger once the queue has drained.
      this.answeredWhileClosing = true
      this.sendReply(reply)
      return
    }
    this.enqueue(async () => {
      const prepared = this.opts.link.prepare('reply', replyFields(reply))
      await this.opts.link.flush()
      await file.save(this.state, [prepared], this.ledger.recent(LEDGER_SAVED), this.clockReading(this.opts.now(), this.mono()))
      this.opts.link.append(prepared)
    })
  }

  private stateMessage() {
    return { ...stateFields(this.state), window: this.opts.publicWindow }
  }

  /**
   * What the display shows, when it changed: the dashboard draws this, not the
   * state, so a dead display is seen as dead (issue 21). The number is named
   * only when the glass carries it.
   */
  private publishScreen(): void {
    const shows = this.opts.devices.display.shows?.()
    if (!shows || this.stopped) return
    const number = this.state.ticket?.number ?? null
    const fields = {
      device: 'display',
      text: shows.text === null ? null : shows.text.slice(0, 400),
      ticket: number !== null && shows.text !== null && shows.text.includes(number) ? number : null,
      fault: shows.fault,
      picture: shows.picture ? { width: shows.picture.width, height: shows.picture.height, bits: Buffer.from(shows.picture.packRows()).toString('base64') } : null,
    }
    const key = JSON.stringify(fields)
    if (key === this.screenSent) return
    this.screenSent = key
    this.opts.link.publish('screen', fields)
  }

  private withPublicWindow(event: EventDraft): EventDraft {
    if (event.type === 'called' || event.type === 'recalled') return { ...event, window: this.opts.publicWindow }
    return event
  }

  private sendReply(e: ReplyEffect): void {
    this.opts.link.publish('reply', replyFields(e))
  }

  /** Pushes the state's view to the display and lamp, touching the hardware only on change. */
  private async render(): Promise<void> {
    const want = displayFor(this.state, this.mono())
    const { display, officerPanel } = this.opts.devices
    if (display.screen || officerPanel) {
      const view = screenViewFor(this.state, this.mono(), this.opts.screenInfo)
      const key = JSON.stringify(view)
      if (key !== this.shownScreen) {
        let ok = true
        if (display.screen) ok = (await this.guard('display', () => display.screen!(view))) && ok
        if (officerPanel) ok = (await this.guard('officer-panel', () => officerPanel.screen(view))) && ok
        this.shownScreen = ok ? key : undefined
      }
    }
    if (!display.screen && (!this.shown || want.text !== this.shown.text || want.attention !== this.shown.attention)) {
      const ok = await this.guard('display', async () => {
        await this.opts.devices.display.show(want.text)
        await this.opts.devices.display.attention(want.attention)
      })
      this.shown = ok ? want : undefined
    }
    this.opts.hooks?.covering(videoCovers(this.state))
    const lamp = statusLampFor(this.state)
    if (lamp !== this.lamp && this.opts.devices.statusLamp) {
      const l = this.opts.devices.statusLamp
      const ok = await this.guard('status-lamp', () => (lamp === 'off' ? l.off() : lamp === 'on' ? l.on() : l.blink(lamp === 'slow' ? { onMs: 1000, offMs: 1000 } : { onMs: 200, offMs: 200 })))
      this.lamp = ok ? lamp : undefined
    }
    const open = evaluatorOpen(this.state)
    if (open !== this.lampOpen) {
      const ok = await this.guard('evaluator', () => this.opts.devices.evaluator.setOpen(open))
      this.lampOpen = ok ? open : undefined
    }
  }

  /**
   * A device that fails never crashes the window: the devices report their own
   * faults (and recoveries) through the device-health sink (deviceHealth()); here we only log.
   */
  private async guard(device: string, action: () => Promise<void>): Promise<boolean> {
    try {
      await action()
      return true
    } catch (err) {
      this.opts.log.warn({ device, err: (err as Error).message }, 'device did not carry out the change')
      return false
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.closing || this.stopped) return
    const now = this.mono()
    const at = nextDeadline(this.state, now)
    if (at === null) return
    this.timer = setTimeout(() => this.enqueue(() => this.tick()), Math.max(0, at - now) + 5)
    this.timer.unref?.()
  }

  /**
   * Time passes. An evaluation does not close while the evaluator is still
   * deciding a press: the press may have come before the close, and is judged
   * by its own time once it is queued (ahead of this tick, which is queued again after it).
   */
  private async tick(): Promise<void> {
    const deciding = this.state.mode === 'evaluating' ? this.opts.devices.evaluator.deciding?.() : null
    if (deciding) {
      void deciding.then(() => this.enqueue(() => this.apply({ kind: 'tick' })))
      return
    }
    await this.apply({ kind: 'tick' })
  }

  async stop(): Promise<void> {
    // A key the applicant pressed just before the stop is still settling (edge/devices/evaluator.ts, at most
    // its max settle time): it is their rating, so it is decided and taken before the window closes.
    const deciding = this.state.mode === 'evaluating' ? this.opts.devices.evaluator.deciding?.() : null
    if (deciding) await deciding
    // What was queued before the stop (that press, a command) is applied and answered while the link is still up.
    this.closing = true
    if (this.timer) clearTimeout(this.timer)
    await this.inputs.drain()
    this.stopped = true
    const file = this.opts.stateFile
    if (file && (file.outboxPending || this.answeredWhileClosing)) {
      // A clean stop: once the journal has the outbox, the next start need not send it again (and the ledger keeps a late answer).
      try {
        await this.opts.link.flush()
        await file.save(this.state, [], this.ledger.recent(LEDGER_SAVED), this.clockReading(this.opts.now(), this.mono()))
        await file.flush()
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, 'could not clear the saved outbox; the next start sends it again')
      }
    }
  }
}

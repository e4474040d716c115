/**
 * GpioBackend over a johnny-five board's IO: the Firmata board of the
 * portable window, or our J5IoPlugin in the simulator. The runtime's own key,
 * lamp and relay drivers then run on johnny-five's pins, with our debounce,
 * stuck and chatter detection rather than Button's fixed 7 ms trailing
 * debounce, which drops short taps (docs/hardware.md §3.5).
 *
 * A line's pin is its offset (the Arduino pin number). IO levels are
 * electrical, as Firmata's are; activeLow is applied here. Inputs with a
 * pull-up bias use Firmata's PULLUP mode (the Uno's internal resistor).
 * StandardFirmata drives a pin LOW when it becomes an output, so an
 * active-low output glitches active for a moment at start: the open logs a
 * warning, and the kit's profile keeps its outputs active high.
 *
 * An input is open only once the board has reported its level: until then
 * Firmata's pin value is a 0 nobody measured, which an idle active-low key
 * would read as held. A board that is lost (j5-board.ts) fails every read
 * and write with ENODEV, so every device on it reports a fault.
 */
import type { Io } from 'johnny-five'
import type { Logger } from 'pino'
import type { GpioBackend, GpioLine, Level, LineSpec } from './gpio-port.ts'
import { isLevel } from './gpio-port.ts'
import { flushIo, type J5Context } from './j5-board.ts'

export interface J5GpioBackendOptions {
  j5: J5Context
  log?: Logger
  /** How long an input may take to report its first level before the open fails; default 3 s. */
  firstReportMs?: number
}

export class J5GpioBackend implements GpioBackend {
  readonly j5: J5Context
  private readonly log: Logger | undefined
  private readonly firstReportMs: number
  private readonly lines = new Map<number, J5Line>()

  constructor(opts: J5GpioBackendOptions) {
    this.j5 = opts.j5
    this.log = opts.log
    this.firstReportMs = opts.firstReportMs ?? 3_000
  }

  async open(spec: LineSpec): Promise<GpioLine> {
    const io = this.j5.io
    const pin = spec.offset
    const info = io.pins[pin]
    if (info === undefined || info.supportedModes.length === 0) {
      throw gpioError('EINVAL', `line '${spec.name}': ${this.j5.where} has no digital pin ${pin}`)
    }
    if (this.lines.has(pin)) throw gpioError('EBUSY', `line '${spec.name}': pin ${pin} is already open`)
    if (spec.initial !== undefined && !isLevel(spec.initial)) throw gpioError('EINVAL', `line '${spec.name}': initial level must be 0 or 1`)
    if (this.j5.lost !== undefined) throw this.j5.lost
    const activeLow = spec.activeLow ?? false
    const line = new J5Line(spec, this.j5, () => this.lines.delete(pin))
    if (spec.direction === 'out') {
      if (!info.supportedModes.includes(io.MODES.OUTPUT!)) throw gpioError('EINVAL', `line '${spec.name}': pin ${pin} cannot be an output`)
      if (activeLow && io.name === 'Firmata') {
        this.log?.warn({ line: spec.name, pin }, 'StandardFirmata drives a new output LOW: this active-low output is active for a moment at start')
      }
      io.pinMode(pin, io.MODES.OUTPUT!)
      io.digitalWrite(pin, (spec.initial ?? 0) ^ (activeLow ? 1 : 0))
    } else {
      const pullup = io.MODES.PULLUP
      const mode = spec.bias === 'pull-up' && pullup !== undefined && info.supportedModes.includes(pullup) ? pullup : io.MODES.INPUT!
      io.pinMode(pin, mode)
      line.listen()
      await line.firstReport(this.firstReportMs)
    }
    await flushIo(io)
    this.lines.set(pin, line)
    return line
  }

  async stop(): Promise<void> {
    for (const line of [...this.lines.values()].reverse()) await line.close()
  }
}

function gpioError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code })
}

class J5Line implements GpioLine {
  readonly name: string
  private readonly spec: LineSpec
  private readonly j5: J5Context
  private readonly io: Io
  private readonly pin: number
  private readonly invert: 0 | 1
  private readonly onClose: () => void
  private readonly watchers = new Set<(v: Level) => void>()
  private readonly handler = (raw: number) => this.onRaw(raw)
  private last: Level | undefined
  private reported: (() => void) | undefined
  private readonly reportedOnce = new Promise<void>((resolve) => {
    this.reported = resolve
  })
  private closed = false

  constructor(spec: LineSpec, j5: J5Context, onClose: () => void) {
    this.name = spec.name
    this.spec = spec
    this.j5 = j5
    this.io = j5.io
    this.pin = spec.offset
    this.invert = spec.activeLow ? 1 : 0
    this.onClose = onClose
  }

  listen(): void {
    this.io.digitalRead(this.pin, this.handler)
  }

  /** Resolves once the board has reported the pin's level; rejects (EIO) when it does not within `ms`. */
  async firstReport(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(gpioError('EIO', `line '${this.name}': ${this.j5.where} did not report pin ${this.pin} within ${ms} ms / 控制板未报告引脚电平`)),
        ms,
      )
    })
    try {
      await Promise.race([this.reportedOnce, late])
    } finally {
      clearTimeout(timer)
    }
  }

  async read(): Promise<Level> {
    this.check('read')
    return (((this.io.pins[this.pin]?.value ?? 0) ? 1 : 0) ^ this.invert) as Level
  }

  async write(v: Level): Promise<void> {
    this.check('write')
    if (!isLevel(v)) throw new TypeError(`line '${this.name}': level must be 0 or 1, got ${String(v)}`)
    if (this.spec.direction !== 'out') throw gpioError('EPERM', `operation not permitted, write (line '${this.name}' is an input)`)
    this.io.digitalWrite(this.pin, v ^ this.invert)
    await flushIo(this.io)
  }

  watch(cb: (v: Level) => void): () => void {
    this.check('watch')
    const edge = this.spec.edge ?? 'none'
    if (this.spec.direction !== 'in' || edge === 'none') {
      throw gpioError('EINVAL', `line '${this.name}' has no edge to watch (direction ${this.spec.direction}, edge ${edge})`)
    }
    this.watchers.add(cb)
    return () => this.watchers.delete(cb)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.watchers.clear()
    if (this.spec.direction === 'in') this.io.removeListener(`digital-read-${this.pin}`, this.handler)
    else if (this.j5.lost === undefined) {
      this.io.digitalWrite(this.pin, (this.spec.initial ?? 0) ^ this.invert)
      await flushIo(this.io).catch(() => undefined)
    }
    this.onClose()
  }

  /** Firmata reports every pin of a port whenever one changes: pass on real changes only. */
  private onRaw(raw: number): void {
    if (this.closed) return
    const v = ((raw ? 1 : 0) ^ this.invert) as Level
    if (v === this.last) return
    const first = this.last === undefined
    this.last = v
    if (first) {
      this.reported?.()
      return
    }
    const edge = this.spec.edge ?? 'none'
    if (edge === 'both' || (edge === 'rising' && v === 1) || (edge === 'falling' && v === 0)) {
      for (const cb of [...this.watchers]) cb(v)
    }
  }

  private check(op: string): void {
    if (this.closed) throw gpioError('EBADF', `line '${this.name}' is closed (${op})`)
    if (this.j5.lost !== undefined) throw this.j5.lost
  }
}

/**
 * A profile line as the IO plugin should open it to stand in for Firmata:
 * electrical levels (no activeLow), outputs starting at their raw idle level,
 * inputs reported on both edges.
 */
export function electricalLineSpec(spec: LineSpec): LineSpec {
  const { activeLow, initial, edge, ...rest } = spec
  void edge
  if (spec.direction === 'out') return { ...rest, activeLow: false, initial: ((initial ?? 0) ^ (activeLow ? 1 : 0)) as Level }
  return { ...rest, activeLow: false, edge: 'both' }
}

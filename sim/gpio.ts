/**
 * A simulated board's GPIO: named pins with electrical levels, and the
 * GpioBackend the runtime opens lines through.
 *
 * Two views of the same pin, as on real hardware: the simulator side (keys,
 * relay and NVR models, tests) works with ELECTRICAL levels and with the
 * board's wiring, the port side sees LOGICAL levels through the activeLow the
 * runtime asked for. A profile that declares a key's activeLow wrongly thus
 * inverts the key here exactly as it would on the board.
 *
 * It serves both Linux GPIO adapters as the profile picks them
 * (`gpio.backend`): as the character device it debounces an input in the
 * "kernel" when the line asks for it and stamps each edge with the time it
 * happened; as sysfs it refuses kernel debounce, as onoff does.
 */
import { EventEmitter } from 'node:events'
import type { EdgeStamp, GpioBackend, GpioLine, Level, LineSpec } from '../edge/hardware/gpio-port.ts'
import { isLevel } from '../edge/hardware/gpio-port.ts'

/** A pin as wired on the simulated board. */
export interface SimLineDef {
  name: string
  chip: string
  offset: number
  /** How the board is wired: true when the pin reads 0 while the key is pressed / drives 0 to light. */
  activeLow?: boolean
  /** When set, opening the line with the other direction fails (a miswired profile). */
  direction?: 'in' | 'out'
}

export interface PinChange {
  name: string
  /** Electrical level. */
  level: Level
  /** Active as wired (pressed, lit, energised). */
  active: boolean
  at: number
}

export interface SimGpioEvents {
  change: [PinChange]
}

export interface PressOptions {
  /** From first contact to release; default 80 ms. */
  holdMs?: number
  /**
   * Contact bounce: ms after first contact at which the contact toggles, one
   * edge each (e.g. [1, 2, 3]). If the toggles leave it open, it closes again
   * 1 ms after the last one.
   */
  bounce?: number[]
  /** The same after the release, relative to it. */
  releaseBounce?: number[]
}

export interface SimGpioOptions {
  lines: readonly SimLineDef[]
  now?: () => number
  /** Transitions kept per pin; default 500. */
  keepHistory?: number
  /** Which Linux GPIO interface the board's lines behave as (the profile's gpio.backend); default 'sysfs'. */
  backend?: 'sysfs' | 'chardev'
}

interface Pin {
  def: SimLineDef
  level: Level
  history: PinChange[]
  open: SimLine | undefined
  /** While set, every write to the pin fails with it and the pin keeps its level. */
  writeFault: Error | undefined
}

export class SimGpio extends EventEmitter<SimGpioEvents> implements GpioBackend {
  private readonly pins = new Map<string, Pin>()
  private readonly now: () => number
  private readonly keepHistory: number
  readonly linuxBackend: 'sysfs' | 'chardev'

  constructor(opts: SimGpioOptions) {
    super()
    this.now = opts.now ?? (() => Date.now())
    this.linuxBackend = opts.backend ?? 'sysfs'
    this.keepHistory = opts.keepHistory ?? 500
    for (const def of opts.lines) {
      if (this.pins.has(def.name)) throw new Error(`simulated board declares line '${def.name}' twice`)
      const clash = [...this.pins.values()].find((p) => p.def.chip === def.chip && p.def.offset === def.offset)
      if (clash) throw new Error(`lines '${clash.def.name}' and '${def.name}' are both ${def.chip}:${def.offset}`)
      // Idle as wired: pull-ups hold active-low keys high, outputs rest inactive.
      this.pins.set(def.name, { def, level: def.activeLow ? 1 : 0, history: [], open: undefined, writeFault: undefined })
    }
  }

  lineNames(): string[] {
    return [...this.pins.keys()]
  }

  isOpen(name: string): boolean {
    return this.pin(name).open !== undefined
  }

  async open(spec: LineSpec): Promise<GpioLine> {
    const pin = this.pins.get(spec.name)
    if (pin === undefined) throw gpioError('EINVAL', `no line '${spec.name}' on the simulated board`)
    const { def } = pin
    if (spec.chip !== undefined && spec.chip !== def.chip) {
      throw gpioError('EINVAL', `line '${spec.name}': chip '${spec.chip}' asked, the board has it on '${def.chip}'`)
    }
    if (spec.offset !== def.offset) {
      throw gpioError('EINVAL', `line '${spec.name}': offset ${spec.offset} asked, the board has it at ${def.offset}`)
    }
    if (def.direction !== undefined && spec.direction !== def.direction) {
      throw gpioError('EINVAL', `line '${spec.name}' is wired as an ${def.direction}put, opened as ${spec.direction}put`)
    }
    if (pin.open !== undefined) throw gpioError('EBUSY', `line '${spec.name}' is already open`)
    if (spec.initial !== undefined && !isLevel(spec.initial)) {
      throw gpioError('EINVAL', `line '${spec.name}': initial level must be 0 or 1`)
    }
    if ((spec.debounceUs ?? 0) > 0 && (this.linuxBackend !== 'chardev' || spec.direction !== 'in')) {
      throw gpioError('EINVAL', `line '${spec.name}' asks for kernel debounce, which only a chardev input has`)
    }
    const line = new SimLine(spec, {
      chardev: this.linuxBackend === 'chardev',
      now: this.now,
      read: () => pin.level,
      writeFault: () => pin.writeFault,
      drive: (level) => this.drive(pin, level),
      release: () => this.release(pin),
    })
    pin.open = line
    if (spec.direction === 'out') this.drive(pin, toElectrical(spec.initial ?? 0, spec.activeLow))
    return line
  }

  async stop(): Promise<void> {
    for (const pin of this.pins.values()) await pin.open?.close()
  }

  /** Drives an input pin to an electrical level, as the key or device wired to it would. */
  setInput(name: string, level: Level): void {
    const pin = this.pin(name)
    if (!isLevel(level)) throw new TypeError(`level for '${name}' must be 0 or 1`)
    if (this.isOutput(pin)) throw gpioError('EPERM', `line '${name}' is an output; the simulator cannot drive it`)
    this.drive(pin, level)
  }

  /** Puts an input in its active or idle state as wired (true = key held down). */
  setActive(name: string, active: boolean): void {
    const pin = this.pin(name)
    this.setInput(name, toElectrical(active ? 1 : 0, pin.def.activeLow))
  }

  /**
   * Makes every write to an output fail from now on, as a dead driver
   * transistor, a relay board that lost its supply or a GPIO chip that
   * answers EIO would; the pin keeps its level. `null` heals it: the next
   * write works again.
   */
  failWrites(name: string, err: Error | null = gpioError('EIO', `i/o error, write (line '${name}')`)): void {
    this.pin(name).writeFault = err ?? undefined
  }

  /** One key press with optional contact bounce; resolves after the release (driven by setTimeout). */
  press(name: string, opts: PressOptions = {}): Promise<void> {
    const holdMs = opts.holdMs ?? 80
    const steps = [...contactSteps(0, true, opts.bounce ?? []), ...contactSteps(holdMs, false, opts.releaseBounce ?? [])]
    const last = steps[steps.length - 1]?.at ?? holdMs
    try {
      if ((opts.bounce ?? []).some((t) => t + 1 >= holdMs)) {
        throw new RangeError(`bounce on '${name}' must settle before the release at ${holdMs} ms`)
      }
      this.setActive(name, true) // fail here, not inside a timer, for an unknown line or an output
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve) => {
      for (const step of steps.slice(1)) setTimeout(() => this.setActive(name, step.active), step.at)
      setTimeout(resolve, last)
    })
  }

  /** Electrical level of a pin. */
  level(name: string): Level {
    return this.pin(name).level
  }

  /** Whether a pin is in its active state as wired (lamp lit, relay energised, key held). */
  isActive(name: string): boolean {
    const pin = this.pin(name)
    return toElectrical(pin.level, pin.def.activeLow) === 1
  }

  history(name: string): readonly PinChange[] {
    return [...this.pin(name).history]
  }

  private pin(name: string): Pin {
    const pin = this.pins.get(name)
    if (pin === undefined) throw new Error(`no line '${name}' on the simulated board`)
    return pin
  }

  private isOutput(pin: Pin): boolean {
    return pin.def.direction === 'out' || pin.open?.direction === 'out'
  }

  private drive(pin: Pin, level: Level): void {
    if (pin.level === level) return
    pin.level = level
    const change: PinChange = {
      name: pin.def.name,
      level,
      active: toElectrical(level, pin.def.activeLow) === 1,
      at: this.now(),
    }
    pin.history.push(change)
    if (pin.history.length > this.keepHistory) pin.history.shift()
    this.emit('change', change)
    if (pin.open?.direction === 'in') pin.open.edge(level)
  }

  /** Closing a line lets the pin go back to how the board rests: outputs inactive. */
  private release(pin: Pin): void {
    const wasOutput = pin.open?.direction === 'out'
    pin.open = undefined
    if (wasOutput) this.drive(pin, pin.def.activeLow ? 1 : 0)
  }
}

/** logical ↔ electrical (the same XOR both ways). */
function toElectrical(level: Level, activeLow: boolean | undefined): Level {
  return activeLow ? ((1 - level) as Level) : level
}

function contactSteps(start: number, closing: boolean, bounce: readonly number[]): Array<{ at: number; active: boolean }> {
  const steps = [{ at: start, active: closing }]
  let state = closing
  const toggles = [...bounce].sort((a, b) => a - b)
  for (const t of toggles) {
    state = !state
    steps.push({ at: start + t, active: state })
  }
  if (state !== closing) steps.push({ at: start + (toggles[toggles.length - 1] ?? 0) + 1, active: closing })
  return steps
}

function gpioError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code })
}

interface PinAccess {
  /** Edges carry a kernel timestamp and may be debounced, as on the character device. */
  chardev: boolean
  now(): number
  read(): Level
  writeFault(): Error | undefined
  drive(level: Level): void
  release(): void
}

class SimLine implements GpioLine {
  readonly name: string
  readonly direction: 'in' | 'out'
  private readonly spec: LineSpec
  private readonly pin: PinAccess
  private readonly watchers = new Set<(v: Level, stamp?: EdgeStamp) => void>()
  private last: Level
  private debounce: NodeJS.Timeout | undefined
  private closed = false

  constructor(spec: LineSpec, pin: PinAccess) {
    this.name = spec.name
    this.direction = spec.direction
    this.spec = spec
    this.pin = pin
    this.last = this.logical()
  }

  async read(): Promise<Level> {
    this.check('read')
    return this.logical()
  }

  async write(v: Level): Promise<void> {
    this.check('write')
    if (!isLevel(v)) throw new TypeError(`line '${this.name}': level must be 0 or 1, got ${String(v)}`)
    if (this.direction !== 'out') throw gpioError('EPERM', `operation not permitted, write (line '${this.name}' is an input)`)
    const fault = this.pin.writeFault()
    if (fault !== undefined) throw fault
    this.pin.drive(toElectrical(v, this.spec.activeLow))
  }

  watch(cb: (v: Level, stamp?: EdgeStamp) => void): () => void {
    this.check('watch')
    const edge = this.spec.edge ?? 'none'
    if (this.direction !== 'in' || edge === 'none') {
      throw gpioError('EINVAL', `line '${this.name}' has no edge to watch (direction ${this.direction}, edge ${edge})`)
    }
    this.watchers.add(cb)
    return () => this.watchers.delete(cb)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.watchers.clear()
    clearTimeout(this.debounce)
    this.pin.release()
  }

  /** Called by the board on every electrical change of an input pin. */
  edge(electrical: Level): void {
    const debounceUs = this.spec.debounceUs ?? 0
    if (this.pin.chardev && debounceUs > 0) {
      // The kernel reports the level once it has been still for the period.
      clearTimeout(this.debounce)
      this.debounce = setTimeout(() => this.settled(this.pin.read()), Math.max(1, Math.ceil(debounceUs / 1000)))
      return
    }
    this.settled(electrical)
  }

  private settled(electrical: Level): void {
    const v = toElectrical(electrical, this.spec.activeLow)
    const prev = this.last
    this.last = v
    if (v === prev) return
    const edge = this.spec.edge ?? 'none'
    const wanted = edge === 'both' || (edge === 'rising' && v === 1) || (edge === 'falling' && v === 0)
    if (!wanted) return
    const stamp = this.pin.chardev ? { kernelNs: BigInt(Math.round(this.pin.now() * 1e6)) } : undefined
    for (const cb of [...this.watchers]) cb(v, stamp)
  }

  private logical(): Level {
    return toElectrical(this.pin.read(), this.spec.activeLow)
  }

  private check(op: string): void {
    if (this.closed) throw gpioError('EBADF', `line '${this.name}' is closed (${op})`)
  }
}

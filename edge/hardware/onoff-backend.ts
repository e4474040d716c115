/**
 * GpioBackend over onoff (sysfs GPIO), docs/hardware.md §1.
 *
 * - Lines are found at run time: chip label + offset → base + offset
 *   (sysfs-gpiochips.ts), never a hard-coded number.
 * - Levels are logical: onoff's `activeLow` makes the kernel invert value
 *   and edges.
 * - Outputs start in their safe level without a glitch: the direction is
 *   written as 'high' or 'low' (the RAW level = initial XOR activeLow). onoff's
 *   'out' means raw low, which would energise an active-low relay board.
 * - Edges: the line is watched on both edges (filtered here, so the level we
 *   last saw stays right) through onoff's epoll. Where that cannot work, the
 *   line is polled instead: watch() throwing (EPERM), no `edge` file (a bank
 *   without interrupts, older Allwinner kernels), or interrupts that never
 *   come (Pi 5's RP1 outside GPIO function mode): a slow re-read finds
 *   changes the interrupts missed, delivers them, and after two misses in a
 *   row switches the line to polling.
 * - Reads and writes use onoff's sync calls: a sysfs value file answers at
 *   once, and sync writes keep their order across lines, which bit-banging
 *   a MAX7219 needs (async writes on the libuv pool may complete out of order).
 *
 * onoff's root path is a private constant, so tests inject the Gpio class
 * (test/support/fake-sysfs.ts) together with the sysfs root it works on.
 */
import type { Logger } from 'pino'
import type { BinaryValue, Direction, Edge as OnoffEdge, Options as OnoffOptions } from 'onoff'
import type { GpioBackend, GpioLine, Level, LineSpec } from './gpio-port.ts'
import { isLevel } from './gpio-port.ts'
import { readSysfsGpioChips, resolveSysfsNumber, SYSFS_GPIO_ROOT, SysfsGpioUnavailableError, type SysfsGpioChip } from './sysfs-gpiochips.ts'

/** What we use of an onoff Gpio. */
export interface OnoffGpio {
  readSync(): BinaryValue
  writeSync(value: BinaryValue): void
  watch(callback: (err: Error | null | undefined, value: BinaryValue) => void): void
  unwatch(callback?: (err: Error | null | undefined, value: BinaryValue) => void): void
  unexport(): void
}

export type GpioCtor = new (gpio: number, direction: Direction, edge?: OnoffEdge, options?: OnoffOptions) => OnoffGpio

export interface OnoffBackendOptions {
  /** Default /sys/class/gpio; anything else needs an injected `Gpio` that works there. */
  sysfsRoot?: string
  /** onoff's Gpio class, or a stand-in for tests; default: loaded from 'onoff' on first open. */
  Gpio?: GpioCtor
  log?: Logger
  /** Polling period of a line whose edges cannot be watched; default 10 ms. */
  pollMs?: number
  /** Re-read period of a watched line, to find lost interrupts; default 200 ms. */
  verifyMs?: number
}

type ErrnoLike = Error & { code?: string; path?: string }

export class OnoffBackend implements GpioBackend {
  readonly sysfsRoot: string
  private readonly log: Logger | undefined
  private readonly pollMs: number
  private readonly verifyMs: number
  private Gpio: GpioCtor | undefined
  private chips: SysfsGpioChip[] | undefined
  private readonly open_ = new Map<string, OnoffLine>()

  constructor(opts: OnoffBackendOptions = {}) {
    this.sysfsRoot = opts.sysfsRoot ?? SYSFS_GPIO_ROOT
    this.Gpio = opts.Gpio
    this.log = opts.log
    this.pollMs = opts.pollMs ?? 10
    this.verifyMs = opts.verifyMs ?? 200
    if (this.Gpio === undefined && this.sysfsRoot !== SYSFS_GPIO_ROOT) {
      throw new Error(`onoff always works on ${SYSFS_GPIO_ROOT}; a sysfsRoot of ${this.sysfsRoot} needs a Gpio class that uses it`)
    }
  }

  async open(spec: LineSpec): Promise<GpioLine> {
    if (this.open_.has(spec.name)) throw lineError(spec, 'EBUSY', 'is already open')
    if (spec.chip === undefined) throw lineError(spec, 'EINVAL', 'names no gpiochip label; sysfs numbers are never configured directly')
    if (spec.initial !== undefined && !isLevel(spec.initial)) throw lineError(spec, 'EINVAL', 'initial level must be 0 or 1')
    if ((spec.debounceUs ?? 0) > 0) throw lineError(spec, 'EINVAL', "asks for kernel debounce, which sysfs cannot give (gpio.backend 'chardev' can)")
    const chips = await this.readChips()
    const number = resolveSysfsNumber(chips, { name: spec.name, chip: spec.chip, offset: spec.offset }, this.sysfsRoot)
    const Gpio = await this.gpioClass()
    const activeLow = spec.activeLow ?? false
    let gpio: OnoffGpio
    let edgeCapable = false
    try {
      if (spec.direction === 'out') {
        const raw = (spec.initial ?? 0) ^ (activeLow ? 1 : 0)
        gpio = new Gpio(number, raw === 1 ? 'high' : 'low', undefined, { activeLow })
      } else {
        try {
          gpio = new Gpio(number, 'in', 'both', { activeLow })
          edgeCapable = true
        } catch (err) {
          if (!isMissingEdgeFile(err)) throw err
          this.log?.warn({ line: spec.name, gpio: number }, 'line has no edge interrupt (no edge file); it will be polled')
          gpio = new Gpio(number, 'in', undefined, { activeLow })
        }
      }
    } catch (err) {
      throw this.explain(spec, number, err)
    }
    const line = new OnoffLine(spec, number, gpio, {
      edgeCapable,
      pollMs: this.pollMs,
      verifyMs: this.verifyMs,
      log: this.log,
      onClose: () => this.open_.delete(spec.name),
    })
    this.open_.set(spec.name, line)
    return line
  }

  async stop(): Promise<void> {
    for (const line of [...this.open_.values()].reverse()) await line.close()
  }

  private async readChips(): Promise<SysfsGpioChip[]> {
    this.chips ??= await readSysfsGpioChips(this.sysfsRoot)
    return this.chips
  }

  private async gpioClass(): Promise<GpioCtor> {
    if (this.Gpio === undefined) {
      const onoff = await import('onoff')
      this.Gpio = onoff.Gpio
    }
    return this.Gpio
  }

  /** What a technician reads when a line will not open, usually at start: what is wrong and what to check, Chinese then English, the kernel's words last. */
  private explain(spec: LineSpec, number: number, err: unknown): Error {
    const e = err as ErrnoLike
    const where = `line '${spec.name}' (${spec.chip}:${spec.offset} = sysfs gpio${number})`
    const exportPath = `${this.sysfsRoot}/export`
    let zh: string
    let hint: string
    switch (e.code) {
      case 'EINVAL':
        zh = `内核拒绝导出 gpio${number}：此内核下编号不对（检查 base + offset）或此脚不是 GPIO`
        hint = `the kernel refused to export gpio${number}: the number is wrong for this kernel (check base + offset) or the pin is not a GPIO`
        break
      case 'EBUSY':
        zh = `gpio${number} 已被内核驱动或其他程序占用：检查 config.txt 的设备树覆盖层（1-wire、SPI 等）与占用它的程序（见 /sys/kernel/debug/gpio）`
        hint = `gpio${number} is in use by a kernel driver or another program (an overlay in config.txt, 1-wire, SPI, …; see /sys/kernel/debug/gpio)`
        break
      case 'EACCES':
      case 'EPERM':
        zh = `没有 ${this.sysfsRoot} 的权限：把运行用户加入 gpio 组（sudo usermod -aG gpio $USER），或安装 udev 规则`
        hint = `no permission on ${this.sysfsRoot}: add the user to the 'gpio' group (sudo usermod -aG gpio $USER) or install a udev rule`
        break
      case 'ENOENT':
        if (e.path === exportPath || e.message.includes(exportPath)) return new SysfsGpioUnavailableError(this.sysfsRoot, { cause: err })
        zh = `缺少 sysfs 文件（${e.path ?? e.message}）：检查内核的 GPIO sysfs 支持`
        hint = `a sysfs file is missing (${e.path ?? e.message})`
        break
      default:
        zh = '无法打开该 GPIO 线：检查板卡配置中的芯片与脚号，并查看内核日志（dmesg）'
        hint = e.message
    }
    return Object.assign(new Error(`${where}: ${zh} / ${hint} (${e.code ?? 'error'}: ${e.message})`, { cause: err }), {
      code: e.code,
    })
  }
}

function isMissingEdgeFile(err: unknown): boolean {
  const e = err as ErrnoLike
  return e?.code === 'ENOENT' && (e.path?.endsWith('/edge') === true || /\/edge'?$/.test(e.message))
}

function lineError(spec: LineSpec, code: string, what: string): Error {
  return Object.assign(new Error(`${code}: line '${spec.name}' ${what}`), { code })
}

interface OnoffLineOptions {
  edgeCapable: boolean
  pollMs: number
  verifyMs: number
  log: Logger | undefined
  onClose: () => void
}

type IrqHandler = (err: Error | null | undefined, value: BinaryValue) => void

/** Consecutive changes the re-read finds before interrupts are given up on. */
const MISSES_BEFORE_POLLING = 2

class OnoffLine implements GpioLine {
  readonly name: string
  readonly sysfsNumber: number
  private readonly spec: LineSpec
  private readonly gpio: OnoffGpio
  private readonly opts: OnoffLineOptions
  private readonly watchers = new Set<(v: Level) => void>()
  private mode: 'irq' | 'poll'
  private last: Level = 0
  private misses = 0
  private timer: NodeJS.Timeout | undefined
  private readonly irq: IrqHandler
  private closed = false

  constructor(spec: LineSpec, sysfsNumber: number, gpio: OnoffGpio, opts: OnoffLineOptions) {
    this.name = spec.name
    this.sysfsNumber = sysfsNumber
    this.spec = spec
    this.gpio = gpio
    this.opts = opts
    this.mode = opts.edgeCapable ? 'irq' : 'poll'
    this.irq = (err, value) => {
      if (err) {
        this.opts.log?.warn({ line: this.name, err }, 'edge interrupt error')
        return
      }
      if (this.deliver(value)) this.misses = 0
    }
  }

  /** 'irq' while edge interrupts are trusted, 'poll' once they are not (for logs and tests). */
  get edgeMode(): 'irq' | 'poll' {
    return this.mode
  }

  async read(): Promise<Level> {
    this.check('read')
    return this.gpio.readSync()
  }

  async write(v: Level): Promise<void> {
    this.check('write')
    if (!isLevel(v)) throw new TypeError(`line '${this.name}': level must be 0 or 1, got ${String(v)}`)
    if (this.spec.direction !== 'out') {
      throw Object.assign(new Error(`EPERM: operation not permitted, write (line '${this.name}' is an input)`), { code: 'EPERM' })
    }
    this.gpio.writeSync(v)
  }

  watch(cb: (v: Level) => void): () => void {
    this.check('watch')
    const edge = this.spec.edge ?? 'none'
    if (this.spec.direction !== 'in' || edge === 'none') {
      throw Object.assign(new Error(`EINVAL: line '${this.name}' has no edge to watch (direction ${this.spec.direction}, edge ${edge})`), {
        code: 'EINVAL',
      })
    }
    this.watchers.add(cb)
    if (this.watchers.size === 1) this.arm()
    return () => {
      if (this.watchers.delete(cb) && this.watchers.size === 0) this.disarm()
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.watchers.clear()
    this.disarm()
    try {
      // Its inactive level, which for a MAX7219's LOAD is high (gpio-port.ts: LineSpec.initial).
      if (this.spec.direction === 'out') this.gpio.writeSync(this.spec.initial ?? 0)
    } finally {
      this.gpio.unexport()
      this.opts.onClose()
    }
  }

  private arm(): void {
    this.last = this.gpio.readSync()
    this.misses = 0
    if (this.mode === 'irq') {
      try {
        this.gpio.watch(this.irq)
      } catch (err) {
        this.opts.log?.warn({ line: this.name, gpio: this.sysfsNumber, err: (err as Error).message }, 'edges cannot be watched; polling')
        this.mode = 'poll'
      }
    }
    this.startTimer()
  }

  private disarm(): void {
    clearInterval(this.timer)
    this.timer = undefined
    if (this.mode === 'irq') this.gpio.unwatch(this.irq)
  }

  private startTimer(): void {
    clearInterval(this.timer)
    const polling = this.mode === 'poll'
    this.timer = setInterval(() => (polling ? this.poll() : this.verify()), polling ? this.opts.pollMs : this.opts.verifyMs)
  }

  private poll(): void {
    const v = this.readQuietly()
    if (v !== undefined) this.deliver(v)
  }

  /** The slow re-read of a watched line: a change found here is one the interrupts missed. */
  private verify(): void {
    const v = this.readQuietly()
    if (v === undefined || !this.deliver(v)) return
    this.misses++
    if (this.misses < MISSES_BEFORE_POLLING) return
    this.opts.log?.warn(
      { line: this.name, gpio: this.sysfsNumber, pollMs: this.opts.pollMs },
      'edge interrupts are not arriving (pin not in GPIO mode? bank without IRQs?); polling instead',
    )
    this.gpio.unwatch(this.irq)
    this.mode = 'poll'
    this.startTimer()
  }

  private readQuietly(): Level | undefined {
    try {
      return this.gpio.readSync()
    } catch (err) {
      this.opts.log?.warn({ line: this.name, err: (err as Error).message }, 'read failed')
      return undefined
    }
  }

  /** Passes a level change to the watchers the line's edge setting lets through; false if nothing changed. */
  private deliver(v: Level): boolean {
    if (v === this.last) return false
    this.last = v
    const edge = this.spec.edge ?? 'none'
    if (edge === 'both' || (edge === 'rising' && v === 1) || (edge === 'falling' && v === 0)) {
      for (const cb of [...this.watchers]) cb(v)
    }
    return true
  }

  private check(op: string): void {
    if (this.closed) throw Object.assign(new Error(`EBADF: line '${this.name}' is closed (${op})`), { code: 'EBADF' })
  }
}

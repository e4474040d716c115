/**
 * A fake sysfs GPIO tree in a temp directory, and a stand-in for onoff's Gpio
 * class that works on it, for testing the onoff adapter without a kernel.
 *
 * onoff hard-codes /sys/class/gpio (docs/hardware.md §1.3) and mock-fs is not
 * installed, so the adapter takes its Gpio class by injection and this one
 * follows onoff's constructor step by step (export if needed, active_low,
 * direction, edge; errors swallowed for a line exported before), reading and
 * writing real files. The kernel's side, which plain files cannot have, is
 * FakeSysfs itself: it validates exports against the chips (a raw BCM number
 * on a 6.6 kernel gets EINVAL), keeps each pin's ELECTRICAL level, applies
 * active_low to `value` and edges, turns 'high'/'low'/'out' into raw levels,
 * refuses writes to inputs (EPERM) and delivers edge interrupts, or not.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BinaryValue, Direction, Edge, Options } from 'onoff'
import type { GpioCtor, OnoffGpio } from '../../edge/hardware/onoff-backend.ts'

export interface FakeChip {
  label: string
  /**
   * The parent device's name ('44e07000.gpio'): gpiochipN/device is made a
   * symlink to a folder of that name, as the kernel links it.
   */
  device?: string
  base: number
  ngpio: number
  /** Offsets whose lines have no `edge` file (no interrupt on that bank). */
  noIrq?: number[]
}

/**
 * How edge interrupts behave: 'irq' delivers them; 'silent' accepts watch()
 * but never fires (Pi 5 RP1 outside GPIO mode); 'eperm' makes watch() throw,
 * as epoll_ctl does on a regular file.
 */
export type EdgeDelivery = 'irq' | 'silent' | 'eperm'

type Raw = 0 | 1
type IrqCallback = (err: Error | null | undefined, value: BinaryValue) => void

interface KernelLine {
  direction: 'in' | 'out'
  activeLow: boolean
  edge: Edge
  watchers: Set<IrqCallback>
}

function errnoError(code: string, message: string, path?: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code, ...(path !== undefined ? { path } : {}) })
}

export class FakeSysfs {
  readonly root: string
  edgeDelivery: EdgeDelivery
  /** Numbers written to `export`, in order. */
  readonly exports: number[] = []
  readonly Gpio: GpioCtor
  private readonly chips: FakeChip[]
  private readonly claimed: Set<number>
  private readonly lines = new Map<number, KernelLine>()
  /** Electrical level of every pin that ever had one (pulls, keys, outputs). */
  private readonly raw = new Map<number, Raw>()
  private readonly history = new Map<number, Raw[]>()

  constructor(chips: FakeChip[], opts: { edgeDelivery?: EdgeDelivery; claimed?: number[]; root?: string } = {}) {
    this.root = opts.root ?? join(mkdtempSync(join(tmpdir(), 'fake-sysfs-')), 'class', 'gpio')
    this.chips = chips
    this.edgeDelivery = opts.edgeDelivery ?? 'irq'
    this.claimed = new Set(opts.claimed ?? [])
    mkdirSync(this.root, { recursive: true })
    writeFileSync(join(this.root, 'export'), '')
    writeFileSync(join(this.root, 'unexport'), '')
    for (const chip of chips) {
      const dir = join(this.root, `gpiochip${chip.base}`)
      mkdirSync(dir)
      writeFileSync(join(dir, 'label'), `${chip.label}\n`)
      writeFileSync(join(dir, 'base'), `${chip.base}\n`)
      writeFileSync(join(dir, 'ngpio'), `${chip.ngpio}\n`)
      if (chip.device !== undefined) {
        const parent = join(this.root, '..', '..', 'devices', 'platform', chip.device)
        mkdirSync(parent, { recursive: true })
        symlinkSync(join('..', '..', '..', 'devices', 'platform', chip.device), join(dir, 'device'))
      }
    }
    this.Gpio = makeGpioClass(this)
  }

  cleanup(): void {
    rmSync(join(this.root, '..', '..'), { recursive: true, force: true })
  }

  /** Sets the electrical level of a pin from outside (a key, a pull resistor, a device's done line). */
  drive(n: number, level: Raw): void {
    const line = this.lines.get(n)
    if (line?.direction === 'out') throw new Error(`gpio${n} is an output; nothing outside drives it`)
    this.setRaw(n, level)
  }

  /** Electrical level of a pin (0 when nothing ever set it). */
  level(n: number): Raw {
    return this.raw.get(n) ?? 0
  }

  /** Every electrical level the pin took, oldest first. */
  levels(n: number): Raw[] {
    return [...(this.history.get(n) ?? [])]
  }

  isExported(n: number): boolean {
    return existsSync(this.gpioDir(n))
  }

  /** Contents of a sysfs attribute file, as a shell would cat it. */
  attr(n: number, name: 'direction' | 'edge' | 'active_low' | 'value'): string {
    return readFileSync(join(this.gpioDir(n), name), 'utf8').trim()
  }

  gpioDir(n: number): string {
    return join(this.root, `gpio${n}`)
  }

  // ---- the kernel's side, called by FakeGpio after it writes the files ----

  kernelExport(n: number): void {
    const chip = this.chips.find((c) => n >= c.base && n < c.base + c.ngpio)
    if (chip === undefined) throw errnoError('EINVAL', 'invalid argument, write')
    if (this.claimed.has(n)) throw errnoError('EBUSY', 'resource busy or locked, write')
    const dir = this.gpioDir(n)
    mkdirSync(dir)
    const offset = n - chip.base
    this.lines.set(n, { direction: 'in', activeLow: false, edge: 'none', watchers: new Set() })
    writeFileSync(join(dir, 'direction'), 'in\n')
    writeFileSync(join(dir, 'active_low'), '0\n')
    if (!(chip.noIrq ?? []).includes(offset)) writeFileSync(join(dir, 'edge'), 'none\n')
    this.syncValue(n)
  }

  kernelUnexport(n: number): void {
    this.lines.delete(n)
    rmSync(this.gpioDir(n), { recursive: true, force: true })
  }

  kernelDirection(n: number, d: Direction): void {
    const line = this.kline(n)
    line.direction = d === 'in' ? 'in' : 'out'
    writeFileSync(join(this.gpioDir(n), 'direction'), `${line.direction}\n`)
    if (d === 'high') this.setRaw(n, 1)
    else if (d === 'low' || d === 'out') this.setRaw(n, 0)
    this.syncValue(n)
  }

  kernelActiveLow(n: number, activeLow: boolean): void {
    this.kline(n).activeLow = activeLow
    this.syncValue(n)
  }

  kernelEdge(n: number, edge: Edge): void {
    this.kline(n).edge = edge
  }

  kernelWrite(n: number, v: BinaryValue): void {
    const line = this.kline(n)
    if (line.direction !== 'out') throw errnoError('EPERM', 'operation not permitted, write')
    this.setRaw(n, (v ^ (line.activeLow ? 1 : 0)) as Raw)
  }

  kernelWatch(n: number, cb: IrqCallback): void {
    if (this.edgeDelivery === 'eperm') throw errnoError('EPERM', 'Operation not permitted')
    this.kline(n).watchers.add(cb)
  }

  kernelUnwatch(n: number, cb?: IrqCallback): void {
    const line = this.lines.get(n)
    if (line === undefined) return
    if (cb === undefined) line.watchers.clear()
    else line.watchers.delete(cb)
  }

  private kline(n: number): KernelLine {
    const line = this.lines.get(n)
    if (line === undefined) throw errnoError('ENOENT', `no such file or directory, open '${this.gpioDir(n)}/value'`)
    return line
  }

  private setRaw(n: number, level: Raw): void {
    const before = this.raw.get(n)
    this.raw.set(n, level)
    if (before !== level) this.history.set(n, [...(this.history.get(n) ?? []), level])
    const line = this.lines.get(n)
    if (line === undefined) return
    this.syncValue(n)
    if (before === level || line.direction !== 'in' || this.edgeDelivery !== 'irq') return
    const logical = (level ^ (line.activeLow ? 1 : 0)) as BinaryValue
    const wanted = line.edge === 'both' || (line.edge === 'rising' && logical === 1) || (line.edge === 'falling' && logical === 0)
    if (!wanted) return
    // epoll wakes the process later, not inside the write that caused the edge.
    for (const cb of [...line.watchers]) setImmediate(() => cb(null, logical))
  }

  /** `value` reads the logical level: the electrical level through active_low. */
  private syncValue(n: number): void {
    const line = this.lines.get(n)
    if (line === undefined) return
    writeFileSync(join(this.gpioDir(n), 'value'), `${this.level(n) ^ (line.activeLow ? 1 : 0)}\n`)
  }
}

/** onoff's Gpio, step by step, over the fake tree. */
function makeGpioClass(k: FakeSysfs): GpioCtor {
  return class FakeGpio implements OnoffGpio {
    private readonly n: number
    private readonly path: string

    constructor(gpio: number, direction: Direction, edge?: Edge | Options, options?: Options) {
      if (typeof edge === 'object' && options === undefined) {
        options = edge
        edge = undefined
      }
      const opts = options ?? {}
      const edgeName: Edge | undefined = typeof edge === 'string' ? edge : undefined
      this.n = gpio
      this.path = k.gpioDir(gpio)
      const previouslyExported = existsSync(this.path)
      if (!previouslyExported) {
        writeFileSync(join(k.root, 'export'), `${gpio}`)
        k.exports.push(gpio)
        k.kernelExport(gpio)
        // onoff waits for udev to make these writable; it gives up on a file that never appears.
        if (edgeName !== undefined && direction === 'in' && !existsSync(join(this.path, 'edge'))) {
          throw errnoError('ENOENT', `no such file or directory, open '${this.path}/edge'`, `${this.path}/edge`)
        }
      }
      const attempt = (fn: () => void) => {
        try {
          fn()
        } catch (err) {
          if (!previouslyExported) throw err
        }
      }
      attempt(() => {
        if (typeof opts.activeLow === 'boolean') {
          writeFileSync(join(this.path, 'active_low'), opts.activeLow ? '1' : '0')
          k.kernelActiveLow(gpio, opts.activeLow)
        }
      })
      attempt(() => {
        writeFileSync(join(this.path, 'direction'), direction)
        k.kernelDirection(gpio, direction)
      })
      attempt(() => {
        if (edgeName !== undefined && direction === 'in') {
          const file = join(this.path, 'edge')
          if (!existsSync(file)) throw errnoError('ENOENT', `no such file or directory, open '${file}'`, file)
          writeFileSync(file, edgeName)
          k.kernelEdge(gpio, edgeName)
        }
      })
    }

    readSync(): BinaryValue {
      return readFileSync(join(this.path, 'value'), 'utf8').trim() === '1' ? 1 : 0
    }

    writeSync(value: BinaryValue): void {
      k.kernelWrite(this.n, value)
    }

    watch(callback: IrqCallback): void {
      k.kernelWatch(this.n, callback)
    }

    unwatch(callback?: IrqCallback): void {
      k.kernelUnwatch(this.n, callback)
    }

    unexport(): void {
      k.kernelUnwatch(this.n)
      try {
        writeFileSync(join(k.root, 'unexport'), `${this.n}`)
        k.kernelUnexport(this.n)
      } catch {
        // onoff swallows unexport errors too
      }
    }
  }
}

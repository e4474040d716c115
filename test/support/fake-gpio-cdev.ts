/**
 * A model of the kernel's GPIO character device behind GpioCdevSys, for
 * testing the chardev adapter where gpio-sim cannot be loaded (a container
 * without configfs or the module). It answers the adapter's ioctl calls by
 * decoding the uAPI v2 bytes (edge/hardware/gpio-uapi.ts) and does what
 * drivers/gpio/gpiolib-cdev.c does with them:
 *
 * - chips with a label, a parent device and a number of lines, as
 *   /dev/gpiochipN in probe order;
 * - a line is requested by one fd at a time (EBUSY otherwise, and for lines
 *   a kernel driver claims, whose consumer line-info names); closing the fd,
 *   or the process dying (`processDies()`), releases it;
 * - each pin has an ELECTRICAL level: what drives it from outside (a key, a
 *   device's done line), else the output we drive, else the bias we asked
 *   for, else it floats (reads `floatLevel`, 0 unless set);
 * - active-low inverts values and edge ids; the output value in the request
 *   is set together with the direction; SET_VALUES on an input is EPERM;
 * - edge events with a timestamp (CLOCK_MONOTONIC from `nowNs`), sequence
 *   numbers per request and per line, held until read, a full buffer
 *   dropping the oldest; the fd is readable later, not inside the change;
 * - debounce: an edge is reported once the level has been still for the
 *   period, and only if it then differs from the last one reported.
 */
import type { GpioCdevSys } from '../../edge/hardware/gpio-cdev-sys.ts'
import {
  decodeLineRequest,
  decodeLineValues,
  encodeChipInfo,
  encodeLineEvent,
  encodeLineInfo,
  encodeLineValues,
  GPIO_GET_CHIPINFO_IOCTL,
  GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_GET_LINEINFO_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
  GPIO_V2_LINE_SET_VALUES_IOCTL,
  LINE_ATTR_ID,
  LINE_EVENT_ID,
  LINE_EVENT_SIZE,
  LINE_FLAG,
  type LineEvent,
} from '../../edge/hardware/gpio-uapi.ts'

export interface FakeCdevChip {
  label: string
  device?: string
  lines: number
  /** Offsets a kernel driver holds, with its consumer name. */
  claimed?: Record<number, string>
}

type Raw = 0 | 1

interface Requested {
  fd: number
  consumer: string
  flags: bigint
  debounceUs: number
  /** Electrical level we drive, for an output. */
  out?: Raw
  /** Logical level last reported by an edge (debounce compares against it). */
  reported: Raw
  debounceTimer?: NodeJS.Timeout
  lineSeqno: number
}

interface Pin {
  driven?: Raw
  requested?: Requested
  /** Bias left by the last request (the kernel does not undo it on release). */
  bias: 'pull-up' | 'pull-down' | 'none'
  history: Raw[]
}

type Fd =
  | { kind: 'chip'; chip: number }
  | { kind: 'request'; chip: number; offset: number; events: Buffer[]; bufferSize: number; seqno: number; readable?: () => void; notifying: boolean }

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code })
}

export class FakeGpioCdev implements GpioCdevSys {
  /** What a floating pin reads (no drive, no bias). */
  floatLevel: Raw = 0
  /** Kernel time in ns; default follows Date.now (which fake timers move). */
  nowNs: () => bigint = () => BigInt(Date.now()) * 1_000_000n
  /** Events dropped because a request's buffer was full. */
  overflows = 0
  private readonly chips: FakeCdevChip[]
  private readonly pins: Map<number, Pin>[]
  private readonly fds = new Map<number, Fd>()
  private nextFd = 40

  constructor(chips: FakeCdevChip[]) {
    this.chips = chips
    this.pins = chips.map(() => new Map())
  }

  // ---- the outside world ----

  /** Drives a pin from outside (a key's contact, a pull resistor on the board, a device). */
  drive(chip: number, offset: number, level: Raw): void {
    const pin = this.pin(chip, offset)
    if (pin.requested?.out !== undefined) throw new Error(`chip ${chip} line ${offset} is an output; nothing outside drives it`)
    const before = this.electrical(pin)
    pin.driven = level
    this.changed(chip, offset, before)
  }

  /** Stops driving a pin from outside: it goes to its bias, or floats (a key's contact opens with no resistor on the board). */
  release(chip: number, offset: number): void {
    const pin = this.pin(chip, offset)
    const before = this.electrical(pin)
    delete pin.driven
    this.changed(chip, offset, before)
  }

  level(chip: number, offset: number): Raw {
    return this.electrical(this.pin(chip, offset))
  }

  /** Every electrical level the pin took, oldest first. */
  levels(chip: number, offset: number): Raw[] {
    return [...this.pin(chip, offset).history]
  }

  /** The consumer holding a line, undefined when nobody does. */
  holder(chip: number, offset: number): string | undefined {
    return this.pin(chip, offset).requested?.consumer ?? this.chips[chip]!.claimed?.[offset]
  }

  /** The flags of the request holding a line. */
  flags(chip: number, offset: number): bigint | undefined {
    return this.pin(chip, offset).requested?.flags
  }

  /** The debounce period (µs) the line was requested with. */
  debounceUs(chip: number, offset: number): number | undefined {
    return this.pin(chip, offset).requested?.debounceUs
  }

  /** Open file descriptors of the process. */
  openFds(): number {
    return this.fds.size
  }

  /** The process is killed: the kernel closes its fds, releasing every line. */
  processDies(): void {
    for (const fd of [...this.fds.keys()]) this.close(fd)
  }

  // ---- GpioCdevSys ----

  async listChips(): Promise<string[]> {
    return this.chips.map((_, i) => `/dev/gpiochip${i}`)
  }

  async parentDevice(chipPath: string): Promise<string | undefined> {
    return this.chips[this.chipIndex(chipPath)]?.device
  }

  open(path: string): number {
    const chip = this.chipIndex(path)
    if (this.chips[chip] === undefined) throw errno('ENOENT', `no such file or directory, open '${path}'`)
    return this.allocate({ kind: 'chip', chip })
  }

  ioctl(fd: number, request: number, arg: Buffer): number {
    const f = this.fds.get(fd)
    if (f === undefined) throw errno('EBADF', 'bad file descriptor')
    if (f.kind === 'chip') {
      const chip = this.chips[f.chip]!
      switch (request) {
        case GPIO_GET_CHIPINFO_IOCTL:
          encodeChipInfo({ name: `gpiochip${f.chip}`, label: chip.label, lines: chip.lines }, arg)
          return 0
        case GPIO_V2_GET_LINEINFO_IOCTL: {
          const offset = arg.readUInt32LE(64)
          if (offset >= chip.lines) throw errno('EINVAL', 'invalid argument')
          const pin = this.pin(f.chip, offset)
          const consumer = this.holder(f.chip, offset)
          encodeLineInfo({ name: '', consumer: consumer ?? '', offset, flags: (consumer !== undefined ? LINE_FLAG.USED : 0n) | (pin.requested?.flags ?? 0n) }, arg)
          return 0
        }
        case GPIO_V2_GET_LINE_IOCTL:
          return this.request(f.chip, arg)
        default:
          throw errno('ENOTTY', 'inappropriate ioctl for device')
      }
    }
    const pin = this.pin(f.chip, f.offset)
    const req = pin.requested!
    const activeLow = (req.flags & LINE_FLAG.ACTIVE_LOW) !== 0n
    switch (request) {
      case GPIO_V2_LINE_GET_VALUES_IOCTL: {
        const { mask } = decodeLineValues(arg)
        const logical = BigInt(this.electrical(pin) ^ (activeLow ? 1 : 0))
        encodeLineValues(logical & mask & 1n, mask, arg)
        return 0
      }
      case GPIO_V2_LINE_SET_VALUES_IOCTL: {
        if (req.out === undefined) throw errno('EPERM', 'operation not permitted')
        const { bits, mask } = decodeLineValues(arg)
        if ((mask & 1n) === 0n) return 0
        const before = this.electrical(pin)
        req.out = (Number(bits & 1n) ^ (activeLow ? 1 : 0)) as Raw
        this.changed(f.chip, f.offset, before)
        return 0
      }
      default:
        throw errno('ENOTTY', 'inappropriate ioctl for device')
    }
  }

  read(fd: number, buf: Buffer): number {
    const f = this.fds.get(fd)
    if (f?.kind !== 'request') throw errno('EBADF', 'bad file descriptor')
    let n = 0
    while (f.events.length > 0 && n + LINE_EVENT_SIZE <= buf.length) {
      f.events.shift()!.copy(buf, n)
      n += LINE_EVENT_SIZE
    }
    if (n === 0) throw errno('EAGAIN', 'resource temporarily unavailable')
    return n
  }

  onReadable(fd: number, cb: () => void): () => void {
    const f = this.fds.get(fd)
    if (f?.kind !== 'request') throw errno('EBADF', 'bad file descriptor')
    f.readable = cb
    this.notify(f)
    return () => {
      if (f.readable === cb) delete f.readable
    }
  }

  close(fd: number): void {
    const f = this.fds.get(fd)
    if (f === undefined) throw errno('EBADF', 'bad file descriptor')
    this.fds.delete(fd)
    if (f.kind !== 'request') return
    const pin = this.pin(f.chip, f.offset)
    const before = this.electrical(pin)
    clearTimeout(pin.requested?.debounceTimer)
    // A released output keeps driving its last level, as most pin controllers
    // do; what changes is that nobody holds it (and anyone may request it).
    const out = pin.requested?.out
    delete pin.requested
    if (out !== undefined && pin.driven === undefined) pin.driven = out
    this.changed(f.chip, f.offset, before)
  }

  // ---- the kernel's side ----

  private request(chip: number, arg: Buffer): number {
    const req = decodeLineRequest(arg)
    if (req.offsets.length !== 1) throw new Error('the fake kernel models one line per request, as the adapter makes them')
    const offset = req.offsets[0]!
    const c = this.chips[chip]!
    if (offset >= c.lines) throw errno('EINVAL', 'invalid argument')
    const flags = req.config.flags
    const input = (flags & LINE_FLAG.INPUT) !== 0n
    const output = (flags & LINE_FLAG.OUTPUT) !== 0n
    const edges = flags & (LINE_FLAG.EDGE_RISING | LINE_FLAG.EDGE_FALLING)
    const biases = [LINE_FLAG.BIAS_PULL_UP, LINE_FLAG.BIAS_PULL_DOWN, LINE_FLAG.BIAS_DISABLED].filter((b) => (flags & b) !== 0n)
    // gpio_v2_line_flags_validate: one direction, edges and bias on inputs only, one bias.
    if (input === output || (edges !== 0n && !input) || biases.length > 1 || (biases.length > 0 && !input)) throw errno('EINVAL', 'invalid argument')
    if (this.holder(chip, offset) !== undefined) throw errno('EBUSY', 'device or resource busy')
    const pin = this.pin(chip, offset)
    const before = this.electrical(pin)
    let outLogical = 0
    let debounceUs = 0
    for (const a of req.config.attrs) {
      if ((a.mask & 1n) === 0n) continue
      if (a.id === LINE_ATTR_ID.OUTPUT_VALUES) outLogical = Number(a.value & 1n)
      else if (a.id === LINE_ATTR_ID.DEBOUNCE) debounceUs = Number(a.value)
    }
    if (debounceUs > 0 && !input) throw errno('EINVAL', 'invalid argument')
    if (input) pin.bias = (flags & LINE_FLAG.BIAS_PULL_UP) !== 0n ? 'pull-up' : (flags & LINE_FLAG.BIAS_PULL_DOWN) !== 0n ? 'pull-down' : biases.length > 0 ? 'none' : pin.bias
    const activeLow = (flags & LINE_FLAG.ACTIVE_LOW) !== 0n
    const fd = this.allocate({ kind: 'request', chip, offset, events: [], bufferSize: req.eventBufferSize > 0 ? req.eventBufferSize : 16, seqno: 0, notifying: false })
    const requested: Requested = { fd, consumer: req.consumer, flags, debounceUs, reported: 0, lineSeqno: 0 }
    if (output) {
      requested.out = (outLogical ^ (activeLow ? 1 : 0)) as Raw
      // An output drives the pin: a drive from outside gives way.
      delete pin.driven
    }
    pin.requested = requested
    requested.reported = (this.electrical(pin) ^ (activeLow ? 1 : 0)) as Raw
    arg.writeInt32LE(fd, 588)
    this.changed(chip, offset, before)
    return 0
  }

  private changed(chip: number, offset: number, before: Raw): void {
    const pin = this.pin(chip, offset)
    const now = this.electrical(pin)
    if (now !== before || pin.history.length === 0) {
      if (pin.history.at(-1) !== now) pin.history.push(now)
    }
    const req = pin.requested
    if (now === before || req === undefined || req.out !== undefined) return
    if ((req.flags & (LINE_FLAG.EDGE_RISING | LINE_FLAG.EDGE_FALLING)) === 0n) return
    if (req.debounceUs > 0) {
      clearTimeout(req.debounceTimer)
      req.debounceTimer = setTimeout(() => this.edge(chip, offset), Math.max(1, Math.ceil(req.debounceUs / 1000)))
      return
    }
    this.edge(chip, offset)
  }

  /** The (debounced) level is now the pin's: report an edge if it differs from the last reported. */
  private edge(chip: number, offset: number): void {
    const pin = this.pin(chip, offset)
    const req = pin.requested
    if (req === undefined) return
    const activeLow = (req.flags & LINE_FLAG.ACTIVE_LOW) !== 0n
    const logical = (this.electrical(pin) ^ (activeLow ? 1 : 0)) as Raw
    if (logical === req.reported) return
    req.reported = logical
    const wanted = logical === 1 ? LINE_FLAG.EDGE_RISING : LINE_FLAG.EDGE_FALLING
    if ((req.flags & wanted) === 0n) return
    const f = this.fds.get(req.fd)
    if (f?.kind !== 'request') return
    const ev: LineEvent = {
      timestampNs: this.nowNs(),
      id: logical === 1 ? LINE_EVENT_ID.RISING_EDGE : LINE_EVENT_ID.FALLING_EDGE,
      offset,
      seqno: ++f.seqno,
      lineSeqno: ++req.lineSeqno,
    }
    if (f.events.length >= f.bufferSize) {
      f.events.shift()
      this.overflows++
    }
    f.events.push(encodeLineEvent(ev))
    this.notify(f)
  }

  /** epoll wakes the process later, not inside the change; level-triggered, so again while events are left. */
  private notify(f: Extract<Fd, { kind: 'request' }>): void {
    if (f.notifying || f.events.length === 0) return
    f.notifying = true
    setImmediate(() => {
      f.notifying = false
      if (f.readable === undefined || f.events.length === 0) return
      f.readable()
      this.notify(f)
    })
  }

  private electrical(pin: Pin): Raw {
    if (pin.requested?.out !== undefined) return pin.requested.out
    if (pin.driven !== undefined) return pin.driven
    if (pin.bias === 'pull-up') return 1
    if (pin.bias === 'pull-down') return 0
    return this.floatLevel
  }

  private pin(chip: number, offset: number): Pin {
    const pins = this.pins[chip]
    if (pins === undefined) throw new Error(`no chip ${chip}`)
    let pin = pins.get(offset)
    if (pin === undefined) {
      pin = { bias: 'none', history: [] }
      pins.set(offset, pin)
    }
    return pin
  }

  private chipIndex(path: string): number {
    const m = /\/gpiochip(\d+)$/.exec(path)
    return m === null ? -1 : Number(m[1])
  }

  private allocate(f: Fd): number {
    const fd = this.nextFd++
    this.fds.set(fd, f)
    return fd
  }
}

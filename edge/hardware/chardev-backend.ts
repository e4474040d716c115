/**
 * GpioBackend over the Linux GPIO character device (/dev/gpiochipN, uAPI v2),
 * the interface that stays when sysfs GPIO is gone (docs/architecture.md §5,
 * docs/operations.md "GPIO: sysfs or character device").
 *
 * - Chips are found as onoff's are: by label, or failing that by parent
 *   device, never by N (gpiochipN numbering moves between kernels too).
 * - One request per line, its fd held by this process: the kernel releases
 *   the line when the fd closes, and so when the process dies, however it
 *   dies; no line stays exported as sysfs ones do.
 * - The kernel applies what sysfs could not: bias (the profile's pull-up is
 *   requested, not documentation), active-low (levels and edges are logical),
 *   the output's initial level in the request itself (no glitch), and a
 *   debounce period where the profile asks for one.
 * - Edges: both edges of an input are requested and read as events with the
 *   kernel's timestamp; the level last seen is kept here so an `edge` of
 *   'rising' or 'falling' filters as onoff's does. A gap in the line's event
 *   sequence numbers (the kernel's buffer overflowed) is closed by reading the
 *   level, so a lost edge never leaves a key held.
 * - Every system call goes through GpioCdevSys (gpio-cdev-sys.ts): the real
 *   one is fs + a bare ioctl addon + epoll; tests give a kernel model.
 */
import type { Logger } from 'pino'
import type { EdgeStamp, GpioBackend, GpioLine, Level, LineSpec } from './gpio-port.ts'
import { isLevel } from './gpio-port.ts'
import { GpioCdevUnavailableError, openGpioCdevSys, type GpioCdevSys } from './gpio-cdev-sys.ts'
import {
  CHIP_INFO_SIZE,
  decodeChipInfo,
  decodeLineEvent,
  decodeLineInfo,
  decodeLineRequest,
  decodeLineValues,
  encodeLineInfoQuery,
  encodeLineRequest,
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
  type LineAttribute,
} from './gpio-uapi.ts'

export interface CdevChip {
  /** '/dev/gpiochip0' */
  path: string
  label: string
  device?: string
  lines: number
}

export interface ChardevBackendOptions {
  /** The system the backend works through; default the real one, opened on first use. */
  sys?: GpioCdevSys
  log?: Logger
  /** Consumer name the kernel shows for our lines (gpioinfo, EBUSY messages); default 'counter-edge'. */
  consumer?: string
}

type ErrnoLike = Error & { code?: string }

/** Events read from a request fd at once. */
const EVENTS_PER_READ = 16

export class ChardevBackend implements GpioBackend {
  private sys: GpioCdevSys | undefined
  private readonly log: Logger | undefined
  private readonly consumer: string
  private chips: CdevChip[] | undefined
  private readonly open_ = new Map<string, CdevLine>()

  constructor(opts: ChardevBackendOptions = {}) {
    this.sys = opts.sys
    this.log = opts.log
    this.consumer = opts.consumer ?? 'counter-edge'
  }

  async open(spec: LineSpec): Promise<GpioLine> {
    if (this.open_.has(spec.name)) throw lineError(spec, 'EBUSY', 'is already open')
    if (spec.chip === undefined) throw lineError(spec, 'EINVAL', 'names no gpiochip label; chip numbers are never configured directly')
    if (spec.initial !== undefined && !isLevel(spec.initial)) throw lineError(spec, 'EINVAL', 'initial level must be 0 or 1')
    if (spec.debounceUs !== undefined && (!Number.isInteger(spec.debounceUs) || spec.debounceUs < 0)) {
      throw lineError(spec, 'EINVAL', `debounce must be a whole number of µs, got ${String(spec.debounceUs)}`)
    }
    if (spec.direction === 'out' && (spec.debounceUs ?? 0) > 0) throw lineError(spec, 'EINVAL', 'is an output; only inputs are debounced')
    const sys = await this.system()
    const chip = resolveCdevChip(await this.readChips(sys), spec)
    const where = `line '${spec.name}' (${spec.chip}:${spec.offset} = ${chip.path} line ${spec.offset})`
    const wantsEdges = spec.direction === 'in' && (spec.edge ?? 'none') !== 'none'
    const request = encodeLineRequest({
      offsets: [spec.offset],
      consumer: `${this.consumer}:${spec.name}`,
      config: { flags: requestFlags(spec, wantsEdges), attrs: requestAttrs(spec) },
      eventBufferSize: 0,
    })
    let chipFd: number
    try {
      chipFd = sys.open(chip.path)
    } catch (err) {
      throw explain(where, chip, err)
    }
    let fd: number
    try {
      sys.ioctl(chipFd, GPIO_V2_GET_LINE_IOCTL, request)
      fd = decodeLineRequest(request).fd
    } catch (err) {
      throw explain(where, chip, err, holderOf(sys, chipFd, spec.offset))
    } finally {
      sys.close(chipFd)
    }
    const line = new CdevLine(spec, fd, sys, { wantsEdges, log: this.log, onClose: () => this.open_.delete(spec.name) })
    this.open_.set(spec.name, line)
    return line
  }

  async stop(): Promise<void> {
    for (const line of [...this.open_.values()].reverse()) await line.close()
  }

  private async system(): Promise<GpioCdevSys> {
    this.sys ??= await openGpioCdevSys()
    return this.sys
  }

  private async readChips(sys: GpioCdevSys): Promise<CdevChip[]> {
    if (this.chips !== undefined) return this.chips
    let paths: string[]
    try {
      paths = await sys.listChips()
    } catch (err) {
      throw new GpioCdevUnavailableError(`cannot list the GPIO character devices: ${(err as Error).message}`, (err as ErrnoLike).code ?? 'EIO', { cause: err })
    }
    if (paths.length === 0) {
      throw new GpioCdevUnavailableError(
        'no /dev/gpiochip* here: this kernel has no GPIO character device (CONFIG_GPIO_CDEV is off, or the board has no GPIO driver loaded), ' +
          "so the chardev backend cannot drive any line; use gpio.backend 'sysfs' in the board file on such a kernel",
        'ENOENT',
      )
    }
    const chips: CdevChip[] = []
    for (const path of paths) {
      let fd: number
      try {
        fd = sys.open(path)
      } catch (err) {
        throw explain(path, { path }, err)
      }
      try {
        const buf = Buffer.alloc(CHIP_INFO_SIZE)
        sys.ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, buf)
        const info = decodeChipInfo(buf)
        const device = await sys.parentDevice(path)
        chips.push({ path, label: info.label, ...(device !== undefined ? { device } : {}), lines: info.lines })
      } finally {
        sys.close(fd)
      }
    }
    this.chips = chips
    this.log?.debug({ chips }, 'gpio character devices')
    return chips
  }
}

function requestFlags(spec: LineSpec, wantsEdges: boolean): bigint {
  let flags = spec.direction === 'out' ? LINE_FLAG.OUTPUT : LINE_FLAG.INPUT
  if (spec.activeLow === true) flags |= LINE_FLAG.ACTIVE_LOW
  if (wantsEdges) flags |= LINE_FLAG.EDGE_RISING | LINE_FLAG.EDGE_FALLING
  if (spec.direction === 'in') {
    if (spec.bias === 'pull-up') flags |= LINE_FLAG.BIAS_PULL_UP
    else if (spec.bias === 'pull-down') flags |= LINE_FLAG.BIAS_PULL_DOWN
    else if (spec.bias === 'none') flags |= LINE_FLAG.BIAS_DISABLED
  }
  return flags
}

function requestAttrs(spec: LineSpec): LineAttribute[] {
  // The initial level travels in the request: the kernel sets direction and
  // value together, so an active-low relay never sees its active level.
  if (spec.direction === 'out') return [{ id: LINE_ATTR_ID.OUTPUT_VALUES, value: BigInt(spec.initial ?? 0), mask: 1n }]
  if ((spec.debounceUs ?? 0) > 0) return [{ id: LINE_ATTR_ID.DEBOUNCE, value: BigInt(spec.debounceUs!), mask: 1n }]
  return []
}

export function describeCdevChips(chips: readonly CdevChip[]): string {
  if (chips.length === 0) return 'none'
  return chips.map((c) => `${c.path} '${c.label}'${c.device !== undefined ? ` on ${c.device}` : ''} (${c.lines} lines)`).join(', ')
}

/** The chip a line names: by label, or failing that by parent device; throws with what it found. */
export function resolveCdevChip(chips: readonly CdevChip[], spec: Pick<LineSpec, 'name' | 'chip' | 'offset'>): CdevChip {
  const byLabel = chips.filter((c) => c.label === spec.chip)
  const matches = byLabel.length > 0 ? byLabel : chips.filter((c) => c.device === spec.chip)
  const where = `line '${spec.name}' (${spec.chip}:${spec.offset})`
  if (matches.length === 0) {
    throw new Error(
      `${where}：没有标签为 '${spec.chip}' 的 GPIO 芯片，也没有以它为父设备的芯片；本板的芯片：${describeCdevChips(chips)}。板型可能与本板不符，请用 gpiodetect 核对 / ` +
        `${where}: no gpiochip labelled '${spec.chip}' or with that parent device among the character devices; chips here: ${describeCdevChips(chips)}. ` +
        'Check the board profile against `gpiodetect` (Debian package gpiod) or `cat /sys/bus/gpio/devices/gpiochip*/../*/name`.',
    )
  }
  if (matches.length > 1) {
    throw new Error(`${where}: ${matches.length} gpiochips match '${spec.chip}' (${describeCdevChips(matches)}); that does not pick one: name the chip by its parent device`)
  }
  const chip = matches[0]!
  if (!Number.isInteger(spec.offset) || spec.offset < 0 || spec.offset >= chip.lines) {
    throw new RangeError(`${where}: offset ${spec.offset} is outside ${chip.path} '${chip.label}', which has ${chip.lines} lines (0..${chip.lines - 1})`)
  }
  return chip
}

/** Who holds a line the kernel refused, for the error message; undefined when it cannot tell. */
function holderOf(sys: GpioCdevSys, chipFd: number, offset: number): string | undefined {
  try {
    const buf = encodeLineInfoQuery(offset)
    sys.ioctl(chipFd, GPIO_V2_GET_LINEINFO_IOCTL, buf)
    const info = decodeLineInfo(buf)
    return (info.flags & LINE_FLAG.USED) !== 0n ? info.consumer || 'the kernel' : undefined
  } catch {
    return undefined
  }
}

/**
 * The error a technician reads when a line will not open, usually at start (the board's start then fails
 * with it): what is wrong and what to check, in Chinese and then in English, the kernel's own words last.
 */
function explain(where: string, chip: Pick<CdevChip, 'path'>, err: unknown, holder?: string): Error {
  const e = err as ErrnoLike
  let zh: string
  let hint: string
  switch (e.code) {
    case 'EBUSY':
      zh = `该 GPIO 线已被${holder !== undefined ? ` '${holder}' ` : ''}占用：检查 config.txt 的设备树覆盖层（overlay）所加载的内核驱动、占用它的其他程序或仍在运行的 counter-edge（用 gpioinfo 查看）`
      hint = `the line is in use${holder !== undefined ? ` by '${holder}'` : ''} (a kernel driver from an overlay, another program, or a runtime still running; see \`gpioinfo\`)`
      break
    case 'EACCES':
    case 'EPERM':
      zh = `没有 ${chip.path} 的权限：把运行用户加入 gpio 组（sudo usermod -aG gpio $USER），或安装 docs/operations.md 中的 udev 规则`
      hint = `no permission on ${chip.path}: add the user to the 'gpio' group (sudo usermod -aG gpio $USER) or install the udev rule in docs/operations.md`
      break
    case 'EINVAL':
      zh = '内核拒绝了该请求：此脚不是 GPIO，或内核不认识所请求的标志（uAPI v2 需要 Linux 5.10 或更新）；检查板卡配置中的芯片与脚号'
      hint = 'the kernel refused the request (a pin that is not a GPIO, or a flag this kernel does not know: uAPI v2 needs Linux 5.10 or later)'
      break
    case 'ENOTTY':
      zh = `${chip.path} 不支持 GPIO uAPI v2（内核早于 5.10？）：升级内核，或在板卡文件中改用 gpio.backend 'sysfs'`
      hint = `${chip.path} does not answer the GPIO uAPI v2 (kernel older than 5.10?)`
      break
    case 'ENOENT':
      zh = `${chip.path} 不存在了：检查 GPIO 控制器驱动是否加载`
      hint = `${chip.path} is gone`
      break
    default:
      zh = '无法打开该 GPIO 线：检查板卡配置中的芯片与脚号，并查看内核日志（dmesg）'
      hint = e.message
  }
  return Object.assign(new Error(`${where}: ${zh} / ${hint} (${e.code ?? 'error'}: ${e.message})`, { cause: err }), { code: e.code })
}

function lineError(spec: LineSpec, code: string, what: string): Error {
  return Object.assign(new Error(`${code}: line '${spec.name}' ${what}`), { code })
}

interface CdevLineOptions {
  wantsEdges: boolean
  log: Logger | undefined
  onClose: () => void
}

class CdevLine implements GpioLine {
  readonly name: string
  private readonly spec: LineSpec
  private readonly fd: number
  private readonly sys: GpioCdevSys
  private readonly opts: CdevLineOptions
  private readonly watchers = new Set<(v: Level, stamp?: EdgeStamp) => void>()
  private readonly values = Buffer.alloc(16)
  private readonly events = Buffer.alloc(LINE_EVENT_SIZE * EVENTS_PER_READ)
  private last: Level = 0
  private lineSeqno = 0
  private unlisten: (() => void) | undefined
  private closed = false

  constructor(spec: LineSpec, fd: number, sys: GpioCdevSys, opts: CdevLineOptions) {
    this.name = spec.name
    this.spec = spec
    this.fd = fd
    this.sys = sys
    this.opts = opts
    if (opts.wantsEdges) {
      // Events are drained from the start, watched or not, so the kernel's
      // buffer never holds stale edges and the level last seen stays right.
      this.last = this.readNow()
      this.unlisten = sys.onReadable(fd, () => this.drain())
    }
  }

  async read(): Promise<Level> {
    this.check('read')
    return this.readNow()
  }

  async write(v: Level): Promise<void> {
    this.check('write')
    if (!isLevel(v)) throw new TypeError(`line '${this.name}': level must be 0 or 1, got ${String(v)}`)
    if (this.spec.direction !== 'out') {
      throw Object.assign(new Error(`EPERM: operation not permitted, write (line '${this.name}' is an input)`), { code: 'EPERM' })
    }
    this.sys.ioctl(this.fd, GPIO_V2_LINE_SET_VALUES_IOCTL, encodeLineValues(BigInt(v), 1n, this.values))
  }

  watch(cb: (v: Level, stamp?: EdgeStamp) => void): () => void {
    this.check('watch')
    const edge = this.spec.edge ?? 'none'
    if (this.spec.direction !== 'in' || edge === 'none') {
      throw Object.assign(new Error(`EINVAL: line '${this.name}' has no edge to watch (direction ${this.spec.direction}, edge ${edge})`), {
        code: 'EINVAL',
      })
    }
    this.watchers.add(cb)
    return () => {
      this.watchers.delete(cb)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.watchers.clear()
    this.unlisten?.()
    try {
      // Its inactive level, which for a MAX7219's LOAD is high (gpio-port.ts: LineSpec.initial).
      if (this.spec.direction === 'out') this.sys.ioctl(this.fd, GPIO_V2_LINE_SET_VALUES_IOCTL, encodeLineValues(BigInt(this.spec.initial ?? 0), 1n, this.values))
    } finally {
      this.sys.close(this.fd)
      this.opts.onClose()
    }
  }

  private readNow(): Level {
    encodeLineValues(0n, 1n, this.values)
    this.sys.ioctl(this.fd, GPIO_V2_LINE_GET_VALUES_IOCTL, this.values)
    return (decodeLineValues(this.values).bits & 1n) === 1n ? 1 : 0
  }

  private drain(): void {
    if (this.closed) return
    let n: number
    try {
      n = this.sys.read(this.fd, this.events)
    } catch (err) {
      if ((err as ErrnoLike).code !== 'EAGAIN') this.opts.log?.warn({ line: this.name, err: (err as Error).message }, 'reading edge events failed')
      return
    }
    for (let at = 0; at + LINE_EVENT_SIZE <= n; at += LINE_EVENT_SIZE) {
      const ev = decodeLineEvent(this.events, at)
      if (this.lineSeqno !== 0 && ev.lineSeqno !== this.lineSeqno + 1) {
        this.opts.log?.warn({ line: this.name, expected: this.lineSeqno + 1, got: ev.lineSeqno }, 'edge events were lost (kernel buffer overflow); level re-read')
        this.lineSeqno = ev.lineSeqno
        this.deliver(this.readNow(), { kernelNs: ev.timestampNs })
        continue
      }
      this.lineSeqno = ev.lineSeqno
      this.deliver(ev.id === LINE_EVENT_ID.RISING_EDGE ? 1 : 0, { kernelNs: ev.timestampNs })
    }
  }

  /** Passes a level change to the watchers the line's edge setting lets through. */
  private deliver(v: Level, stamp: EdgeStamp): void {
    if (v === this.last) return
    this.last = v
    const edge = this.spec.edge ?? 'none'
    if (edge === 'both' || (edge === 'rising' && v === 1) || (edge === 'falling' && v === 0)) {
      for (const cb of [...this.watchers]) cb(v, stamp)
    }
  }

  private check(op: string): void {
    if (this.closed) throw Object.assign(new Error(`EBADF: line '${this.name}' is closed (${op})`), { code: 'EBADF' })
  }
}

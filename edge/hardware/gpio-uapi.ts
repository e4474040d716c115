/**
 * The Linux GPIO character-device uAPI v2 (include/uapi/linux/gpio.h, kernel
 * 5.10+): request codes, flags and the byte layout of the structs the
 * chardev adapter passes through ioctl(2). Encoded here rather than in C so
 * the native part stays a bare ioctl (packages/gpio-ioctl) and the fake
 * kernel the tests use (test/support/fake-gpio-cdev.ts) decodes the very
 * bytes a real kernel would get. Layouts are the same on arm, arm64 and
 * x86-64 (every u64 is __aligned_u64); sizes are checked against the C
 * header in test/hardware/gpio-uapi.test.ts where a compiler is present.
 */

const IOC_READ = 2
const IOC_READ_WRITE = 3
const GPIO_IOC_TYPE = 0xb4
const ioc = (dir: number, nr: number, size: number): number => ((dir << 30) | (size << 16) | (GPIO_IOC_TYPE << 8) | nr) >>> 0

export const CHIP_INFO_SIZE = 68
export const LINE_INFO_SIZE = 256
export const LINE_REQUEST_SIZE = 592
export const LINE_CONFIG_SIZE = 272
export const LINE_VALUES_SIZE = 16
export const LINE_EVENT_SIZE = 48

export const GPIO_GET_CHIPINFO_IOCTL = ioc(IOC_READ, 0x01, CHIP_INFO_SIZE)
export const GPIO_V2_GET_LINEINFO_IOCTL = ioc(IOC_READ_WRITE, 0x05, LINE_INFO_SIZE)
export const GPIO_V2_GET_LINE_IOCTL = ioc(IOC_READ_WRITE, 0x07, LINE_REQUEST_SIZE)
export const GPIO_V2_LINE_SET_CONFIG_IOCTL = ioc(IOC_READ_WRITE, 0x0d, LINE_CONFIG_SIZE)
export const GPIO_V2_LINE_GET_VALUES_IOCTL = ioc(IOC_READ_WRITE, 0x0e, LINE_VALUES_SIZE)
export const GPIO_V2_LINE_SET_VALUES_IOCTL = ioc(IOC_READ_WRITE, 0x0f, LINE_VALUES_SIZE)

export const LINE_FLAG = {
  USED: 1n << 0n,
  ACTIVE_LOW: 1n << 1n,
  INPUT: 1n << 2n,
  OUTPUT: 1n << 3n,
  EDGE_RISING: 1n << 4n,
  EDGE_FALLING: 1n << 5n,
  OPEN_DRAIN: 1n << 6n,
  OPEN_SOURCE: 1n << 7n,
  BIAS_PULL_UP: 1n << 8n,
  BIAS_PULL_DOWN: 1n << 9n,
  BIAS_DISABLED: 1n << 10n,
} as const

export const LINE_ATTR_ID = { FLAGS: 1, OUTPUT_VALUES: 2, DEBOUNCE: 3 } as const
export const LINE_EVENT_ID = { RISING_EDGE: 1, FALLING_EDGE: 2 } as const

const NAME_SIZE = 32
const LINES_MAX = 64
const ATTRS_MAX = 10

export interface ChipInfo {
  name: string
  label: string
  lines: number
}

export interface LineAttribute {
  id: number
  /** flags or output values (u64), or the debounce period in µs. */
  value: bigint
  /** Which of the request's lines (bit i = offsets[i]) it applies to. */
  mask: bigint
}

export interface LineConfig {
  flags: bigint
  attrs: LineAttribute[]
}

export interface LineRequest {
  offsets: number[]
  consumer: string
  config: LineConfig
  eventBufferSize: number
  /** Set by the kernel: the new request's file descriptor. */
  fd: number
}

export interface LineInfo {
  name: string
  consumer: string
  offset: number
  flags: bigint
}

export interface LineEvent {
  timestampNs: bigint
  id: number
  offset: number
  seqno: number
  lineSeqno: number
}

function readCString(buf: Buffer, at: number, size: number): string {
  const raw = buf.subarray(at, at + size)
  const end = raw.indexOf(0)
  return raw.subarray(0, end === -1 ? size : end).toString('utf8')
}

function writeCString(buf: Buffer, at: number, size: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8').subarray(0, size - 1)
  bytes.copy(buf, at)
}

export function decodeChipInfo(buf: Buffer): ChipInfo {
  return { name: readCString(buf, 0, NAME_SIZE), label: readCString(buf, 32, NAME_SIZE), lines: buf.readUInt32LE(64) }
}

export function encodeChipInfo(info: ChipInfo, buf: Buffer = Buffer.alloc(CHIP_INFO_SIZE)): Buffer {
  buf.fill(0, 0, CHIP_INFO_SIZE)
  writeCString(buf, 0, NAME_SIZE, info.name)
  writeCString(buf, 32, NAME_SIZE, info.label)
  buf.writeUInt32LE(info.lines, 64)
  return buf
}

/** struct gpio_v2_line_config at `at`: flags, num_attrs, padding[5], attrs[10] of {attr{id, pad, u64}, mask}. */
export function encodeLineConfig(config: LineConfig, buf: Buffer = Buffer.alloc(LINE_CONFIG_SIZE), at = 0): Buffer {
  if (config.attrs.length > ATTRS_MAX) throw new RangeError(`a line config holds at most ${ATTRS_MAX} attributes`)
  buf.fill(0, at, at + LINE_CONFIG_SIZE)
  buf.writeBigUInt64LE(config.flags, at)
  buf.writeUInt32LE(config.attrs.length, at + 8)
  config.attrs.forEach((a, i) => {
    const p = at + 32 + i * 24
    buf.writeUInt32LE(a.id, p)
    if (a.id === LINE_ATTR_ID.DEBOUNCE) buf.writeUInt32LE(Number(a.value), p + 8)
    else buf.writeBigUInt64LE(a.value, p + 8)
    buf.writeBigUInt64LE(a.mask, p + 16)
  })
  return buf
}

export function decodeLineConfig(buf: Buffer, at = 0): LineConfig {
  const n = buf.readUInt32LE(at + 8)
  const attrs: LineAttribute[] = []
  for (let i = 0; i < Math.min(n, ATTRS_MAX); i++) {
    const p = at + 32 + i * 24
    const id = buf.readUInt32LE(p)
    const value = id === LINE_ATTR_ID.DEBOUNCE ? BigInt(buf.readUInt32LE(p + 8)) : buf.readBigUInt64LE(p + 8)
    attrs.push({ id, value, mask: buf.readBigUInt64LE(p + 16) })
  }
  return { flags: buf.readBigUInt64LE(at), attrs }
}

export function encodeLineRequest(req: Omit<LineRequest, 'fd'>): Buffer {
  if (req.offsets.length === 0 || req.offsets.length > LINES_MAX) throw new RangeError(`a request holds 1 to ${LINES_MAX} lines`)
  const buf = Buffer.alloc(LINE_REQUEST_SIZE)
  req.offsets.forEach((o, i) => buf.writeUInt32LE(o, i * 4))
  writeCString(buf, 256, NAME_SIZE, req.consumer)
  encodeLineConfig(req.config, buf, 288)
  buf.writeUInt32LE(req.offsets.length, 560)
  buf.writeUInt32LE(req.eventBufferSize, 564)
  buf.writeInt32LE(-1, 588)
  return buf
}

export function decodeLineRequest(buf: Buffer): LineRequest {
  const n = buf.readUInt32LE(560)
  const offsets: number[] = []
  for (let i = 0; i < Math.min(n, LINES_MAX); i++) offsets.push(buf.readUInt32LE(i * 4))
  return {
    offsets,
    consumer: readCString(buf, 256, NAME_SIZE),
    config: decodeLineConfig(buf, 288),
    eventBufferSize: buf.readUInt32LE(564),
    fd: buf.readInt32LE(588),
  }
}

/** A line-info query: only the offset is input. */
export function encodeLineInfoQuery(offset: number): Buffer {
  const buf = Buffer.alloc(LINE_INFO_SIZE)
  buf.writeUInt32LE(offset, 64)
  return buf
}

export function decodeLineInfo(buf: Buffer): LineInfo {
  return { name: readCString(buf, 0, NAME_SIZE), consumer: readCString(buf, 32, NAME_SIZE), offset: buf.readUInt32LE(64), flags: buf.readBigUInt64LE(72) }
}

export function encodeLineInfo(info: LineInfo, buf: Buffer = Buffer.alloc(LINE_INFO_SIZE)): Buffer {
  buf.fill(0, 0, LINE_INFO_SIZE)
  writeCString(buf, 0, NAME_SIZE, info.name)
  writeCString(buf, 32, NAME_SIZE, info.consumer)
  buf.writeUInt32LE(info.offset, 64)
  buf.writeBigUInt64LE(info.flags, 72)
  return buf
}

export function encodeLineValues(bits: bigint, mask: bigint, buf: Buffer = Buffer.alloc(LINE_VALUES_SIZE)): Buffer {
  buf.writeBigUInt64LE(bits, 0)
  buf.writeBigUInt64LE(mask, 8)
  return buf
}

export function decodeLineValues(buf: Buffer): { bits: bigint; mask: bigint } {
  return { bits: buf.readBigUInt64LE(0), mask: buf.readBigUInt64LE(8) }
}

export function decodeLineEvent(buf: Buffer, at = 0): LineEvent {
  return {
    timestampNs: buf.readBigUInt64LE(at),
    id: buf.readUInt32LE(at + 8),
    offset: buf.readUInt32LE(at + 12),
    seqno: buf.readUInt32LE(at + 16),
    lineSeqno: buf.readUInt32LE(at + 20),
  }
}

export function encodeLineEvent(ev: LineEvent, buf: Buffer = Buffer.alloc(LINE_EVENT_SIZE), at = 0): Buffer {
  buf.fill(0, at, at + LINE_EVENT_SIZE)
  buf.writeBigUInt64LE(ev.timestampNs, at)
  buf.writeUInt32LE(ev.id, at + 8)
  buf.writeUInt32LE(ev.offset, at + 12)
  buf.writeUInt32LE(ev.seqno, at + 16)
  buf.writeUInt32LE(ev.lineSeqno, at + 20)
  return buf
}

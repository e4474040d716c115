/**
 * Modbus RTU framing, byte-exact (docs/hardware.md §7): a frame is the slave
 * address, the function code, its data and the CRC-16/MODBUS of all of them,
 * low byte first. Only the functions a DI/DO module needs are here:
 *
 *   0x01 read coils             0x02 read discrete inputs
 *   0x05 write single coil      0x0F write multiple coils
 *
 * Both sides use it: the master (modbus-master.ts) and the simulated module
 * (sim/modbus-dio-model.ts), so a frame one builds the other must parse, and
 * the tests pin both to frames published in module manuals and the spec.
 */

export const MODBUS_FUNCTIONS = {
  readCoils: 0x01,
  readDiscreteInputs: 0x02,
  writeSingleCoil: 0x05,
  writeMultipleCoils: 0x0f,
} as const
export type ModbusFunction = (typeof MODBUS_FUNCTIONS)[keyof typeof MODBUS_FUNCTIONS]

/** Exception codes a slave answers with (function | 0x80, then the code). */
export const MODBUS_EXCEPTIONS: Readonly<Record<number, string>> = {
  0x01: 'illegal function',
  0x02: 'illegal data address',
  0x03: 'illegal data value',
  0x04: 'slave device failure',
  0x06: 'slave device busy',
}

/** The spec's limits on one read (2000 bits) and one multiple-coil write (1968 bits). */
export const MAX_READ_BITS = 2000
export const MAX_WRITE_BITS = 1968

/** Slave addresses a request may name; 0 is broadcast, 248–255 are reserved. */
export function isSlaveAddress(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 247
}

/** CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF. */
export function crc16(bytes: Uint8Array, length = bytes.length): number {
  let crc = 0xffff
  for (let i = 0; i < length; i++) {
    crc ^= bytes[i]!
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1
  }
  return crc
}

/** Appends the CRC, low byte first, to address + function + data. */
export function withCrc(body: Uint8Array): Buffer {
  const frame = Buffer.alloc(body.length + 2)
  frame.set(body)
  const crc = crc16(body)
  frame[body.length] = crc & 0xff
  frame[body.length + 1] = crc >>> 8
  return frame
}

/** Whether the last two bytes are the CRC of the rest. */
export function crcOk(frame: Uint8Array): boolean {
  if (frame.length < 4) return false
  const crc = crc16(frame, frame.length - 2)
  return frame[frame.length - 2] === (crc & 0xff) && frame[frame.length - 1] === crc >>> 8
}

/** Packs bits LSB first: bit 0 of byte 0 is the first coil or input, as on the wire. */
export function packBits(bits: readonly (0 | 1)[]): Buffer {
  const out = Buffer.alloc(Math.ceil(bits.length / 8))
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7)
  })
  return out
}

export function unpackBits(bytes: Uint8Array, count: number): Array<0 | 1> {
  const out: Array<0 | 1> = []
  for (let i = 0; i < count; i++) out.push(((bytes[i >> 3]! >> (i & 7)) & 1) as 0 | 1)
  return out
}

function checkRange(what: string, start: number, count: number, max: number): void {
  if (!Number.isInteger(start) || start < 0 || start > 0xffff) throw new RangeError(`${what}: start address ${start} is not 0..65535`)
  if (!Number.isInteger(count) || count < 1 || count > max) throw new RangeError(`${what}: count ${count} is not 1..${max}`)
  if (start + count > 0x10000) throw new RangeError(`${what}: ${start}+${count} runs past address 65535`)
}

function checkSlave(slave: number): void {
  if (!isSlaveAddress(slave)) throw new RangeError(`Modbus slave address ${slave} is not 1..247`)
}

/** 0x01 or 0x02: [slave, fn, start hi, start lo, count hi, count lo, crc]. */
export function readBitsRequest(slave: number, fn: 0x01 | 0x02, start: number, count: number): Buffer {
  checkSlave(slave)
  checkRange(fn === 0x01 ? 'read coils' : 'read discrete inputs', start, count, MAX_READ_BITS)
  return withCrc(Uint8Array.of(slave, fn, start >> 8, start & 0xff, count >> 8, count & 0xff))
}

/** 0x05: the value is 0xFF00 for on and 0x0000 for off, nothing else. */
export function writeSingleCoilRequest(slave: number, address: number, on: boolean): Buffer {
  checkSlave(slave)
  checkRange('write single coil', address, 1, 1)
  return withCrc(Uint8Array.of(slave, 0x05, address >> 8, address & 0xff, on ? 0xff : 0x00, 0x00))
}

/** 0x0F: [slave, fn, start, count, byte count, packed bits, crc]. */
export function writeMultipleCoilsRequest(slave: number, start: number, bits: readonly (0 | 1)[]): Buffer {
  checkSlave(slave)
  checkRange('write multiple coils', start, bits.length, MAX_WRITE_BITS)
  const packed = packBits(bits)
  return withCrc(Buffer.concat([Uint8Array.of(slave, 0x0f, start >> 8, start & 0xff, bits.length >> 8, bits.length & 0xff, packed.length), packed]))
}

/**
 * How long the answer to `request` is, once `head` (what has arrived so far)
 * shows enough of it: an exception is 5 bytes, a read 5 + its byte count, a
 * write the 8-byte echo. Undefined while it cannot be told yet.
 */
export function expectedResponseLength(request: Uint8Array, head: Uint8Array): number | undefined {
  if (head.length < 2) return undefined
  if (head[1]! & 0x80) return 5
  switch (request[1]) {
    case 0x01:
    case 0x02:
      return head.length < 3 ? undefined : 5 + head[2]!
    case 0x05:
    case 0x0f:
      return 8
    default:
      return undefined
  }
}

export type ModbusResponse =
  | { kind: 'bits'; bits: Array<0 | 1> }
  | { kind: 'written' }
  | { kind: 'exception'; code: number; text: string }

export class ModbusFrameError extends Error {
  override readonly name = 'ModbusFrameError'
  /** 'crc': the checksum is wrong (noise, a wrong baud rate); 'mismatch': a valid frame that is not the answer asked for. */
  readonly kind: 'crc' | 'mismatch'
  constructor(kind: 'crc' | 'mismatch', message: string) {
    super(message)
    this.kind = kind
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ')

/** Parses the complete answer to `request`; throws ModbusFrameError when it is not a valid one. */
export function parseResponse(request: Uint8Array, frame: Uint8Array): ModbusResponse {
  if (!crcOk(frame)) throw new ModbusFrameError('crc', `bad CRC in [${hex(frame)}]`)
  const slave = request[0]!
  const fn = request[1]!
  if (frame[0] !== slave) throw new ModbusFrameError('mismatch', `answer from slave ${frame[0]} to a request to ${slave}: [${hex(frame)}]`)
  if (frame[1] === (fn | 0x80)) {
    const code = frame[2]!
    return { kind: 'exception', code, text: MODBUS_EXCEPTIONS[code] ?? `exception ${code}` }
  }
  if (frame[1] !== fn) throw new ModbusFrameError('mismatch', `answer with function 0x${frame[1]!.toString(16)} to 0x${fn.toString(16)}: [${hex(frame)}]`)
  switch (fn) {
    case 0x01:
    case 0x02: {
      const count = (request[4]! << 8) | request[5]!
      const byteCount = frame[2]!
      if (byteCount !== Math.ceil(count / 8) || frame.length !== 5 + byteCount) {
        throw new ModbusFrameError('mismatch', `${count} bits asked, ${byteCount} bytes answered: [${hex(frame)}]`)
      }
      return { kind: 'bits', bits: unpackBits(frame.subarray(3, 3 + byteCount), count) }
    }
    case 0x05:
    case 0x0f:
      // 0x05 echoes the request; 0x0F echoes its start and count.
      for (let i = 2; i < 6; i++) {
        if (frame[i] !== request[i]) throw new ModbusFrameError('mismatch', `write not echoed: asked [${hex(request)}], answered [${hex(frame)}]`)
      }
      return { kind: 'written' }
    default:
      throw new ModbusFrameError('mismatch', `no parser for function 0x${fn.toString(16)}`)
  }
}

export function frameHex(frame: Uint8Array): string {
  return hex(frame)
}

/**
 * A simulated I2C bus: every i2c-bus call becomes the byte transaction the
 * device would see on the wire (docs/hardware.md §4.1) and goes to the model
 * attached at that address. Failures reject with i2c-bus's exact error
 * shapes (docs/hardware.md §2.2), because drivers classify errors by them and a
 * simulator that throws something tidier would hide a wrong classification.
 */
import type { BytesRead, BytesWritten, I2cBus } from '../edge/hardware/i2c-port.ts'

/** What a device on the bus does with the bytes of one transaction. */
export interface I2cDeviceModel {
  write(bytes: Uint8Array): void
  read(length: number): Uint8Array
}

/** 'eio': every transfer fails with EIO, as a bus wedged by a half-reset device or a failing adapter reports it. */
export type I2cFault = 'absent' | 'nack-once' | 'eio' | 'none'

export interface I2cTransaction {
  address: number
  op: 'write' | 'read'
  bytes: number[]
}

export interface SimI2cBusOptions {
  /** The bus number, used in the ENOENT path (/dev/i2c-N). Default 1. */
  bus?: number
  /** How many transactions transactions() keeps; default 1000. */
  keep?: number
}

type Path = 'plain' | 'smbus'

const SCAN_FIRST = 0x03
const SCAN_LAST = 0x77
const MAX_BLOCK = 32

export class SimI2cBus implements I2cBus {
  readonly busNumber: number
  private readonly devices = new Map<number, I2cDeviceModel>()
  private readonly faults = new Map<number, I2cFault>()
  private readonly keep: number
  private log: I2cTransaction[] = []
  private busMissing = false
  private closed = false

  constructor(opts: SimI2cBusOptions = {}) {
    this.busNumber = opts.bus ?? 1
    this.keep = opts.keep ?? 1000
  }

  attach(address: number, model: I2cDeviceModel): void {
    checkAddress(address)
    if (this.devices.has(address)) throw new Error(`address 0x${address.toString(16)} already has a device`)
    this.devices.set(address, model)
  }

  detach(address: number): void {
    this.devices.delete(address)
  }

  /** 'absent': every transaction NACKs; 'nack-once': the next one does; 'eio': every one fails with EIO; 'none': healthy. */
  injectFault(address: number, fault: I2cFault): void {
    checkAddress(address)
    if (fault === 'none') this.faults.delete(address)
    else this.faults.set(address, fault)
  }

  /** Simulates /dev/i2c-N missing (i2c not enabled in config.txt). */
  setBusMissing(missing: boolean): void {
    this.busMissing = missing
  }

  /** The transactions delivered to devices (oldest first), for byte-level assertions. */
  transactions(address?: number): readonly I2cTransaction[] {
    return address === undefined ? [...this.log] : this.log.filter((t) => t.address === address)
  }

  clearTransactions(): void {
    this.log = []
  }

  async i2cWrite(address: number, length: number, buffer: Buffer): Promise<BytesWritten> {
    checkBuffer(length, buffer)
    this.transfer(address, 'plain', 'write', () => this.deliverWrite(address, buffer.subarray(0, length)))
    return { bytesWritten: length, buffer }
  }

  async i2cRead(address: number, length: number, buffer: Buffer): Promise<BytesRead> {
    checkBuffer(length, buffer)
    this.transfer(address, 'plain', 'read', () => this.deliverRead(address, length, buffer))
    return { bytesRead: length, buffer }
  }

  async writeByte(address: number, command: number, byte: number): Promise<void> {
    checkByte(command)
    checkByte(byte)
    this.transfer(address, 'smbus', 'writeByte', () => this.deliverWrite(address, Uint8Array.of(command, byte)))
  }

  async sendByte(address: number, byte: number): Promise<void> {
    checkByte(byte)
    this.transfer(address, 'smbus', 'sendByte', () => this.deliverWrite(address, Uint8Array.of(byte)))
  }

  async readByte(address: number, command: number): Promise<number> {
    checkByte(command)
    const out = Buffer.alloc(1)
    this.transfer(address, 'smbus', 'readByte', () => {
      this.deliverWrite(address, Uint8Array.of(command))
      this.deliverRead(address, 1, out)
    })
    return out[0] ?? 0
  }

  async receiveByte(address: number): Promise<number> {
    const out = Buffer.alloc(1)
    this.transfer(address, 'smbus', 'receiveByte', () => this.deliverRead(address, 1, out))
    return out[0] ?? 0
  }

  async writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BytesWritten> {
    checkByte(command)
    checkBlock(length, buffer)
    const bytes = new Uint8Array(length + 1)
    bytes[0] = command
    bytes.set(buffer.subarray(0, length), 1)
    this.transfer(address, 'smbus', 'writeI2cBlock', () => this.deliverWrite(address, bytes))
    return { bytesWritten: length, buffer }
  }

  async readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BytesRead> {
    checkByte(command)
    checkBlock(length, buffer)
    this.transfer(address, 'smbus', 'readI2cBlock', () => {
      this.deliverWrite(address, Uint8Array.of(command))
      this.deliverRead(address, length, buffer)
    })
    return { bytesRead: length, buffer }
  }

  /** Like i2c-bus: probes with receiveByte and swallows every error, so a missing bus scans as []. */
  async scan(): Promise<number[]> {
    const found: number[] = []
    for (let a = SCAN_FIRST; a <= SCAN_LAST; a++) {
      if (this.busMissing || !this.devices.has(a)) continue
      try {
        await this.receiveByte(a)
        found.push(a)
      } catch {
        // not there
      }
    }
    return found
  }

  async close(): Promise<void> {
    this.closed = true
  }

  /** Checks the bus and the address the way the kernel would, then runs the transfer. */
  private transfer(address: number, path: Path, syscall: string, run: () => void): void {
    checkAddress(address)
    if (this.closed) throw new Error(`i2c bus ${this.busNumber} is closed`)
    if (this.busMissing) throw busMissingError(this.busNumber)
    const fault = this.faults.get(address)
    if (fault === 'nack-once') this.faults.delete(address)
    if (fault === 'eio') throw ioError(path, syscall)
    if (!this.devices.has(address) || fault !== undefined) throw nackError(path, syscall)
    run()
  }

  private deliverWrite(address: number, bytes: Uint8Array): void {
    this.record({ address, op: 'write', bytes: [...bytes] })
    this.device(address).write(Uint8Array.from(bytes))
  }

  private deliverRead(address: number, length: number, into: Buffer): void {
    const got = this.device(address).read(length)
    for (let i = 0; i < length; i++) into[i] = got[i] ?? 0xff // an idle bus reads high
    this.record({ address, op: 'read', bytes: [...into.subarray(0, length)] })
  }

  private device(address: number): I2cDeviceModel {
    const model = this.devices.get(address)
    if (model === undefined) throw nackError('plain', 'write')
    return model
  }

  private record(t: I2cTransaction): void {
    this.log.push(t)
    if (this.log.length > this.keep) this.log.splice(0, this.log.length - this.keep)
  }
}

type ErrnoError = Error & { errno: number; code: string; syscall: string; path?: string }

function errnoError(message: string, fields: Omit<ErrnoError, 'message' | 'name'>): ErrnoError {
  return Object.assign(new Error(message), fields)
}

/** fs.open on a missing /dev/i2c-N (i2c-bus opens lazily, at the first transfer). */
export function busMissingError(bus: number): ErrnoError {
  const path = `/dev/i2c-${bus}`
  return errnoError(`ENOENT: no such file or directory, open '${path}'`, {
    errno: -2,
    code: 'ENOENT',
    syscall: 'open',
    path,
  })
}

/**
 * A NACK as i2c-bus reports it: through fs.write/fs.read (libuv, negative
 * errno, named code) or through Nan::ErrnoException (positive errno, and an
 * empty code because Node has no name for EREMOTEIO).
 */
export function nackError(path: Path, syscall: string): ErrnoError {
  if (path === 'plain') {
    const op = syscall === 'read' ? 'read' : 'write'
    return errnoError(`EREMOTEIO: remote I/O error, ${op}`, { errno: -121, code: 'EREMOTEIO', syscall: op })
  }
  return errnoError(', Remote I/O error', { errno: 121, code: '', syscall })
}

/** EIO as i2c-bus reports it: through fs.write/fs.read (negative errno) or through Nan::ErrnoException (positive errno; Node names EIO). */
export function ioError(path: Path, syscall: string): ErrnoError {
  if (path === 'plain') {
    const op = syscall === 'read' ? 'read' : 'write'
    return errnoError(`EIO: i/o error, ${op}`, { errno: -5, code: 'EIO', syscall: op })
  }
  return errnoError('EIO, Input/output error', { errno: 5, code: 'EIO', syscall })
}

function checkAddress(address: number): void {
  if (!Number.isInteger(address) || address < 0 || address > 0x7f) throw new Error(`Invalid I2C address ${address}`)
}

function checkByte(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new Error(`Invalid byte ${v}`)
}

function checkBuffer(length: number, buffer: Buffer): void {
  if (!Number.isInteger(length) || length < 0) throw new Error(`Invalid buffer length ${length}`)
  if (!Buffer.isBuffer(buffer)) throw new Error('Invalid buffer')
  if (buffer.length < length) throw new Error(`Buffer must contain at least ${length} bytes`)
}

function checkBlock(length: number, buffer: Buffer): void {
  checkBuffer(length, buffer)
  if (length > MAX_BLOCK) throw new Error(`Invalid I2C block length ${length}`)
}

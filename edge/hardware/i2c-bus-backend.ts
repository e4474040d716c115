/**
 * I2cBus over i2c-bus (docs/hardware.md §2), opened lazily.
 *
 * i2c-bus itself opens lazily too: openPromisified(1) resolves even when
 * /dev/i2c-1 does not exist, and the first transfer then fails with ENOENT.
 * So the device node is checked here before the first transfer, and a
 * missing one gets an error that names it and says how to enable the bus;
 * it keeps the ENOENT shape (code, errno -2, path), so it classifies as
 * 'bus-missing' like any other.
 *
 * Every other error passes through untouched: drivers classify an absent
 * device by errno (121 EREMOTEIO or 6 ENXIO, and the SMBus calls' empty
 * `code`), see i2c-errors.ts. Nothing is retried here: the one NACK retry
 * lives in I2cDevice (i2c-device.ts), which the HT16K33 drivers and the
 * johnny-five plugin go through.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { BytesRead, BytesWritten, I2cBus } from './i2c-port.ts'

export interface I2cBusBackendOptions {
  bus: number
  /** Opens the bus; default i2c-bus's openPromisified (tests pass a simulated bus). */
  open?: (bus: number) => Promise<I2cBus>
  /** Where the device nodes live; default /dev. */
  devDir?: string
  log?: Logger
}

type ErrnoError = Error & { code: string; errno: number; syscall: string; path: string }

export function i2cBusNodeMissingError(bus: number, path: string): ErrnoError {
  const message =
    `ENOENT: ${path} does not exist: I2C bus ${bus} is not enabled. On a Raspberry Pi run ` +
    `\`sudo raspi-config nonint do_i2c 0\` or put \`dtparam=i2c_arm=on\` in /boot/firmware/config.txt, then reboot; ` +
    `on other boards enable the bus's device-tree overlay (armbian-config, /boot/uEnv.txt). ` +
    `\`ls /dev/i2c-*\` and \`i2cdetect -l\` list the buses this board has.`
  return Object.assign(new Error(message), { code: 'ENOENT', errno: -2, syscall: 'open', path })
}

export class I2cBusBackend implements I2cBus {
  readonly busNumber: number
  readonly devicePath: string
  private readonly opener: (bus: number) => Promise<I2cBus>
  private readonly log: Logger | undefined
  private opened: Promise<I2cBus> | undefined
  /** The node existed at the last transfer that worked; until then it is checked before each one. */
  private nodeSeen = false

  constructor(opts: I2cBusBackendOptions) {
    if (!Number.isInteger(opts.bus) || opts.bus < 0) throw new RangeError(`I2C bus number must be >= 0, got ${opts.bus}`)
    this.busNumber = opts.bus
    this.devicePath = join(opts.devDir ?? '/dev', `i2c-${opts.bus}`)
    this.opener = opts.open ?? openWithI2cBus
    this.log = opts.log
  }

  i2cWrite(address: number, length: number, buffer: Buffer): Promise<BytesWritten> {
    return this.call((b) => b.i2cWrite(address, length, buffer))
  }

  i2cRead(address: number, length: number, buffer: Buffer): Promise<BytesRead> {
    return this.call((b) => b.i2cRead(address, length, buffer))
  }

  writeByte(address: number, command: number, byte: number): Promise<void> {
    return this.call((b) => b.writeByte(address, command, byte))
  }

  sendByte(address: number, byte: number): Promise<void> {
    return this.call((b) => b.sendByte(address, byte))
  }

  readByte(address: number, command: number): Promise<number> {
    return this.call((b) => b.readByte(address, command))
  }

  receiveByte(address: number): Promise<number> {
    return this.call((b) => b.receiveByte(address))
  }

  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BytesWritten> {
    return this.call((b) => b.writeI2cBlock(address, command, length, buffer))
  }

  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BytesRead> {
    return this.call((b) => b.readI2cBlock(address, command, length, buffer))
  }

  /** Like i2c-bus, swallows errors: a missing bus scans as [] (and says so in the log). */
  async scan(): Promise<number[]> {
    if (!existsSync(this.devicePath)) {
      this.log?.warn({ bus: this.busNumber, path: this.devicePath }, 'I2C bus node missing; scan finds nothing')
      return []
    }
    try {
      return await (await this.handle()).scan()
    } catch {
      return []
    }
  }

  async close(): Promise<void> {
    const opened = this.opened
    this.opened = undefined
    this.nodeSeen = false
    if (opened === undefined) return
    const bus = await opened.catch(() => undefined)
    await bus?.close()
  }

  private handle(): Promise<I2cBus> {
    this.opened ??= this.opener(this.busNumber).catch((err: unknown) => {
      this.opened = undefined
      throw err
    })
    return this.opened
  }

  private async call<T>(op: (bus: I2cBus) => Promise<T>): Promise<T> {
    if (!this.nodeSeen && !existsSync(this.devicePath)) throw i2cBusNodeMissingError(this.busNumber, this.devicePath)
    try {
      const result = await op(await this.handle())
      this.nodeSeen = true
      return result
    } catch (err) {
      throw this.explain(err)
    }
  }

  /** Adds what to do to the errors a technician can fix; the shape (code, errno) stays as i2c-bus made it. */
  private explain(err: unknown): unknown {
    const e = err as Partial<ErrnoError>
    if (e?.code === 'ENOENT' || e?.errno === -2) {
      this.nodeSeen = false
      return i2cBusNodeMissingError(this.busNumber, this.devicePath)
    }
    if ((e?.code === 'EACCES' || e?.errno === -13) && err instanceof Error && !err.message.includes('i2c group')) {
      err.message += ` (no permission on ${this.devicePath}: add the user to the i2c group, sudo usermod -aG i2c $USER)`
    }
    if (e?.code === 'EBUSY' && err instanceof Error && !err.message.includes('kernel driver')) {
      err.message += ' (a kernel driver has claimed this address: unbind it or check the device tree)'
    }
    return err
  }
}

async function openWithI2cBus(bus: number): Promise<I2cBus> {
  const i2c = await import('i2c-bus')
  return i2c.openPromisified(bus)
}

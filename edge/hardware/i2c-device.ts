/**
 * One device at one address on an I2C bus, as drivers see it: transfers with
 * the project's single NACK retry, and bus errors turned into DeviceFaults.
 *
 * This is the ONE place an I2C transfer is retried. The i2c-bus adapter
 * passes errors through untouched (their shapes are what classification
 * relies on), and drivers and the johnny-five plugin go through here, so a
 * NACK is retried exactly once whichever path the bytes take.
 */
import type { Logger } from 'pino'
import { DeviceFault, type DeviceFaultCode } from './device-fault.ts'
import type { I2cBus } from './i2c-port.ts'
import { describeI2cError, errnoOf, isBusMissing, isDeviceAbsent } from './i2c-errors.ts'

export interface I2cDeviceOptions {
  bus: I2cBus
  address: number
  name: string
  log?: Logger | undefined
}

export class I2cDevice {
  readonly bus: I2cBus
  readonly address: number
  readonly name: string
  private readonly log: Logger | undefined
  private everAcked = false

  constructor(opts: I2cDeviceOptions) {
    this.bus = opts.bus
    this.address = opts.address
    this.name = opts.name
    this.log = opts.log
  }

  /** Whether the device has acknowledged anything since this object was made. */
  get hasAnswered(): boolean {
    return this.everAcked
  }

  /**
   * One bus transaction, retried once on a NACK: the Pi's clock-stretching bug
   * produces spurious EREMOTEIO, and a second miss is a real fault.
   */
  async transfer<T>(op: (bus: I2cBus, address: number) => Promise<T>): Promise<T> {
    let result: T
    try {
      result = await op(this.bus, this.address)
    } catch (err) {
      if (!isDeviceAbsent(err)) throw err
      this.log?.warn({ device: this.name, err: describeI2cError(err) }, 'no acknowledge, retrying once')
      result = await op(this.bus, this.address)
    }
    this.everAcked = true
    return result
  }

  /**
   * The DeviceFault for a failed transfer: 'absent' when the device never
   * answered, 'nack' when it did before, 'bus-missing' without /dev/i2c-N,
   * 'io' for any other errno. Errors that are not bus errors (a RangeError
   * from a driver, a TypeError) come back unchanged: they are bugs, not faults.
   */
  fault(err: unknown, what: string): DeviceFault | Error {
    if (err instanceof DeviceFault) return err
    if (!isDeviceAbsent(err) && !isBusMissing(err) && errnoOf(err) === undefined) {
      return err instanceof Error ? err : new Error(String(err))
    }
    const code: DeviceFaultCode = isBusMissing(err)
      ? 'bus-missing'
      : isDeviceAbsent(err)
        ? this.everAcked
          ? 'nack'
          : 'absent'
        : 'io'
    this.log?.error({ device: this.name, code, err: describeI2cError(err) }, `${what} failed`)
    return new DeviceFault(this.name, code, `${this.name}: ${what} failed (${code}): ${describeI2cError(err)}`, {
      cause: err,
    })
  }
}

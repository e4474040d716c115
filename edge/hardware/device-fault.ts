/**
 * The one error type drivers throw for a device that stopped doing its job.
 *
 * Devices report faults by `code` on the wire (state.faults, event/fault), so
 * callers branch on `code` rather than parsing messages; the original error
 * travels as `cause` for the log.
 */

export type DeviceFaultCode =
  /** never acknowledged since start: unplugged, wrong address, dead board */
  | 'absent'
  /** acknowledged before, now does not (loose cable, brown-out, bus noise) */
  | 'nack'
  /** the bus device node is missing: bus disabled or wrong bus number */
  | 'bus-missing'
  /** anything else the bus reported */
  | 'io'

export class DeviceFault extends Error {
  override readonly name = 'DeviceFault'
  readonly device: string
  readonly code: DeviceFaultCode

  constructor(device: string, code: DeviceFaultCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.device = device
    this.code = code
  }
}

export function isDeviceFault(err: unknown): err is DeviceFault {
  return err instanceof DeviceFault
}

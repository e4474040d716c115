/**
 * Classifying i2c-bus errors.
 *
 * The same "nobody answered" arrives in two shapes (docs/hardware.md §2.2): plain
 * i2cWrite/i2cRead go through fs.write/fs.read and reject with
 * code 'EREMOTEIO', errno -121; the SMBus calls go through Nan::ErrnoException,
 * whose code is '' (Node has no name for EREMOTEIO) and whose errno is +121.
 * Bit-banged adapters (i2c-gpio) report ENXIO (6) instead. So classification
 * goes by errno, both signs, both values.
 */

const ABSENT_ERRNOS = new Set([121, -121, 6, -6])

function field(err: unknown, key: string): unknown {
  if (typeof err !== 'object' || err === null) return undefined
  return (err as Record<string, unknown>)[key]
}

export function errnoOf(err: unknown): number | undefined {
  const errno = field(err, 'errno')
  return typeof errno === 'number' ? errno : undefined
}

/** The device did not acknowledge: unplugged, wrong address, or a NACK mid-transfer. */
export function isDeviceAbsent(err: unknown): boolean {
  const errno = errnoOf(err)
  if (errno !== undefined && ABSENT_ERRNOS.has(errno)) return true
  const code = field(err, 'code')
  return code === 'EREMOTEIO' || code === 'ENXIO'
}

/** /dev/i2c-N does not exist: the bus is not enabled (dtparam=i2c_arm=on) or the adapter is wrong. */
export function isBusMissing(err: unknown): boolean {
  return field(err, 'code') === 'ENOENT' || errnoOf(err) === -2
}

/** Names for the errnos an I2C transfer gives, for the SMBus shape whose code is empty. */
const ERRNO_NAMES: Record<number, string> = { 5: 'EIO', 6: 'ENXIO', 16: 'EBUSY', 110: 'ETIMEDOUT', 121: 'EREMOTEIO' }

/**
 * A short description for logs: the code and the message. The SMBus shape has
 * an empty code and a message starting ", " (Nan::ErrnoException with no
 * syscall name): the code is filled from the errno, so a log never shows "(, …)".
 */
export function describeI2cError(err: unknown): string {
  const code = field(err, 'code')
  const errno = errnoOf(err)
  const message = (err instanceof Error ? err.message : String(err)).replace(/^,\s*/, '')
  const named = errno !== undefined ? ERRNO_NAMES[Math.abs(errno)] : undefined
  const tag = typeof code === 'string' && code !== '' ? code : errno !== undefined ? (named ? `${named} (errno ${errno})` : `errno ${errno}`) : 'error'
  return `${tag} (${message})`
}

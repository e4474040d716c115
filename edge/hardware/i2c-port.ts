/**
 * The I2C port: the subset of i2c-bus's PromisifiedBus our drivers use.
 *
 * Kept structurally identical to PromisifiedBus (same names, argument order
 * and result shapes) so `await i2c.openPromisified(n)` can be handed to a
 * driver as is, and sim/i2c-bus.ts can stand in for it in CI. Methods that no
 * driver needs (writeWord, i2cFuncs, deviceId, bus()) are left out on
 * purpose: every method here is one the simulator has to model byte-exactly.
 *
 * Errors keep i2c-bus's shapes (docs/hardware.md §2.2); classify them with
 * i2c-errors.ts, never by `code` alone.
 */

export interface BytesWritten {
  bytesWritten: number
  buffer: Buffer
}

export interface BytesRead {
  bytesRead: number
  buffer: Buffer
}

export interface I2cBus {
  /** Plain I2C write: W[buffer[0..length)]. */
  i2cWrite(address: number, length: number, buffer: Buffer): Promise<BytesWritten>
  /** Plain I2C read: R[length] into buffer. */
  i2cRead(address: number, length: number, buffer: Buffer): Promise<BytesRead>
  /** SMBus write byte data: W[command, byte]. */
  writeByte(address: number, command: number, byte: number): Promise<void>
  /** SMBus send byte: W[byte]. */
  sendByte(address: number, byte: number): Promise<void>
  /** SMBus read byte data: W[command] then R1. */
  readByte(address: number, command: number): Promise<number>
  /** SMBus receive byte: R1. */
  receiveByte(address: number): Promise<number>
  /** SMBus I2C-block write: W[command, buffer[0..length)], length <= 32. */
  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BytesWritten>
  /** SMBus I2C-block read: W[command] then R[length], length <= 32. */
  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BytesRead>
  /**
   * Addresses that answer receiveByte in 0x03..0x77. Like i2c-bus it swallows
   * every error, so a missing bus scans as []: check the device node apart.
   */
  scan(): Promise<number[]>
  close(): Promise<void>
}

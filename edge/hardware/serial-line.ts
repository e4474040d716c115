/**
 * The serial-line port: what the Modbus master sees of an RS-485 line.
 *
 * Adapters: serialport (edge/hardware/serialport-line.ts) for a USB-RS485
 * adapter or a UART in RS-485 mode, and sim/serial-line.ts, a simulated line
 * carrying bytes to simulated modules at the line's speed. Data arrives in
 * chunks of any size, as a UART driver hands it over; finding where a frame
 * ends is the master's job.
 */

export type Parity = 'none' | 'even' | 'odd'

export interface SerialSettings {
  baudRate: number
  parity: Parity
  /** Modbus RTU: 1 with parity, 2 without (the spec), 1 without on most cheap modules. */
  stopBits: 1 | 2
}

export interface SerialLine {
  /** The device ('/dev/ttyUSB0'), for logs and fault messages. */
  readonly path: string
  /** Rejects with an error naming the device when it is missing or busy. */
  open(): Promise<void>
  /** Resolves once the bytes are handed to the driver; rejects when the line is closed or lost. */
  write(bytes: Buffer): Promise<void>
  /** Every chunk received; returns the unsubscribe. */
  onData(cb: (chunk: Buffer) => void): () => void
  /** The line failed or was lost (a USB adapter pulled out); it may be opened again. */
  onError(cb: (err: Error) => void): () => void
  readonly isOpen: boolean
  close(): Promise<void>
}

/** One character on the wire: start bit, 8 data bits, parity, stop bits. */
export function charTimeMs(s: SerialSettings): number {
  return ((1 + 8 + (s.parity === 'none' ? 0 : 1) + s.stopBits) * 1000) / s.baudRate
}

/**
 * The silence that ends an RTU frame: 3.5 characters, fixed at 1.75 ms above
 * 19200 baud (the serial-line spec, §2.5.1.1).
 */
export function interFrameMs(s: SerialSettings): number {
  return s.baudRate > 19_200 ? 1.75 : 3.5 * charTimeMs(s)
}

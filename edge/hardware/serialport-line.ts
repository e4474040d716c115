/**
 * The serial-line port on a real device through serialport 8 (the version
 * johnny-five already brings, so no dependency of its own): a USB-RS485
 * adapter ('/dev/ttyUSB0', better '/dev/serial/by-id/…') or a board UART
 * whose kernel driver switches the RS-485 transceiver (docs/hardware.md §7).
 *
 * serialport 8 cannot set the kernel's RS-485 mode (TIOCSRS485): an adapter
 * with automatic direction control needs nothing, a UART needs it from the
 * device tree. A port that closes on its own (the adapter pulled out, with
 * serialport's DisconnectedError) is reported through onError; the master
 * opens it again on its next transaction, so plugging the adapter back in
 * is enough.
 */
import type { Logger } from 'pino'
import type SerialPortType from 'serialport'
import type { SerialLine, SerialSettings } from './serial-line.ts'

export interface SerialportLineOptions {
  path: string
  settings: SerialSettings
  log?: Logger
}

export class SerialportLine implements SerialLine {
  readonly path: string
  private readonly settings: SerialSettings
  private readonly log: Logger | undefined
  private port: SerialPortType | undefined
  private readonly dataListeners = new Set<(chunk: Buffer) => void>()
  private readonly errorListeners = new Set<(err: Error) => void>()

  constructor(opts: SerialportLineOptions) {
    this.path = opts.path
    this.settings = opts.settings
    this.log = opts.log
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false
  }

  async open(): Promise<void> {
    if (this.isOpen) return
    // Loaded here so the simulator and the tests never load the native binding.
    const { default: SerialPort } = await import('serialport')
    const port = new SerialPort(this.path, {
      autoOpen: false,
      baudRate: this.settings.baudRate,
      dataBits: 8,
      parity: this.settings.parity,
      stopBits: this.settings.stopBits,
    })
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
    port.on('data', (chunk: Buffer) => {
      for (const cb of [...this.dataListeners]) cb(chunk)
    })
    port.on('error', (err: Error) => this.fail(port, err))
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      if (err) this.fail(port, err)
    })
    this.port = port
    this.log?.info({ path: this.path, ...this.settings }, 'RS-485 line open')
  }

  async write(bytes: Buffer): Promise<void> {
    const port = this.port
    if (port === undefined || !port.isOpen) throw Object.assign(new Error(`EBADF: ${this.path} is not open`), { code: 'EBADF' })
    await new Promise<void>((resolve, reject) => port.write(bytes, (err) => (err ? reject(err) : resolve())))
    // Handed to the kernel, not yet on the wire: drain, so the response timeout starts after the request left.
    await new Promise<void>((resolve, reject) => port.drain((err) => (err ? reject(err) : resolve())))
  }

  onData(cb: (chunk: Buffer) => void): () => void {
    this.dataListeners.add(cb)
    return () => this.dataListeners.delete(cb)
  }

  onError(cb: (err: Error) => void): () => void {
    this.errorListeners.add(cb)
    return () => this.errorListeners.delete(cb)
  }

  async close(): Promise<void> {
    const port = this.port
    this.port = undefined
    if (port === undefined || !port.isOpen) return
    port.removeAllListeners('close')
    await new Promise<void>((resolve) => port.close(() => resolve()))
  }

  private fail(port: SerialPortType, err: Error): void {
    if (this.port !== port) return
    this.port = undefined
    // Whatever broke, the next transaction opens the device afresh; the old handle must not hold its lock.
    port.removeAllListeners('close')
    if (port.isOpen) port.close(() => undefined)
    this.log?.warn({ path: this.path, err }, 'RS-485 line lost')
    for (const cb of [...this.errorListeners]) cb(err)
  }
}

/**
 * A StandardFirmata board (an Arduino Uno) at the end of a serial transport,
 * speaking the Firmata protocol byte by byte, so the real firmata-io client
 * and johnny-five run against it as they would over USB:
 *
 * - the handshake: REPORT_VERSION, firmware, capability and analog-mapping
 *   queries, answered as StandardFirmata 2.5 on a Uno answers them;
 * - SET_PIN_MODE, digital port writes and SET_DIGITAL_PIN_VALUE on outputs,
 *   whose levels it keeps;
 * - REPORT_DIGITAL, answered at once with the port's input levels (as
 *   StandardFirmata's reportDigitalCallback does), and a report of the port
 *   whenever an input changes; PULLUP mode holds an idle input high;
 * - unplug(): the port closes as serialport closes it when the device
 *   disappears, with a DisconnectedError.
 *
 * Pins 0 and 1 are the serial port; 2..19 are digital, 14..19 also analog.
 */
import { EventEmitter } from 'node:events'

const PIN_COUNT = 20
const MODE = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PULLUP: 11 } as const

type Level = 0 | 1

export class FakeFirmataBoard extends EventEmitter {
  isOpen = true
  /** Every command byte sequence received, for tests that look at the wire. */
  readonly received: number[][] = []
  /** Whether the board answers at all (a board without firmware never does). */
  silent = false
  /** Whether input reports are sent (a sketch that never reports). */
  reportsInputs = true
  private readonly modes: Array<number | undefined> = new Array(PIN_COUNT).fill(undefined)
  private readonly outputs: Level[] = new Array(PIN_COUNT).fill(0)
  /** What drives each input from outside (a key to ground); undefined = nothing, so the pull decides. */
  private readonly external: Array<Level | undefined> = new Array(PIN_COUNT).fill(undefined)
  private readonly reporting = new Set<number>()
  private pending: number[] = []

  constructor() {
    super()
    // A Uno resets when its port opens; StandardFirmata's setup() then announces its protocol version and its firmware.
    setImmediate(() => {
      this.emit('open')
      this.send([0xf9, 2, 5])
      this.sysex([0x79])
    })
  }

  /** The level on an output pin as a meter would read it. */
  outputLevel(pin: number): Level {
    return this.outputs[pin] ?? 0
  }

  mode(pin: number): number | undefined {
    return this.modes[pin]
  }

  /** Drives an input from outside: 0 = a key pressed to ground, undefined = released. */
  drive(pin: number, level: Level | undefined): void {
    const port = pin >> 3
    const before = this.portInputs(port)
    this.external[pin] = level
    if (this.portInputs(port) !== before) this.reportPort(port)
  }

  /** Pulled out of the USB socket: serialport closes the port with a DisconnectedError. */
  unplug(): void {
    if (!this.isOpen) return
    this.isOpen = false
    this.emit('close', Object.assign(new Error('Port is disconnected'), { disconnected: true }))
  }

  write(data: Buffer | number[], cb?: (err?: Error | null) => void): boolean {
    if (!this.isOpen) {
      const err = new Error('Port is not open')
      setImmediate(() => (cb ? cb(err) : this.emit('error', err)))
      return false
    }
    for (const byte of data) this.take(byte)
    setImmediate(() => cb?.(null))
    return true
  }

  close(cb?: (err?: Error | null) => void): void {
    this.isOpen = false
    setImmediate(() => {
      this.emit('close')
      cb?.(null)
    })
  }

  private take(byte: number): void {
    if (byte & 0x80 && this.pending[0] !== 0xf0) this.pending = []
    this.pending.push(byte)
    const [cmd] = this.pending
    if (cmd === undefined) return
    if (cmd === 0xf0) {
      if (byte === 0xf7) this.command(this.pending.splice(0))
      return
    }
    const length = cmd === 0xf9 || cmd === 0xff ? 1 : (cmd & 0xf0) === 0xc0 || (cmd & 0xf0) === 0xd0 ? 2 : 3
    if (this.pending.length === length) this.command(this.pending.splice(0))
  }

  private command(bytes: number[]): void {
    this.received.push(bytes)
    if (this.silent) return
    const [cmd, a = 0, b = 0] = bytes
    if (cmd === 0xf9) return this.send([0xf9, 2, 5])
    if (cmd === 0xf0) return this.sysex(bytes.slice(1, -1))
    if (cmd === 0xf4) {
      this.modes[a] = b
      if (b === MODE.OUTPUT) this.outputs[a] = 0 // StandardFirmata drives a new output LOW
      return
    }
    if (cmd === 0xf5) {
      this.outputs[a] = b ? 1 : 0
      return
    }
    if (cmd !== undefined && (cmd & 0xf0) === 0x90) {
      const port = cmd & 0x0f
      const value = a | (b << 7)
      for (let i = 0; i < 8; i++) {
        const pin = port * 8 + i
        if (this.modes[pin] === MODE.OUTPUT) this.outputs[pin] = ((value >> i) & 1) as Level
      }
      return
    }
    if (cmd !== undefined && (cmd & 0xf0) === 0xd0) {
      const port = cmd & 0x0f
      if (a) {
        this.reporting.add(port)
        this.reportPort(port)
      } else this.reporting.delete(port)
    }
  }

  private sysex([id]: number[]): void {
    if (id === 0x79) {
      const name = [...'StandardFirmata.ino'].flatMap((c) => [c.charCodeAt(0) & 0x7f, c.charCodeAt(0) >> 7])
      return this.send([0xf0, 0x79, 2, 5, ...name, 0xf7])
    }
    if (id === 0x6b) {
      const pins = Array.from({ length: PIN_COUNT }, (_, pin) =>
        pin < 2 ? [0x7f] : [MODE.INPUT, 1, MODE.OUTPUT, 1, MODE.PULLUP, 1, ...(pin >= 14 ? [MODE.ANALOG, 10] : []), 0x7f],
      )
      return this.send([0xf0, 0x6c, ...pins.flat(), 0xf7])
    }
    if (id === 0x69) {
      const channels = Array.from({ length: PIN_COUNT }, (_, pin) => (pin >= 14 ? pin - 14 : 0x7f))
      return this.send([0xf0, 0x6a, ...channels, 0xf7])
    }
  }

  /** The electrical level of an input: what drives it from outside, else its pull-up, else a floating 0. */
  private inputLevel(pin: number): Level {
    return this.external[pin] ?? (this.modes[pin] === MODE.PULLUP ? 1 : 0)
  }

  private portInputs(port: number): number {
    let value = 0
    for (let i = 0; i < 8; i++) {
      const pin = port * 8 + i
      const mode = this.modes[pin]
      if ((mode === MODE.INPUT || mode === MODE.PULLUP) && this.inputLevel(pin)) value |= 1 << i
    }
    return value
  }

  private reportPort(port: number): void {
    if (!this.reporting.has(port) || !this.reportsInputs || !this.isOpen) return
    const value = this.portInputs(port)
    this.send([0x90 | port, value & 0x7f, (value >> 7) & 0x7f])
  }

  private send(bytes: number[]): void {
    setImmediate(() => {
      if (this.isOpen) this.emit('data', Buffer.from(bytes))
    })
  }
}

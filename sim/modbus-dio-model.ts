/**
 * A Modbus RTU DI/DO module at the byte level (docs/hardware.md §7), as the
 * cheap 8-in/8-out boards found under hall desks behave: it hears every frame
 * on the RS-485 line, takes a frame to be over after 3.5 characters of
 * silence, drops a frame with a bad CRC or for another address without a
 * word, and answers its own (0x01, 0x02, 0x05, 0x0F) or raises an exception:
 * 01 unknown function, 02 an address beyond its inputs or coils, 03 a bad
 * count or coil value, 04 a coil whose driver failed. Broadcast writes
 * (address 0) are carried out and not answered.
 *
 * Its terminals are a SimGpio of their own: discrete inputs are input pins
 * (press a key wired to one), coils are output pins (a relay model reads
 * one), named by the profile's roles where the profile wires them.
 *
 * Faults as in a hall: unplug() (no power, no answer, its relays drop),
 * plug() (it comes back cold, every coil off), corruptCrc(n) (the next n
 * answers carry a wrong CRC), and a coil terminal whose writes fail.
 */
import { crcOk, packBits, unpackBits, withCrc } from '../edge/hardware/modbus-rtu.ts'
import { interFrameMs, type SerialSettings } from '../edge/hardware/serial-line.ts'
import type { GpioLine, Level } from '../edge/hardware/gpio-port.ts'
import { SimGpio, type SimLineDef } from './gpio.ts'
import type { SimRs485Slave } from './serial-line.ts'

export interface ModbusDioModelOptions {
  slave: number
  inputs: number
  coils: number
  settings: SerialSettings
  /** Names (and wiring) of terminals the profile uses; the others are 'di-<n>' and 'coil-<n>'. */
  named?: ReadonlyArray<{ name: string; kind: 'di' | 'coil'; offset: number; activeLow?: boolean }>
  /** From the end of a request to the first byte of the answer; default 5 ms (cheap modules take 2–20). */
  turnaroundMs?: number
  now?: () => number
}

export interface ModbusFrameLogEntry {
  at: number
  request: string
  /** The answer as sent, or why there was none. */
  answer: string
}

export class ModbusDioModel implements SimRs485Slave {
  readonly slave: number
  readonly terminals: SimGpio
  private readonly inputs: number
  private readonly coils: number
  private readonly silenceMs: number
  private readonly turnaroundMs: number
  private readonly now: () => number
  private readonly inputNames: string[]
  private readonly coilNames: string[]
  private readonly inputLines: GpioLine[] = []
  private coilLines: GpioLine[] = []
  private rx: Buffer = Buffer.alloc(0)
  private frameTimer: NodeJS.Timeout | undefined
  private powered = true
  private badCrcAnswers = 0
  /** The last frames handled, newest last (kept short: a hall polls for days). */
  readonly frames: ModbusFrameLogEntry[] = []
  readonly stats = { requests: 0, answered: 0, exceptions: 0, droppedCrc: 0, otherAddress: 0 }

  constructor(opts: ModbusDioModelOptions) {
    this.slave = opts.slave
    this.inputs = opts.inputs
    this.coils = opts.coils
    this.silenceMs = interFrameMs(opts.settings)
    this.turnaroundMs = opts.turnaroundMs ?? 5
    this.now = opts.now ?? (() => Date.now())
    const name = (kind: 'di' | 'coil', offset: number) => opts.named?.find((n) => n.kind === kind && n.offset === offset)
    const defs: SimLineDef[] = []
    this.inputNames = []
    this.coilNames = []
    for (let i = 0; i < this.inputs; i++) {
      const n = name('di', i)
      const def = { name: n?.name ?? `di-${i}`, chip: `modbus:${this.slave}/di`, offset: i, direction: 'in' as const, activeLow: n?.activeLow ?? false }
      defs.push(def)
      this.inputNames.push(def.name)
    }
    for (let i = 0; i < this.coils; i++) {
      const n = name('coil', i)
      // A coil's terminal is its bit: 1 energises the relay, and a module without power drops it to 0.
      const def = { name: n?.name ?? `coil-${i}`, chip: `modbus:${this.slave}/coil`, offset: i, direction: 'out' as const, activeLow: false }
      defs.push(def)
      this.coilNames.push(def.name)
    }
    this.terminals = new SimGpio({ lines: defs, now: this.now })
    this.ready = this.start()
  }

  /** Settles once the firmware has its terminals (at once: the simulated pins open without waiting). */
  readonly ready: Promise<void>

  private async start(): Promise<void> {
    for (const name of this.inputNames) {
      this.inputLines.push(await this.terminals.open({ name, chip: `modbus:${this.slave}/di`, offset: this.inputLines.length, direction: 'in' }))
    }
    await this.powerUp()
  }

  get isPlugged(): boolean {
    return this.powered
  }

  /** The module loses power or its cable: it answers nothing and its relays drop. */
  async unplug(): Promise<void> {
    await this.ready
    if (!this.powered) return
    this.powered = false
    clearTimeout(this.frameTimer)
    this.rx = Buffer.alloc(0)
    for (const l of this.coilLines) await l.close()
    this.coilLines = []
  }

  /** Back on the line, cold: every coil off until the master writes them. */
  async plug(): Promise<void> {
    await this.ready
    if (this.powered) return
    await this.powerUp()
  }

  /** The next `count` answers go out with a wrong CRC (a noisy line, a missing terminator). */
  corruptCrc(count = 1): void {
    this.badCrcAnswers = count
  }

  /** Whether a coil is on (its bit is 1, its relay energised). */
  coil(offset: number): boolean {
    const name = this.coilNames[offset]
    if (name === undefined) throw new RangeError(`module ${this.slave} has no coil ${offset}`)
    return this.terminals.level(name) === 1
  }

  async stop(): Promise<void> {
    await this.ready
    clearTimeout(this.frameTimer)
    await this.terminals.stop()
  }

  hear(chunk: Buffer, send: (bytes: Buffer) => void): void {
    if (!this.powered) return
    this.rx = Buffer.concat([this.rx, chunk])
    clearTimeout(this.frameTimer)
    this.frameTimer = setTimeout(() => {
      const frame = this.rx
      this.rx = Buffer.alloc(0)
      void this.handle(frame, send)
    }, Math.ceil(this.silenceMs))
  }

  private async powerUp(): Promise<void> {
    this.coilLines = []
    for (let i = 0; i < this.coilNames.length; i++) {
      this.coilLines.push(await this.terminals.open({ name: this.coilNames[i]!, chip: `modbus:${this.slave}/coil`, offset: i, direction: 'out', initial: 0 }))
    }
    this.powered = true
  }

  private async handle(frame: Buffer, send: (bytes: Buffer) => void): Promise<void> {
    await this.ready
    const hex = frame.toString('hex')
    if (!crcOk(frame)) {
      this.stats.droppedCrc++
      return this.logFrame(hex, 'dropped: bad CRC')
    }
    const address = frame[0]!
    if (address !== this.slave && address !== 0) {
      this.stats.otherAddress++
      return
    }
    this.stats.requests++
    const pdu = await this.execute(frame.subarray(1, frame.length - 2))
    if (address === 0 || !this.powered) return this.logFrame(hex, 'broadcast: no answer')
    const answer = withCrc(Buffer.concat([Uint8Array.of(this.slave), pdu]))
    if (pdu[0]! & 0x80) this.stats.exceptions++
    if (this.badCrcAnswers > 0) {
      this.badCrcAnswers--
      answer[answer.length - 1]! ^= 0x5a
    }
    this.stats.answered++
    this.logFrame(hex, answer.toString('hex'))
    setTimeout(() => {
      if (this.powered) send(answer)
    }, this.turnaroundMs)
  }

  /** The PDU of the answer: function + data, or function | 0x80 + exception code. */
  private async execute(pdu: Buffer): Promise<Buffer> {
    const fn = pdu[0]!
    const exception = (code: number) => Uint8Array.of(fn | 0x80, code)
    const u16 = (i: number) => (pdu[i]! << 8) | pdu[i + 1]!
    switch (fn) {
      case 0x01:
      case 0x02: {
        if (pdu.length !== 5) return Buffer.from(exception(0x03))
        const start = u16(1)
        const count = u16(3)
        if (count < 1 || count > 2000) return Buffer.from(exception(0x03))
        const size = fn === 0x01 ? this.coils : this.inputs
        if (start + count > size) return Buffer.from(exception(0x02))
        const bits: Level[] = []
        for (let i = start; i < start + count; i++) bits.push(fn === 0x01 ? this.coilLevel(i) : this.terminals.level(this.inputNames[i]!))
        const packed = packBits(bits)
        return Buffer.concat([Uint8Array.of(fn, packed.length), packed])
      }
      case 0x05: {
        if (pdu.length !== 5) return Buffer.from(exception(0x03))
        const address = u16(1)
        const value = u16(3)
        if (value !== 0xff00 && value !== 0x0000) return Buffer.from(exception(0x03))
        if (address >= this.coils) return Buffer.from(exception(0x02))
        if (!(await this.drive(address, value === 0xff00 ? 1 : 0))) return Buffer.from(exception(0x04))
        return Buffer.from(pdu)
      }
      case 0x0f: {
        const start = u16(1)
        const count = u16(3)
        const byteCount = pdu[5]
        if (count < 1 || count > 1968 || byteCount !== Math.ceil(count / 8) || pdu.length !== 6 + byteCount) return Buffer.from(exception(0x03))
        if (start + count > this.coils) return Buffer.from(exception(0x02))
        const bits = unpackBits(pdu.subarray(6), count)
        for (let i = 0; i < count; i++) if (!(await this.drive(start + i, bits[i]!))) return Buffer.from(exception(0x04))
        return Buffer.from(pdu.subarray(0, 5))
      }
      default:
        return Buffer.from(exception(0x01))
    }
  }

  private coilLevel(offset: number): Level {
    return this.terminals.level(this.coilNames[offset]!)
  }

  private async drive(offset: number, level: Level): Promise<boolean> {
    const line = this.coilLines[offset]
    if (line === undefined) return false
    try {
      // The terminal is opened raw (active high): the wire bit is the level driven.
      await line.write(level)
      return true
    } catch {
      return false
    }
  }

  private logFrame(request: string, answer: string): void {
    this.frames.push({ at: this.now(), request, answer })
    if (this.frames.length > 100) this.frames.shift()
  }
}

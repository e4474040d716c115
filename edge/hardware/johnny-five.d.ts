/**
 * The part of johnny-five 2.1 this project uses. johnny-five ships no types
 * and @types/johnny-five is not a dependency; these are written from its
 * sources (lib/board.js, lib/led/ledcontrol.js, lib/button.js) and cover only
 * what edge/hardware/j5-*.ts and the tests call.
 */
declare module 'johnny-five' {
  import type { EventEmitter } from 'node:events'

  /** The IO-plugin surface johnny-five drives (Firmata, or our J5IoPlugin). */
  export interface IoPinInfo {
    supportedModes: number[]
    mode?: number | undefined
    value: number
    report: number
    analogChannel: number
  }

  export interface Io extends EventEmitter {
    readonly name: string
    readonly MODES: Record<string, number>
    readonly HIGH: number
    readonly LOW: number
    pins: IoPinInfo[]
    analogPins: number[]
    isReady: boolean
    pinMode(pin: number, mode: number): void
    digitalWrite(pin: number, value: number): void
    digitalRead(pin: number, handler: (value: number) => void): void
    reportDigitalPin?(pin: number, value: 0 | 1): void
    i2cConfig(options?: unknown): void
    i2cWrite(address: number, registerOrBytes: number | number[], bytes?: number | number[]): void
    i2cWriteReg(address: number, register: number, value: number): void
    i2cRead(address: number, ...args: unknown[]): void
    i2cReadOnce(address: number, ...args: unknown[]): void
    normalize?(pin: number | string): number | string
    /** Our plugin: resolves once every queued transfer is done (see J5IoPlugin.flush). */
    flush?(): Promise<void>
    close?(): Promise<void>
    transport?: { close?(cb?: (err?: Error | null) => void): void; isOpen?: boolean }
  }

  export interface BoardOptions {
    io?: Io
    port?: string
    repl?: boolean
    debug?: boolean
    sigint?: boolean
    timeout?: number
    id?: string
  }

  export class Board extends EventEmitter {
    constructor(options?: BoardOptions)
    readonly io: Io
    isReady: boolean
    shiftOut(dataPin: number, clockPin: number, value: number): void
    static purge?(): void
  }

  export interface LedControlOptions {
    board: Board
    controller?: 'HT16K33' | 'MAX7219' | string
    pins?: { data: number; clock: number; cs: number }
    address?: number
    addresses?: number[]
    digits?: number
  }

  export class LedControl {
    constructor(options: LedControlOptions)
    send(device: number, opcode: number, data: number): this
    print(message: string, options?: { device: number }): this
    digit(device: number, position: number, character: string | number): this
    brightness(value: number): this
    blink(value: 'fast' | 'normal' | 'slow' | false): this
    clear(device?: number): this
    on(device?: number): this
    off(device?: number): this
    static purge?(): void
  }

  export class Led {
    static Digits: typeof LedControl
  }

  export interface ButtonOptions {
    board: Board
    pin: number | string
    invert?: boolean
    isPullup?: boolean
    holdtime?: number
  }

  export class Button extends EventEmitter {
    constructor(options: ButtonOptions)
    readonly isDown: boolean
  }

  const five: {
    Board: typeof Board
    Led: typeof Led
    LedControl: typeof LedControl
    Button: typeof Button
  }
  export default five
}

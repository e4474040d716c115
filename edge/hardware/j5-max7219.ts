/**
 * MAX7219 frames through johnny-five: its LedControl (Led.Digits, default
 * controller) clocks each frame out with Board.shiftOut over the IO's
 * digitalWrite, on Firmata or on our plugin. What is shown, and in which
 * order registers are written, stays with Max7219Display (max7219.ts): J5's
 * own print() drops '-' and shows B as 8 (docs/hardware.md §3.4).
 *
 * One trap is handled before LedControl exists: its initialisation turns the
 * chip on (0x0C,1) before it clears the digits, so a cold chip (random digit
 * registers) would flash garbage for as long as the clearing takes, which
 * over Firmata is a visible moment. The digits are blanked and the chip kept
 * in shutdown first, through the same Board.shiftOut.
 */
import type { LedControl } from 'johnny-five'
import { flushIo, type J5Context } from './j5-board.ts'
import { MAX7219_REG, type Max7219Transport } from './max7219.ts'

export interface J5Max7219Pins {
  data: number
  clock: number
  cs: number
}

export class J5Max7219Transport implements Max7219Transport {
  readonly description: string
  private readonly j5: J5Context
  private readonly led: LedControl

  private constructor(j5: J5Context, led: LedControl, pins: J5Max7219Pins) {
    this.j5 = j5
    this.led = led
    this.description = `johnny-five on ${j5.where}, pins ${pins.data}/${pins.clock}/${pins.cs}`
  }

  static async create(j5: J5Context, pins: J5Max7219Pins, digits: number): Promise<J5Max7219Transport> {
    const { io, board } = j5
    for (const pin of [pins.data, pins.clock, pins.cs]) io.pinMode(pin, io.MODES.OUTPUT!)
    io.digitalWrite(pins.cs, 1)
    const frame = (register: number, data: number) => {
      io.digitalWrite(pins.cs, 0)
      board.shiftOut(pins.data, pins.clock, register)
      board.shiftOut(pins.data, pins.clock, data)
      io.digitalWrite(pins.cs, 1)
    }
    frame(MAX7219_REG.SHUTDOWN, 0)
    frame(MAX7219_REG.DISPLAY_TEST, 0)
    frame(MAX7219_REG.DECODE_MODE, 0)
    for (let d = 0; d < 8; d++) frame(MAX7219_REG.DIGIT0 + d, 0)
    const led = new j5.five.Led.Digits({ board, pins, digits })
    await flushIo(io)
    return new J5Max7219Transport(j5, led, pins)
  }

  async writeRegister(register: number, data: number): Promise<void> {
    // A lost board takes the frame without a word (Firmata writes to a closed port): fail, so the display reports it.
    if (this.j5.lost !== undefined) throw this.j5.lost
    this.led.send(0, register, data)
    await flushIo(this.j5.io)
  }
}

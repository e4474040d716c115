/**
 * The three wires into a MAX7219, or into a chain of them, as the chips see
 * them: SimGpio's pin changes clocked into 16-bit shift registers.
 *
 * - on each CLK rising edge every chip shifts its register left by one: chip
 *   0 takes DIN, chip k takes the bit chip k−1 pushed out (its DOUT). The
 *   MAX7219 shifts whatever LOAD does; only the MAX7221 gates on CS;
 * - LOAD/CS falling starts a frame; LOAD rising latches every chip's register
 *   at once, handed to `onLatch` with the clocks counted since LOAD fell.
 *   LOAD toggled with no clocks latches nothing new and is not reported.
 *
 * While `connected()` is false no clock reaches the chips (the module is off
 * its pins). Both the 7-segment model (sim/max7219-model.ts) and the matrix
 * chain (sim/max7219-chain-model.ts) are driven by it.
 */
import type { PinChange, SimGpio } from './gpio.ts'

export interface Max7219Pins {
  din: string
  clk: string
  cs: string
}

export interface Max7219WireOptions {
  gpio: SimGpio
  pins: Max7219Pins
  /** Chips on the chain; 1 for a single chip. */
  chips: number
  connected: () => boolean
  /** The words latched (index 0 nearest DIN), the clocks since LOAD fell, and the pin change's time. */
  onLatch: (words: number[], bits: number, at: number) => void
}

export class Max7219Wire {
  private readonly shift: Uint16Array
  private bits = 0
  private readonly level: Record<keyof Max7219Pins, 0 | 1>
  private readonly listener: (c: PinChange) => void

  constructor(private readonly opts: Max7219WireOptions) {
    this.shift = new Uint16Array(opts.chips)
    const { gpio, pins } = opts
    this.level = { din: gpio.level(pins.din), clk: gpio.level(pins.clk), cs: gpio.level(pins.cs) }
    this.listener = (c) => this.onPin(c)
    gpio.on('change', this.listener)
  }

  /** Power-on: the shift registers empty, no frame under way. */
  reset(): void {
    this.shift.fill(0)
    this.bits = 0
  }

  /** Stops listening to the pins. */
  detach(): void {
    this.opts.gpio.off('change', this.listener)
  }

  private onPin(c: PinChange): void {
    const pins = this.opts.pins
    const pin = (Object.keys(pins) as Array<keyof Max7219Pins>).find((k) => pins[k] === c.name)
    if (pin === undefined) return
    const prev = this.level[pin]
    this.level[pin] = c.level
    if (!this.opts.connected() || prev === c.level) return
    if (pin === 'clk' && c.level === 1) {
      let carry: number = this.level.din
      for (let k = 0; k < this.shift.length; k++) {
        const out = (this.shift[k]! >> 15) & 1
        this.shift[k] = ((this.shift[k]! << 1) | carry) & 0xffff
        carry = out
      }
      this.bits++
    } else if (pin === 'cs' && c.level === 0) {
      this.bits = 0
    } else if (pin === 'cs' && c.level === 1) {
      const bits = this.bits
      this.bits = 0
      if (bits > 0) this.opts.onLatch(Array.from(this.shift), bits, c.at)
    }
  }
}

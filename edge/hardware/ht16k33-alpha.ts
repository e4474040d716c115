/**
 * HT16K33 behind the Adafruit quad alphanumeric (14-segment) backpack.
 *
 * Character n is a 16-bit word, low byte at RAM 2n, high byte at 2n+1
 * (Adafruit writeDisplay). The chip side (init order, blink, dimming, queue,
 * NACK retry, faults) is the same as the 7-segment backpack's and lives in
 * ht16k33.ts. johnny-five has no 14-segment support at all (docs/hardware.md §3.4),
 * which is why this driver is ours.
 */
import { HT16K33_RAM_SIZE, Ht16k33Display, type Ht16k33Layout, type Ht16k33Options } from './ht16k33.ts'
import { canShowSeg14, encodeSeg14, SEG14_CHARSET } from './seg14-font.ts'

const CHARS = 4

export const ALPHA14_BACKPACK: Ht16k33Layout = {
  kind: '14-segment',
  width: CHARS,
  charset: SEG14_CHARSET,
  canShow: (text) => [...text].length <= CHARS && canShowSeg14(text),
  encode(text) {
    const words = encodeSeg14(text, CHARS)
    const ram = new Uint8Array(HT16K33_RAM_SIZE)
    words.forEach((w, n) => {
      ram[2 * n] = w & 0xff
      ram[2 * n + 1] = w >> 8
    })
    return ram
  },
}

export class Ht16k33Alpha extends Ht16k33Display {
  constructor(opts: Ht16k33Options) {
    super({ ...opts, name: opts.name ?? `ht16k33-alpha@0x${opts.address.toString(16)}` }, ALPHA14_BACKPACK)
  }
}

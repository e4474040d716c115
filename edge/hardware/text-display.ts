/**
 * What the call display needs from a display driver, whichever chip sits
 * behind it: the HT16K33 7-segment and 14-segment backpacks on I2C, or a
 * MAX7219 clocked over GPIO (by us, or by johnny-five over Firmata).
 *
 * Every driver shows whole texts, right-aligned and blank-padded, and refuses
 * a text it cannot show (a RangeError before anything changes on the glass):
 * a truncated or approximated call number sends someone to the wrong window.
 * Failures of the device itself reject with a DeviceFault.
 */

export type BlinkRate = 'off' | '2hz' | '1hz' | '0.5hz'

export const BLINK_RATES: readonly BlinkRate[] = ['off', '2hz', '1hz', '0.5hz']

/** Half a blink period: how long the text stays lit, then dark. */
export const BLINK_HALF_PERIOD_MS: Readonly<Record<Exclude<BlinkRate, 'off'>, number>> = {
  '2hz': 250,
  '1hz': 500,
  '0.5hz': 1_000,
}

export interface TextDisplay {
  /** Used in faults and logs ('ht16k33@0x70', 'max7219 (gpio)'). */
  readonly name: string
  /** Character positions. */
  readonly width: number
  /**
   * The characters a call number may contain on this display, as tickets are
   * written (upper case): what the counter checks a `call` against.
   */
  readonly charset: string
  /** Whether `text` fits and every character has an unambiguous glyph. */
  canShow(text: string): boolean
  /** Full init with the display blank; rejects with a DeviceFault when it does not answer. */
  start(): Promise<void>
  /** Shows `text` right-aligned; '' blanks. Throws a RangeError for a text it cannot show. */
  show(text: string): Promise<void>
  setBlink(rate: BlinkRate): Promise<void>
  /** 0..15, the HT16K33 dimming and MAX7219 intensity steps alike. */
  setBrightness(level: number): Promise<void>
  /** Blanks the display and leaves it dark; later calls reject. */
  stop(): Promise<void>
  /**
   * Hands each periodic refresh to `listener` as it starts (drivers given a refresh period): a display
   * that stops answering while what it shows does not change is then noticed at the next refresh, not
   * at the next call, which may be a whole service away.
   */
  watchRefresh?(listener: (refresh: Promise<void>) => void): void
}

export function checkBrightness(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > 15) {
    throw new RangeError(`brightness must be an integer 0..15, got ${level}`)
  }
}

export function checkBlinkRate(rate: BlinkRate): void {
  if (!BLINK_RATES.includes(rate)) throw new RangeError(`unknown blink rate '${String(rate)}'`)
}

/**
 * What the window screen device (edge/devices/window-screen.ts) needs from a
 * pixel display driver, whichever chip sits behind it: a MAX7219 matrix chain
 * clocked over GPIO (max7219-matrix.ts) or an SSD1306 / SH1106 OLED on I2C
 * (ssd1306.ts). Drivers take whole frames and decide the bytes; failures of
 * the device reject with a DeviceFault.
 */
import type { PixelFrame } from './pixel-frame.ts'

export interface PixelScreen {
  /** Used in faults and logs. */
  readonly name: string
  readonly width: number
  readonly height: number
  /** Full init with the screen blank; rejects with a DeviceFault when it does not answer. */
  start(): Promise<void>
  /** Shows `frame` (its size must be the screen's). */
  draw(frame: PixelFrame): Promise<void>
  /** Lights or darkens the screen without touching its picture: how a blink is made. */
  setOn(on: boolean): Promise<void>
  /** 0..15, as the segment displays. */
  setBrightness(level: number): Promise<void>
  /** Blanks the screen and leaves it dark; later calls reject. */
  stop(): Promise<void>
  /**
   * Hands each periodic refresh to `listener` as it starts (drivers given a refresh period): a display
   * that stops answering while what it shows does not change is then noticed at the next refresh, not
   * at the next call, which may be a whole service away.
   */
  watchRefresh?(listener: (refresh: Promise<void>) => void): void
}

export function checkFrameSize(screen: { name: string; width: number; height: number }, frame: PixelFrame): void {
  if (frame.width !== screen.width || frame.height !== screen.height) {
    throw new RangeError(`${screen.name} is ${screen.width}×${screen.height}, the frame ${frame.width}×${frame.height}`)
  }
}

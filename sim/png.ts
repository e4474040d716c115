/**
 * A PixelFrame as a PNG (8-bit greyscale, no dependency: node's zlib for the
 * deflate and the CRC), for tests' artefacts and the control API's
 * screen.png. Each pixel becomes a `scale`×`scale` block, lit pixels in the
 * LED colour's brightness, so a 64×16 strip is readable in a browser.
 */
import { crc32, deflateSync } from 'node:zlib'
import type { PixelFrame } from '../edge/hardware/pixel-frame.ts'

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

export interface PngOptions {
  /** Screen pixels per image pixel side; default 4. */
  scale?: number
  /** Grey level of a lit pixel (0..255); default 255. */
  lit?: number
  /** Grey level of a dark pixel; default 24 (a dark panel, not paper white). */
  dark?: number
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(typed) >>> 0)
  return Buffer.concat([len, typed, crc])
}

export function encodePng(frame: PixelFrame, opts: PngOptions = {}): Buffer {
  const s = opts.scale ?? 4
  const lit = opts.lit ?? 255
  const dark = opts.dark ?? 24
  const w = frame.width * s
  const h = frame.height * s
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // greyscale
  const raw = Buffer.alloc((w + 1) * h)
  for (let y = 0; y < h; y++) {
    const row = y * (w + 1)
    raw[row] = 0 // filter: none
    for (let x = 0; x < w; x++) raw[row + 1 + x] = frame.get(Math.floor(x / s), Math.floor(y / s)) ? lit : dark
  }
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

/**
 * A monochrome picture the size of a pixel screen: what the renderer draws,
 * what a driver turns into chip bytes, and what the simulator's models decode
 * those bytes back into, so the three can be compared pixel for pixel.
 */
export class PixelFrame {
  readonly width: number
  readonly height: number
  /** One byte per pixel, row by row: 1 lit, 0 dark. */
  readonly pixels: Uint8Array

  constructor(width: number, height: number) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`a frame is at least 1×1 whole pixels, got ${width}×${height}`)
    }
    this.width = width
    this.height = height
    this.pixels = new Uint8Array(width * height)
  }

  get(x: number, y: number): boolean {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return false
    return this.pixels[y * this.width + x] === 1
  }

  /** Pixels outside the frame are ignored: scrolling text is drawn partly off screen. */
  set(x: number, y: number, on = true): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return
    this.pixels[y * this.width + x] = on ? 1 : 0
  }

  clear(): void {
    this.pixels.fill(0)
  }

  equals(other: PixelFrame): boolean {
    return this.width === other.width && this.height === other.height && this.pixels.every((p, i) => p === other.pixels[i])
  }

  copy(): PixelFrame {
    const f = new PixelFrame(this.width, this.height)
    f.pixels.set(this.pixels)
    return f
  }

  litCount(): number {
    let n = 0
    for (const p of this.pixels) n += p
    return n
  }

  /** '#' lit, '.' dark, a string per row: readable in a failing test's diff. */
  toRows(): string[] {
    const rows: string[] = []
    for (let y = 0; y < this.height; y++) {
      let row = ''
      for (let x = 0; x < this.width; x++) row += this.get(x, y) ? '#' : '.'
      rows.push(row)
    }
    return rows
  }

  /** Rows packed 1 bit a pixel, leftmost pixel in the most significant bit, each row padded to whole bytes: the `screen` topic's picture. */
  packRows(): Uint8Array {
    const stride = Math.ceil(this.width / 8)
    const out = new Uint8Array(stride * this.height)
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) if (this.pixels[y * this.width + x]) out[y * stride + (x >> 3)]! |= 0x80 >> (x & 7)
    }
    return out
  }

  static unpackRows(width: number, height: number, packed: Uint8Array): PixelFrame {
    const stride = Math.ceil(width / 8)
    if (packed.length !== stride * height) throw new RangeError(`${width}×${height} packs into ${stride * height} bytes, got ${packed.length}`)
    const f = new PixelFrame(width, height)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) f.pixels[y * width + x] = (packed[y * stride + (x >> 3)]! >> (7 - (x & 7))) & 1
    return f
  }
}

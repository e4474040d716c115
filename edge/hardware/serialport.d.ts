/**
 * The part of serialport 8 (the version johnny-five 2.1 brings) that
 * edge/hardware/serialport-line.ts uses. serialport 8 ships no types; these
 * are written from @serialport/stream's lib/index.js.
 */
declare module 'serialport' {
  import type { EventEmitter } from 'node:events'

  interface OpenOptions {
    autoOpen?: boolean
    baudRate?: number
    dataBits?: 5 | 6 | 7 | 8
    stopBits?: 1 | 2
    parity?: 'none' | 'even' | 'odd' | 'mark' | 'space'
    lock?: boolean
    rtscts?: boolean
  }

  class SerialPort extends EventEmitter {
    constructor(path: string, options?: OpenOptions)
    readonly path: string
    readonly isOpen: boolean
    open(cb?: (err: Error | null) => void): void
    write(data: Buffer, cb?: (err: Error | null | undefined) => void): boolean
    drain(cb?: (err: Error | null) => void): void
    close(cb?: (err: Error | null) => void): void
  }

  export default SerialPort
}

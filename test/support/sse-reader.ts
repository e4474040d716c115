import { connect, type Socket } from 'node:net'
import { eventually } from './probe.ts'

/**
 * A raw HTTP GET of a Server-Sent Events stream from a chosen loopback address: it reads the
 * answer's head, then reads on, or stops reading for good (a reader that never reads, as in
 * the attack on the dashboard's live stream).
 */
export class SseReader {
  /** Latin-1, one character a byte: cheap to scan; utf8() for what a person reads. */
  text = ''
  closed = false

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true)
    socket.on('data', (d: Buffer) => (this.text += d.toString('latin1')))
    socket.on('close', () => (this.closed = true))
    socket.on('error', () => {})
  }

  static async open(port: number, from: string, path = '/api/live'): Promise<SseReader> {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from })
    const r = new SseReader(socket)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    socket.write(`GET ${path} HTTP/1.1\r\nHost: hub\r\n\r\n`)
    await eventually(() => r.text.includes('\r\n\r\n') || r.closed, 10_000, 'the answer head')
    return r
  }

  utf8(): string {
    return Buffer.from(this.text, 'latin1').toString('utf8')
  }

  get status(): number {
    return Number(/^HTTP\/1\.1 (\d+)/.exec(this.text)?.[1] ?? 0)
  }

  /** From here the reader never reads again: its socket's buffers fill, then the server's. */
  stopReading(): void {
    this.socket.pause()
  }

  count(marker: string): number {
    return this.text.split(marker).length - 1
  }
}

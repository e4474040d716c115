import { Duplex, Transform, type TransformCallback } from 'node:stream'
import type { TurnWrites } from '../edge/shared/turn-writes.ts'

/**
 * Aedes's parser (mqtt-packet) buffers a whole packet before anyone can look
 * at it, and the MQTT length field allows 256 MiB: a client could make the hub
 * hold that much per connection before the payload limit in the publish
 * authorisation ever runs. This reads only the fixed headers as bytes pass,
 * and ends the connection as soon as a packet announces a length over the cap.
 */
export class FrameLengthGuard extends Transform {
  /** Bytes of the current packet's body still to pass. */
  private remaining = 0
  private state: 'header' | 'length' | 'body' = 'header'
  private length = 0
  private multiplier = 1
  private lengthBytes = 0

  constructor(
    private readonly maxPacketBytes: number,
    private readonly onTooLarge: (announced: number) => void,
  ) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0
    while (i < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.remaining, chunk.length - i)
        i += skip
        this.remaining -= skip
        if (this.remaining === 0) this.state = 'header'
        continue
      }
      if (this.state === 'header') {
        i++ // the type and flags byte; mqtt-packet checks its bits
        this.state = 'length'
        this.length = 0
        this.multiplier = 1
        this.lengthBytes = 0
        continue
      }
      const byte = chunk[i++]!
      this.length += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      this.lengthBytes++
      if (this.length > this.maxPacketBytes) {
        this.onTooLarge(this.length)
        return done(new Error(`packet of ${this.length} bytes or more is over the limit of ${this.maxPacketBytes}`))
      }
      if ((byte & 0x80) === 0 || this.lengthBytes >= 4) {
        // A malformed fifth length byte is left for mqtt-packet to reject.
        this.remaining = this.length
        this.state = this.remaining > 0 ? 'body' : 'header'
      }
    }
    done(null, chunk)
  }
}

/**
 * The socket as Aedes should see it: reads pass through the guard, writes go
 * to the socket, and destroying either side ends both.
 *
 * Not `Duplex.from({ readable, writable })`: mqtt-packet corks the stream it
 * writes a packet to, and that duplex passed each corked chunk on to an
 * uncorked socket, about 4.5 write syscalls per packet (docs/benchmarks.md,
 * "Write path"). Here a corked batch reaches the socket as one write.
 */
class GuardedSocket extends Duplex {
  constructor(
    private readonly guard: FrameLengthGuard,
    private readonly socket: Duplex,
  ) {
    super({ allowHalfOpen: false })
    guard.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) guard.pause()
    })
    guard.on('end', () => this.push(null))
  }

  override _read(): void {
    this.guard.resume()
  }

  override _write(chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, enc, cb)
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    this.socket.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), cb)
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end()
    cb()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy()
    cb(err)
  }
}

export function guardedStream(socket: Duplex, maxPacketBytes: number, onTooLarge: (announced: number) => void, turn: TurnWrites): Duplex {
  const guard = new FrameLengthGuard(maxPacketBytes, onTooLarge)
  socket.pipe(guard)
  // A turn's packets to this client (PUBACKs, deliveries) reach the socket as one write.
  const duplex = turn.batch(new GuardedSocket(guard, socket))
  guard.on('error', () => socket.destroy())
  socket.on('error', (err) => duplex.destroy(err))
  duplex.on('close', () => socket.destroy())
  socket.on('close', () => duplex.destroy())
  return duplex
}

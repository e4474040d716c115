import { describe, it, expect } from 'vitest'
import { Duplex } from 'node:stream'
import { FrameLengthGuard, guardedStream } from '../../hub/frame-guard.ts'
import { TurnWrites } from '../../edge/shared/turn-writes.ts'

/** A PUBLISH-like frame: type byte, variable-length remaining length, body. */
function frame(bodyLength: number): Buffer {
  const len: number[] = []
  let n = bodyLength
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    len.push(b)
  } while (n > 0)
  return Buffer.concat([Buffer.from([0x30, ...len]), Buffer.alloc(bodyLength, 7)])
}

function feed(guard: FrameLengthGuard, chunks: Buffer[]): Promise<{ out: Buffer; err: Error | null }> {
  return new Promise((resolve) => {
    const out: Buffer[] = []
    let err: Error | null = null
    guard.on('data', (d: Buffer) => out.push(d))
    guard.on('error', (e) => {
      err = e
      resolve({ out: Buffer.concat(out), err })
    })
    guard.on('end', () => resolve({ out: Buffer.concat(out), err }))
    for (const c of chunks) guard.write(c)
    guard.end()
  })
}

describe('frame length guard', () => {
  it('passes packets through unchanged, however the bytes are split', async () => {
    const stream = Buffer.concat([frame(0), frame(10), frame(200), frame(20_000), frame(3)])
    const bytes = [...stream].map((b) => Buffer.from([b]))
    const { out, err } = await feed(new FrameLengthGuard(32_000, () => {}), bytes)
    expect(err).toBeNull()
    expect(out.equals(stream)).toBe(true)
  })

  it('stops at the header of a packet that announces too much, before its body arrives', async () => {
    let announced = 0
    const big = frame(70_000).subarray(0, 8) // header only: the body never needs to arrive
    const { err } = await feed(new FrameLengthGuard(65_536, (n) => (announced = n)), [frame(5), big.subarray(0, 2), big.subarray(2)])
    expect(err?.message).toMatch(/over the limit/)
    expect(announced).toBeGreaterThan(65_536)
  })
})

describe('guardedStream writes', () => {
  /** The socket side as a Duplex that records each write it is handed. */
  class RecordingSocket extends Duplex {
    readonly writes: Buffer[] = []
    override _read(): void {}
    override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
      this.writes.push(chunk)
      cb()
    }
  }

  it('hands the socket one write per turn, packets in order, however many ticks wrote them', async () => {
    const socket = new RecordingSocket()
    const stream = guardedStream(socket, 1024, () => {}, new TurnWrites())
    const expected: Buffer[] = []
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < 50; i++) {
        // As mqtt-packet does: a packet in several chunks, corked, uncorked on the next tick; PUBACKs from promise callbacks.
        const write = () => {
          const head = Buffer.from([0x40, 2])
          const id = Buffer.from([turn, i])
          expected.push(head, id)
          stream.cork()
          stream.write(head)
          stream.write(id)
          process.nextTick(() => stream.uncork())
        }
        if (i % 2) write()
        else void Promise.resolve().then(write)
      }
      await new Promise((r) => setImmediate(r))
    }
    await new Promise((r) => setImmediate(r))
    expect(Buffer.concat(socket.writes).equals(Buffer.concat(expected))).toBe(true)
    expect(socket.writes.length).toBe(20)
    stream.destroy()
  })
})

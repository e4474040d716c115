import { describe, it, expect, afterEach } from 'vitest'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import { once } from 'node:events'
import { TurnWrites } from '../../edge/shared/turn-writes.ts'

/** A sink that records each write it is handed: a batch is one entry. */
class RecordingSink extends Writable {
  readonly batches: Buffer[][] = []
  constructor(opts: { highWaterMark?: number } = {}) {
    super(opts)
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.batches.push([chunk])
    setImmediate(cb)
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: () => void): void {
    this.batches.push(chunks.map((c) => c.chunk))
    setImmediate(cb)
  }
  get bytes(): Buffer {
    return Buffer.concat(this.batches.flat())
  }
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r))

/** A loopback pair: the client end (written to) and the server end (read). */
async function socketPair(): Promise<{ server: Server; writer: Socket; reader: Socket }> {
  const server = createServer({ noDelay: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const writer = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', noDelay: true })
  await once(writer, 'connect')
  const [reader] = await accepted
  return { server, writer, reader }
}

describe('TurnWrites', () => {
  const turn = new TurnWrites()
  const open: Array<{ server: Server; writer: Socket; reader: Socket }> = []
  afterEach(() => {
    for (const p of open.splice(0)) {
      p.writer.destroy()
      p.reader.destroy()
      p.server.close()
    }
  })

  it('gives the stream everything written in one turn as one write, however the turn wrote it', async () => {
    const sink = turn.batch(new RecordingSink())
    let written = ''
    const write = (s: string) => {
      written += s
      sink.write(Buffer.from(s))
    }
    write('a')
    process.nextTick(() => write('b'))
    void Promise.resolve().then(() => write('c'))
    queueMicrotask(() => process.nextTick(() => write('d')))
    await nextTurn()
    await nextTurn()
    expect(written).toHaveLength(4)
    expect(sink.batches.map((b) => Buffer.concat(b).toString())).toEqual([written])
    // A later turn is a write of its own.
    sink.write(Buffer.from('e'))
    await nextTurn()
    await nextTurn()
    expect(sink.batches.map((b) => Buffer.concat(b).toString())).toEqual([written.slice(0, 4), 'e'])
  })

  it('flushes every stream written in a turn at its end, each as one write, with one instance for them all', async () => {
    const sinks = [new RecordingSink(), new RecordingSink(), new RecordingSink()].map((s) => turn.batch(s))
    const wrote = ['', '', '']
    const write = (i: number, s: string) => {
      wrote[i] += s
      sinks[i]!.write(Buffer.from(s))
    }
    write(0, 'a')
    write(2, 'b')
    process.nextTick(() => write(1, 'c'))
    void Promise.resolve().then(() => write(0, 'd'))
    queueMicrotask(() => process.nextTick(() => write(2, 'e')))
    await nextTurn()
    await nextTurn()
    expect(sinks.map((s) => s.batches.map((b) => Buffer.concat(b).toString()))).toEqual([['ad'], ['c'], ['be']])
    // The next turn writes to one stream only: the others are not touched.
    write(1, 'f')
    await nextTurn()
    await nextTurn()
    expect(sinks.map((s) => s.batches.length)).toEqual([1, 2, 1])
    expect(wrote.join('')).toBe('adcfbe')
  })

  it('a write made while the turn is being flushed is not lost', async () => {
    // The first stream's flush writes to the second, as a PUBACK callback that writes again would.
    const second = turn.batch(new RecordingSink())
    class Relaying extends RecordingSink {
      override _writev(chunks: Array<{ chunk: Buffer }>, cb: () => void): void {
        second.write(Buffer.from('relayed'))
        super._writev(chunks, cb)
      }
    }
    const first = turn.batch(new Relaying())
    // The second is written first, so it is flushed before the write that reaches it.
    second.write(Buffer.from('own'))
    first.write(Buffer.from('x'))
    first.write(Buffer.from('y'))
    await nextTurn()
    await nextTurn()
    await nextTurn()
    expect(first.batches.map((b) => Buffer.concat(b).toString())).toEqual(['xy'])
    expect(Buffer.concat(second.batches.flat()).toString()).toBe('ownrelayed')
  })

  it('keeps the order of many packets written over many turns and ticks', async () => {
    const sink = turn.batch(new RecordingSink())
    const expected: Buffer[] = []
    let n = 0
    const packet = () => {
      const b = Buffer.from(`<${n++}>`)
      expected.push(b)
      return b
    }
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < 20; i++) {
        if (i % 3 === 0) sink.write(packet())
        else if (i % 3 === 1) process.nextTick(() => sink.write(packet()))
        else void Promise.resolve().then(() => sink.write(packet()))
      }
      await nextTurn()
    }
    sink.end()
    await once(sink, 'finish')
    expect(sink.bytes.equals(Buffer.concat(expected))).toBe(true)
    expect(n).toBe(1000)
    // Batched: far fewer writes than packets, and never one with a packet cut in two.
    expect(sink.batches.length).toBeLessThanOrEqual(100)
  })

  it('keeps order and every byte over a real socket, 5,000 packets', async () => {
    const pair = await socketPair()
    open.push(pair)
    turn.batch(pair.writer)
    const got: Buffer[] = []
    pair.reader.on('data', (d: Buffer) => got.push(d))
    const expected: Buffer[] = []
    const write = (b: Buffer) => {
      expected.push(b)
      pair.writer.write(b)
    }
    for (let i = 0; i < 5_000; i++) {
      const b = Buffer.from(`packet ${i};`)
      if (i % 2) write(b)
      else process.nextTick(() => write(b))
      if (i % 250 === 0) await nextTurn()
    }
    await nextTurn()
    expect(expected).toHaveLength(5_000)
    const total = Buffer.concat(expected)
    const deadline = Date.now() + 10_000
    while (Buffer.concat(got).length < total.length && Date.now() < deadline) await once(pair.reader, 'data')
    expect(Buffer.concat(got).equals(total)).toBe(true)
  })

  it('still reports backpressure: write() returns false past the high-water mark, and drain follows the flush', async () => {
    const sink = turn.batch(new RecordingSink({ highWaterMark: 64 }))
    const results: boolean[] = []
    for (let i = 0; i < 10; i++) results.push(sink.write(Buffer.alloc(16, i)))
    // Corked for the turn: the bytes are buffered, and the stream says so.
    expect(results.slice(0, 3)).toEqual([true, true, true])
    expect(results.at(-1)).toBe(false)
    await once(sink, 'drain')
    expect(sink.bytes.length).toBe(160)
  })

  it('still reports backpressure on a socket whose peer does not read, and drains once it does', async () => {
    const pair = await socketPair()
    open.push(pair)
    pair.reader.pause()
    turn.batch(pair.writer)
    const chunk = Buffer.alloc(64 * 1024, 1)
    let writes = 0
    let accepted = true
    // The kernel's buffers fill, then the socket's: write() must come to say false.
    while (accepted && writes < 2_000) {
      accepted = pair.writer.write(chunk)
      writes++
      if (writes % 8 === 0) await nextTurn()
    }
    expect(accepted).toBe(false)
    const drained = once(pair.writer, 'drain')
    let received = 0
    pair.reader.on('data', (d: Buffer) => (received += d.length))
    pair.reader.resume()
    await drained
    const deadline = Date.now() + 10_000
    while (received < writes * chunk.length && Date.now() < deadline) await once(pair.reader, 'data')
    expect(received).toBe(writes * chunk.length)
  })

  it('a stream destroyed or ended in the middle of a turn does not throw when the turn ends', async () => {
    const errors: unknown[] = []
    const onUncaught = (e: unknown) => errors.push(e)
    process.on('uncaughtException', onUncaught)
    try {
      const destroyed = turn.batch(new RecordingSink())
      destroyed.on('error', () => {})
      destroyed.write(Buffer.from('x'))
      destroyed.destroy()
      const ended = turn.batch(new RecordingSink())
      const finished = once(ended, 'finish')
      ended.write(Buffer.from('y'))
      ended.end(Buffer.from('z'))
      const pair = await socketPair()
      open.push(pair)
      turn.batch(pair.writer)
      pair.writer.on('error', () => {})
      pair.writer.write(Buffer.from('gone'))
      pair.writer.destroy()
      await nextTurn()
      await nextTurn()
      await finished
      expect(ended.bytes.toString()).toBe('yz')
      expect(destroyed.batches).toEqual([])
      expect(pair.writer.destroyed).toBe(true)
      expect(errors).toEqual([])
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })
})

import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { FaultProxy } from './fault-proxy.ts'
import { eventually } from './probe.ts'
import { letTimePass } from './pace.ts'

/** The proxy itself, against a plain TCP echo server: what each fault does to the bytes. */

function echoServer(): Promise<Server> {
  const server = createServer((s) => s.pipe(s))
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

function client(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let data = ''
    const socket = connect({ host: '127.0.0.1', port })
    socket.setNoDelay(true)
    socket.on('data', (d) => (data += d.toString()))
    socket.on('error', () => {})
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    socket.once('connect', () => resolve({ socket, received: () => data, closed }))
    socket.once('error', reject)
  })
}

const until = (check: () => boolean, ms = 2000) => eventually(check, ms, 'the bytes through the proxy', 5)

describe('FaultProxy', () => {
  let echo: Server
  let proxy: FaultProxy

  beforeAll(async () => {
    echo = await echoServer()
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: (echo.address() as { port: number }).port } })
  })
  afterAll(async () => {
    await proxy.close()
    await new Promise((r) => echo.close(r))
  })

  it('forwards both ways with TCP_NODELAY', async () => {
    const c = await client(proxy.port)
    c.socket.write('hello')
    await until(() => c.received() === 'hello')
    c.socket.destroy()
  })

  it('stall holds everything until resume, then delivers it in order', async () => {
    const c = await client(proxy.port)
    c.socket.write('a')
    await until(() => c.received() === 'a')
    proxy.stall()
    c.socket.write('b')
    c.socket.write('c')
    // A stall is a span of time: nothing to wait for, the proxy has paused reading. Hold it a while and see nothing pass.
    await letTimePass(150, 'the link stays stalled for a while')
    expect(c.received()).toBe('a')
    expect(c.socket.destroyed).toBe(false)
    proxy.resume()
    await until(() => c.received() === 'abc')
    c.socket.destroy()
  })

  it('delay holds each chunk, in order', async () => {
    const c = await client(proxy.port)
    proxy.delay(120, 30)
    const t0 = Date.now()
    for (const ch of 'wxyz') {
      c.socket.write(ch)
      await letTimePass(5, 'one chunk per character, not one coalesced write')
    }
    await until(() => c.received() === 'wxyz')
    // Two legs (there and back), each held at least 120 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240)
    proxy.resume()
    c.socket.destroy()
  })

  it('cut destroys both sides; while down, new connections are cut at accept', async () => {
    const c = await client(proxy.port)
    c.socket.write('x')
    await until(() => c.received() === 'x')
    proxy.setDown(true)
    expect(proxy.cut()).toBeGreaterThanOrEqual(1)
    await c.closed
    const again = await client(proxy.port)
    await again.closed
    expect(proxy.stats.refused).toBeGreaterThanOrEqual(1)
    proxy.resume()
    const after = await client(proxy.port)
    after.socket.write('back')
    await until(() => after.received() === 'back')
    after.socket.destroy()
  })

  it('a stalled link keeps large transfers intact (backpressure, no loss)', async () => {
    const c = await client(proxy.port)
    const big = Buffer.alloc(2 * 1024 * 1024, 7)
    proxy.stall()
    c.socket.write(big)
    await letTimePass(100, 'the link stays stalled while the transfer is under way')
    proxy.resume()
    await until(() => c.received().length === big.length, 5000)
    c.socket.destroy()
  })
})

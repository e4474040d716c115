import { describe, it, expect, afterEach } from 'vitest'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LiveStreams } from '../../hub/dashboard/live-streams.ts'
import { LogLimiter } from '../../hub/log-limiter.ts'
import { CapturedLog } from './support/hub-fixture.ts'
import { eventually } from '../support/probe.ts'
import { SseReader } from '../support/sse-reader.ts'

let server: Server | null = null
let streams: LiveStreams | null = null
const readers: SseReader[] = []
afterEach(async () => {
  for (const r of readers.splice(0)) r.socket.destroy()
  streams?.stop()
  if (server) {
    server.closeAllConnections()
    await new Promise<void>((r) => server!.close(() => r()))
  }
  server = null
})

async function serve(limits: { maxStreams: number; maxPerAddress: number; maxBufferedBytes: number }, log: CapturedLog): Promise<number> {
  const s = new LiveStreams({ ...limits, batchMs: 10, lines: new LogLimiter({ log: log.logger, linesPerKind: 100, linesPerKey: 100, windowMs: 10_000 }) })
  streams = s
  server = createServer((req, res) => s.open(req, res))
  server.on('connection', (sock) => sock.setNoDelay(true))
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()))
  return (server.address() as AddressInfo).port
}

async function reader(port: number, from: string): Promise<SseReader> {
  const r = await SseReader.open(port, from)
  readers.push(r)
  return r
}

describe('dashboard live streams', () => {
  it('are capped per address and overall; over a cap the answer is 503 with a message in Chinese and English', async () => {
    const log = new CapturedLog()
    const port = await serve({ maxStreams: 4, maxPerAddress: 2, maxBufferedBytes: 64 * 1024 }, log)
    const a = [await reader(port, '127.0.0.50'), await reader(port, '127.0.0.50')]
    const overAddress = await reader(port, '127.0.0.50')
    const b = [await reader(port, '127.0.0.51'), await reader(port, '127.0.0.51')]
    const overAll = await reader(port, '127.0.0.52')
    expect([...a, ...b].map((r) => r.status)).toEqual([200, 200, 200, 200])
    expect(overAddress.status).toBe(503)
    expect(overAddress.utf8()).toContain('每个地址上限 2 个')
    expect(overAddress.text).toContain('Too many live streams from this address (limit 2 per address)')
    expect(overAll.status).toBe(503)
    expect(overAll.utf8()).toContain('实时推送连接已满（上限 4 个）')
    expect(overAll.text).toContain('Too many live streams open (limit 4)')
    expect(streams!.stats()).toMatchObject({ open: 4, refused: 2, dropped: 0 })
    expect(log.lines.filter((l) => l.refusal === 'live-stream-cap').map((l) => [l.address, l.scope])).toEqual([
      ['127.0.0.50', 'address'],
      ['127.0.0.52', 'all'],
    ])
    // A closed stream frees its slot.
    a[0]!.socket.destroy()
    await eventually(() => streams!.stats().open === 3, 5_000, 'the closed stream forgotten')
    expect((await reader(port, '127.0.0.50')).status).toBe(200)
  })

  it('drops readers that stop reading once their backlog passes the bound; a reader that reads gets every frame', async () => {
    const log = new CapturedLog()
    const bound = 32 * 1024
    const port = await serve({ maxStreams: 10, maxPerAddress: 10, maxBufferedBytes: bound }, log)
    const reading = await reader(port, '127.0.0.53')
    const stalled = [await reader(port, '127.0.0.54'), await reader(port, '127.0.0.54'), await reader(port, '127.0.0.55')]
    for (const r of stalled) r.stopReading()
    const body = 'x'.repeat(16 * 1024)
    let sent = 0
    // Each frame only once the reading client has the one before: it never falls behind, the stalled ones do.
    while (streams!.stats().dropped < stalled.length) {
      expect(sent, 'frames sent before every stalled reader was dropped').toBeLessThan(4_000)
      streams!.broadcast('tick', { n: sent, body })
      sent++
      await eventually(() => reading.count('event: tick') === sent, 5_000, `frame ${sent} at the reading client`)
      const s = streams!.stats()
      // What the hub holds stays within the bound (plus the frame that crossed it) per open stream.
      expect(s.bufferedBytes).toBeLessThanOrEqual(s.open * (bound + body.length + 100))
    }
    expect(streams!.stats()).toMatchObject({ open: 1, dropped: 3 })
    expect(streams!.stats().peakStreamBufferedBytes).toBeLessThanOrEqual(bound + body.length + 100)
    const drops = log.lines.filter((l) => l.dropped === 'live-stream-slow')
    expect(drops.map((l) => l.address).sort()).toEqual(['127.0.0.54', '127.0.0.54', '127.0.0.55'])
    expect(drops.every((l) => (l.waitingBytes as number) > bound)).toBe(true)
    // The reader that reads is still served.
    streams!.broadcast('tick', { n: sent, body: 'last' })
    await eventually(() => reading.text.includes('"body":"last"'), 5_000, 'the last frame')
    console.log(`live streams: ${sent} frames of 16 KiB until all ${stalled.length} stalled readers were dropped`)
  })
})

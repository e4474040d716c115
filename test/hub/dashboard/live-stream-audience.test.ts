import { describe, it, expect, afterEach } from 'vitest'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LiveStreams } from '../../../hub/dashboard/live-streams.ts'
import { LogLimiter } from '../../../hub/log-limiter.ts'
import { CapturedLog } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'
import { SseReader } from '../../support/sse-reader.ts'

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

/**
 * Officer names go only to the streams entitled to them (hub/dashboard/viewer-redaction.ts):
 * each broadcast has a full and an open version, and a stream's entitlement is asked at each
 * write, so a session that ends stops the names at once.
 */
describe('live streams with two audiences', () => {
  it('an entitled stream gets the full frame, the others the open one; losing the entitlement switches at the next frame', async () => {
    const log = new CapturedLog()
    const s = new LiveStreams({ maxStreams: 8, maxPerAddress: 8, maxBufferedBytes: 64 * 1024, batchMs: 10, lines: new LogLimiter({ log: log.logger, linesPerKind: 100, linesPerKey: 100, windowMs: 10_000 }) })
    streams = s
    let technician = true
    server = createServer((req, res) => s.open(req, res, req.url === '/tech' ? () => technician : undefined))
    server.on('connection', (sock) => sock.setNoDelay(true))
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as AddressInfo).port
    const tech = await SseReader.open(port, '127.0.0.60', '/tech')
    const open = await SseReader.open(port, '127.0.0.61', '/open')
    readers.push(tech, open)
    await eventually(() => s.stats().open === 2, 5000, 'both streams open')

    s.broadcast('window', { counter: 'w01', officer: '李娜' }, { counter: 'w01', officer: null })
    s.broadcast('event', { counter: 'w01', type: 'called', seq: 1 })
    await eventually(() => tech.text.includes('"seq":1') && open.text.includes('"seq":1'), 5000, 'both frames at both readers')
    expect(tech.utf8()).toContain('"officer":"李娜"')
    expect(open.utf8()).not.toContain('李娜')
    expect(open.utf8()).toContain('{"counter":"w01","officer":null}')

    technician = false
    s.broadcast('window', { counter: 'w01', officer: '李娜', n: 2 }, { counter: 'w01', officer: null, n: 2 })
    await eventually(() => tech.text.includes('"n":2'), 5000, 'the second frame')
    const after = tech.utf8().slice(tech.utf8().indexOf('"seq":1'))
    expect(after).toContain('{"counter":"w01","officer":null,"n":2}')
    expect(after).not.toContain('李娜')
  })
})

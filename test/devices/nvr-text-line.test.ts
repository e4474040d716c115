import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { NvrTextLine } from '../../edge/devices/nvr-text-line.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { eventually } from '../support/probe.ts'

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
  })
}

describe('NvrTextLine health', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    // The line first: a server closes only once its connections have.
    for (const c of cleanup.splice(0)) await c()
  })

  it('an NVR that does not answer is nvr-text unreachable; once it listens, the line connects, clears it and sends what waited', async () => {
    // A port nobody listens on: taken, then given back.
    const probe = createServer()
    const port = await listen(probe)
    await new Promise((r) => probe.close(r))

    const health = new DeviceHealthTracker()
    const told: string[] = []
    health.attach({ deviceHealth: (device, f) => told.push(`${device}:${f?.code ?? 'ok'}`) })
    const line = new NvrTextLine({ host: '127.0.0.1', port, log: silentLogger(), device: 'nvr-text', health })
    cleanup.push(() => line.stop())
    expect(health.snapshot()).toEqual({ 'nvr-text': 'ok' })
    line.start()
    line.send('W01 A101 START 2026-01-01T08:00:00Z')
    await eventually(() => told.length > 0, 5000, 'the unreachable fault')
    expect(told).toEqual(['nvr-text:unreachable'])
    expect(health.snapshot()).toEqual({ 'nvr-text': 'fault' })

    const received: string[] = []
    const nvr = createServer((sock) => sock.on('data', (d) => received.push(d.toString())))
    await listen(nvr, port)
    cleanup.push(() => new Promise((r) => nvr.close(() => r())))
    await eventually(() => told.length > 1, 10_000, 'the line to reconnect')
    expect(told).toEqual(['nvr-text:unreachable', 'nvr-text:ok'])
    await eventually(() => received.join('').includes('A101 START'), 5000, 'the queued line at the NVR')
    expect(health.snapshot()).toEqual({ 'nvr-text': 'ok' })
  }, 20_000)
})

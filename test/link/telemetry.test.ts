import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { Journal, MemoryStorage } from '../../edge/link/journal.ts'
import { BoardLink } from '../../edge/link/board-link.ts'
import { EnvelopeStamper } from '../../edge/link/envelope-stamper.ts'
import { Telemetry, type WindowReadings } from '../../edge/link/telemetry.ts'
import { telemetrySchema } from '../../edge/protocol/index.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'

const log = silentLogger()
let dir: string | null = null

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = null
})

async function offlineLink(now: () => number) {
  const journal = new Journal({ storage: new MemoryStorage(), log, now })
  await journal.open()
  const stamper = new EnvelopeStamper('w01', 'b00t', { now, synced: () => false })
  // Never started: an offline board, which is what the journal path of telemetry is for.
  const link = new BoardLink({ hall: 'h1', counter: 'w01', addresses: [{ host: '127.0.0.1', port: 1 }], username: 'h1-w01', password: 'x', stamper, birth: { version: '0', board: 'sim', capabilities: [] }, log, journal })
  return { journal, link }
}

describe('telemetry', () => {
  it('reports memory, CPU, the SoC temperature, journal depth and age, device health and ignored presses, as the contract says', async () => {
    let t = 1_000_000
    const now = () => t
    const { journal, link } = await offlineLink(now)
    dir = await mkdtemp(join(tmpdir(), 'telemetry-'))
    const thermal = join(dir, 'temp')
    await writeFile(thermal, '48312\n')
    const readings: WindowReadings = { ignoredPresses: 7, telemetryPeriodS: 60 }
    const health = new DeviceHealthTracker()
    for (const device of ['display', 'key-satisfied', 'key-neutral']) health.register(device)
    health.report('display', { code: 'absent', message: 'no answer at 0x70' })
    health.report('key-neutral', { code: 'stuck', message: 'held for 30 s' })
    const telemetry = new Telemetry({ link, window: () => readings, devices: () => health.snapshot(), log, now, thermalPath: thermal })
    link.publish('event', { type: 'help-requested', ticket: null, officer: null })
    t += 4500
    link.publish('event', { type: 'help-requested', ticket: null, officer: null })
    t += 500

    const s = await telemetry.sample()
    expect(s).toMatchObject({
      uptimeS: 5,
      tempC: 48.3,
      journal: { depth: 2, oldestAgeMs: 5000 },
      rttMs: null,
      devices: { display: 'absent', 'key-satisfied': 'ok', 'key-neutral': 'fault' },
      ignoredPresses: 7,
    })
    expect(s.rssBytes).toBeGreaterThan(0)
    expect(s.heapUsedBytes).toBeGreaterThan(0)
    expect(s.cpuPct).toBeGreaterThanOrEqual(0)
    expect(telemetrySchema.safeParse({ v: 1, id: 'w01-b00t-9', boot: 'b00t', seq: 9, ts: new Date(t).toISOString(), synced: false, ...s }).success).toBe(true)
    expect(journal.depth).toBe(2)
  })

  it('says null for the temperature where the board has no sensor, and stops looking', async () => {
    const { link } = await offlineLink(Date.now)
    const telemetry = new Telemetry({ link, window: () => ({ ignoredPresses: 0, telemetryPeriodS: 60 }), devices: () => ({}), log, thermalPath: '/nonexistent/thermal_zone0/temp' })
    expect((await telemetry.sample()).tempC).toBeNull()
    expect((await telemetry.sample()).tempC).toBeNull()
  })

  it('while offline, journals a sample as the lowest class (QoS 0), which the size bound sheds first', async () => {
    const { journal, link } = await offlineLink(Date.now)
    const telemetry = new Telemetry({ link, window: () => ({ ignoredPresses: 0, telemetryPeriodS: 60 }), devices: () => ({ display: 'ok' }), log, thermalPath: null })
    await telemetry.send()
    const e = journal.oldest()!
    expect(e).toMatchObject({ cls: 'telemetry', qos: 0, topic: 'hall/h1/counter/w01/telemetry' })
    const body = JSON.parse(e.payload.toString()) as Record<string, unknown>
    expect(telemetrySchema.safeParse(body).success).toBe(true)
  })
})

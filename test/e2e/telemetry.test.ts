import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { startEdge, type RunningEdge } from '../../edge/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { parseMessage } from '../../edge/protocol/index.ts'
import { command, eventually } from '../support/probe.ts'
import { HubTap, writeBoardCredentials } from '../support/hub-tap.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const HALL = 'hall-4'
const COUNTER = 'w09'
const base = `hall/${HALL}/counter/${COUNTER}`

describe('telemetry from a running board', () => {
  let dir: string
  let hub: RunningHub
  let tap: HubTap
  let edge: RunningEdge
  let hardware: SimWindowHardware

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'telemetry-e2e-'))
    const { credentialsFile, board } = await writeBoardCredentials(dir, HALL, COUNTER)
    hub = await startHub({ hall: HALL, port: 0, credentialsFile }, silentLogger())
    tap = await HubTap.attach(hub, `${base}/#`)
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    hardware = new SimWindowHardware(profile)
    edge = await startEdge(
      { hall: HALL, counter: COUNTER, hub: [{ host: '127.0.0.1', port: hub.port }], username: board.username, password: board.password },
      { profile, gpio: hardware.gpio, bus: hardware.bus, log: silentLogger() },
    )
  })

  afterAll(async () => {
    await edge?.stop()
    await hardware?.stop()
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('follows a config command to a shorter period without a restart, and every sample obeys the contract', async () => {
    await eventually(() => edge.link.connected, 10_000, 'the board to connect')
    // An ignored press (no evaluation open) shows up in the count.
    await hardware.press('neutral')
    const cmd = command({ settings: { telemetryPeriodS: 5 } })
    await tap.publish(`${base}/cmd/config`, cmd)
    const reply = await tap.waitFor((m) => m.topic === `${base}/reply` && m.payload.cmd === cmd.id, 5000, 'the reply to config')
    expect(reply.payload).toMatchObject({ ok: true, result: { applied: ['telemetryPeriodS'] } })

    const sample = await tap.waitFor((m) => m.topic === `${base}/telemetry`, 8000, 'a telemetry sample within the new period')
    const parsed = parseMessage(sample.topic, JSON.stringify(sample.payload))
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true)
    expect(sample.payload).toMatchObject({ journal: { depth: 0, oldestAgeMs: null }, ignoredPresses: 1, devices: { display: 'ok', 'key-satisfied': 'ok' } })
    // The config reply was a live entry: its PUBACK gave a round trip.
    expect(typeof sample.payload.rttMs).toBe('number')
  }, 20_000)
})

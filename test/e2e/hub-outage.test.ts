import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type HubConfig, type RunningHub } from '../../hub/main.ts'
import { startEdge, type RunningEdge } from '../../edge/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { parseMessage } from '../../edge/protocol/index.ts'
import { freePort } from '../support/ports.ts'
import { command, eventually } from '../support/probe.ts'
import { HubTap, writeBoardCredentials } from '../support/hub-tap.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { letTimePass } from '../support/pace.ts'

const HALL = 'hall-3'
const COUNTER = 'w02'
const base = `hall/${HALL}/counter/${COUNTER}`

describe('a hub outage during traffic (board with an on-disk journal, real hub)', () => {
  let dir: string
  let hubConfig: HubConfig
  let hub: RunningHub | null = null
  let tap: HubTap
  let edge: RunningEdge
  let hardware: SimWindowHardware

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-outage-'))
    const { credentialsFile, board } = await writeBoardCredentials(dir, HALL, COUNTER)
    hubConfig = { hall: HALL, port: await freePort(), credentialsFile }
    hub = await startHub(hubConfig, silentLogger())
    tap = await HubTap.attach(hub, `${base}/#`)
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    hardware = new SimWindowHardware(profile)
    edge = await startEdge(
      { hall: HALL, counter: COUNTER, hub: [{ host: '127.0.0.1', port: hubConfig.port }], username: board.username, password: board.password, dataDir: join(dir, 'board') },
      { profile, gpio: hardware.gpio, bus: hardware.bus, log: silentLogger() },
    )
  })

  afterAll(async () => {
    await edge?.stop()
    await hardware?.stop()
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  function produce(count: number): string[] {
    const ids: string[] = []
    for (let i = 0; i < count; i++) ids.push(edge.link.publish('event', { type: 'officer-key', key: 'help', ticket: null }))
    return ids
  }

  const received = (ids: ReadonlySet<string>) => new Set(tap.ids(`${base}/event/`).filter((id) => ids.has(id)))

  it('keeps what the board produced while the hub was down, drains it in order when the hub returns, and answers a command sent right after reconnect before the backlog is through', async () => {
    await eventually(() => edge.link.connected, 10_000, 'the board to connect')
    const before = new Set(produce(300))
    await eventually(() => received(before).size === before.size, 10_000, 'the events sent while the hub was up')

    await hub!.stop()
    hub = null
    await eventually(() => !edge.link.connected, 5000, 'the board to notice the hub is gone')
    // Traffic goes on while the hub is away: bursts, as a hall's busy minutes come.
    const during: string[] = []
    for (let burst = 0; burst < 6; burst++) {
      during.push(...produce(500))
      await letTimePass(5, 'bursts a moment apart, as a busy hall makes them')
    }
    await edge.link.flush()
    expect(edge.link.backlog).toBe(during.length)

    hub = await startHub(hubConfig, silentLogger())
    tap = await HubTap.attach(hub, `${base}/#`)
    // Central answers the board's birth with a command at once.
    await tap.waitFor((m) => m.topic === `${base}/status` && m.payload.online === true && m.payload.boot === edge.boot, 15_000, 'the birth after the restart')
    const cmd = command({})
    await tap.publish(`${base}/cmd/sync`, cmd)
    const reply = await tap.waitFor((m) => m.topic === `${base}/reply` && m.payload.cmd === cmd.id, 10_000, 'the reply to sync')
    expect(reply.payload).toMatchObject({ ok: true, name: 'sync' })
    const duringSet = new Set(during)
    const drainedWhenAnswered = received(duringSet).size
    expect(drainedWhenAnswered, 'the reply overtook the backlog').toBeLessThan(during.length)

    // Paced at the default 1000 entries/s: 3,000 take about three seconds.
    await eventually(() => received(duringSet).size === during.length, 30_000, 'the whole backlog to drain')
    await eventually(() => edge.link.backlog === 0, 5000, 'the journal to empty')
    // In order: the backlog arrives in the order it was produced (seq within the boot).
    const firstArrivals = [...new Map(tap.messages.filter((m) => duringSet.has(String(m.payload.id))).map((m) => [m.payload.id, m.payload.seq as number])).values()]
    expect(firstArrivals).toEqual([...firstArrivals].sort((a, b) => a - b))
    expect(firstArrivals).toHaveLength(during.length)
    // And it is still the contract: a sample checks out against the event schema.
    const sample = tap.messages.find((m) => m.topic === `${base}/event/officer-key`)!
    expect(parseMessage(sample.topic, JSON.stringify(sample.payload)).ok).toBe(true)
  }, 60_000)
})

import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { startEdge, type RunningEdge } from '../../edge/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { freePort } from '../support/ports.ts'
import { eventually } from '../support/probe.ts'
import { HubTap, writeBoardCredentials } from '../support/hub-tap.ts'
import { TcpProxy } from '../support/tcp-proxy.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { letTimePass } from '../support/pace.ts'

const HALL = 'hall-6'
const COUNTER = 'w03'
const base = `hall/${HALL}/counter/${COUNTER}`

describe('the network between board and hub fails mid-stream', () => {
  let dir: string
  let hub: RunningHub
  let tap: HubTap
  let proxy: TcpProxy
  let edge: RunningEdge
  let hardware: SimWindowHardware

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'network-cut-'))
    const { credentialsFile, board } = await writeBoardCredentials(dir, HALL, COUNTER)
    hub = await startHub({ hall: HALL, port: 0, credentialsFile }, silentLogger())
    tap = await HubTap.attach(hub, `${base}/#`)
    proxy = new TcpProxy({ host: '127.0.0.1', port: hub.port })
    await proxy.start()
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    hardware = new SimWindowHardware(profile)
    // Two hub addresses, the first dead: every (re)connect moves to the next, so the board fails over.
    const dead = await freePort()
    edge = await startEdge(
      {
        hall: HALL,
        counter: COUNTER,
        hub: [{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: proxy.port }],
        username: board.username,
        password: board.password,
        dataDir: join(dir, 'board'),
        // What the cut leaves unsent becomes backlog; unpaced here so the test stays quick.
        backlogRate: 100_000,
      },
      { profile, gpio: hardware.gpio, bus: hardware.bus, log: silentLogger() },
    )
  })

  afterAll(async () => {
    await edge?.stop()
    await hardware?.stop()
    await proxy?.stop()
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('re-sends what was in flight when the link dropped, loses nothing, and empties the journal', async () => {
    await eventually(() => edge.link.connected, 15_000, 'the board to fail over to the live address')
    const ids: string[] = []
    for (let i = 0; i < 8000; i++) ids.push(edge.link.publish('event', { type: 'officer-key', key: 'recall', ticket: null }))
    const events = () => new Set(tap.ids(`${base}/event/`))
    // Cut while the stream is under way: a full window of publishes is in flight.
    await eventually(() => events().size >= 1000, 10_000, 'the stream to be under way')
    proxy.cut()
    const arrivedBeforeCut = events().size
    expect(arrivedBeforeCut).toBeLessThan(ids.length)
    await eventually(() => !edge.link.connected, 5000, 'the board to notice')
    for (let i = 0; i < 500; i++) ids.push(edge.link.publish('event', { type: 'officer-key', key: 'recall', ticket: null }))
    await letTimePass(300, 'the link stays cut for a while: the board retries against a proxy that refuses it')
    proxy.restore()

    await eventually(() => {
      const got = events()
      return ids.every((id) => got.has(id))
    }, 30_000, 'every event after the link came back')
    await eventually(() => edge.link.backlog === 0, 5000, 'the journal to empty')
    const produced = new Set(ids)
    expect([...events()].filter((id) => !produced.has(id))).toEqual([])
    expect(edge.link.linkHealth().reconnects).toBeGreaterThanOrEqual(1)
  }, 60_000)
})

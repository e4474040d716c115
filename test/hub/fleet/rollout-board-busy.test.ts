import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { user } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'
import { BoardStandIn, UpdateTimeline } from './board-stand-in.ts'
import { call, makeRelease, releaseKeys, startFleetHub, technicianCookie, upload, type FleetHub } from './fleet-fixture.ts'

const H = 'h24b'
const tech = user('technician', H)
const w01 = user('board', H, 'w01')

/**
 * A rollout started while a board still takes the release of an earlier one (halted or cancelled:
 * the boards already sent their command finish it). The board's installer answers `busy` to any
 * other update until that one ends; the hub must wait for it, not send the command again and again.
 */
describe('a rollout to a board still taking an earlier update', () => {
  const keys = releaseKeys()
  let f: FleetHub
  let cookie: string
  let board: BoardStandIn

  const status = async () => (await call(f.base, 'GET', '/api/rollout')).body as { state: string; boards: Array<{ counter: string; state: string; reason: string | null }> }

  beforeAll(async () => {
    f = await startFleetHub([tech, w01], keys, { hall: H }, { confirmMarginS: 1 })
    cookie = await technicianCookie(f.base, tech)
    board = new BoardStandIn(f.t.hub.port, w01, '1', { version: '1.0.0', mode: 'idle', timeline: new UpdateTimeline() })
    await board.start()
    await upload(f.base, cookie, await makeRelease('3.0.0', keys.privateKey))
    // The earlier rollout's 2.0.0 is being unpacked on the board.
    board.behaviour = 'busy'
    board.installing = '2.0.0'
    await board.report({ running: '1.0.0', state: 'installing', target: '2.0.0', previous: '1.0.0', cmd: 'rollout-earlier', reason: null })
    await eventually(() => f.t.hub.hallView.window('w01')?.update?.state === 'installing', 10_000, 'the board seen installing 2.0.0')
  })
  afterAll(async () => {
    await board?.stop()
    await f?.stop()
  })

  it('waits, saying why, and sends the command once when the earlier update has ended', async () => {
    const started = await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '3.0.0', boards: ['w01'], confirmWithinS: 30 } })
    expect(started.status).toBe(201)
    // The plan ran within the request: the board waits for its own update to end.
    expect(started.body.boards).toEqual([expect.objectContaining({ counter: 'w01', state: 'pending', reason: expect.stringContaining('2.0.0') })])
    // The earlier update ends: 2.0.0 confirmed. The board takes the next one.
    board.behaviour = 'install'
    board.installing = null
    await board.report({ running: '2.0.0', state: 'confirmed', target: '2.0.0', previous: '1.0.0', cmd: 'rollout-earlier', reason: null })
    await eventually(async () => (await status()).state === 'done', 20_000, 'the rollout done')
    expect((await status()).boards).toEqual([expect.objectContaining({ counter: 'w01', state: 'confirmed' })])
    expect(board.received).toHaveLength(1)
    expect(board.version).toBe('3.0.0')
  }, 30_000)
})

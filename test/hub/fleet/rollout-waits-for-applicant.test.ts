import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { user } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'
import { BoardStandIn, UpdateTimeline } from './board-stand-in.ts'
import { call, makeRelease, releaseKeys, startFleetHub, technicianCookie, upload, type FleetHub } from './fleet-fixture.ts'

const H = 'h24a'
const tech = user('technician', H)
const w01 = user('board', H, 'w01')

/**
 * The hall is open: a board takes the command while its window is idle, the officer calls the
 * next applicant while the release downloads, and the board's installer holds its restart until
 * the service ends (edge/update/installer.ts). A service longer than confirmWithinS + margin must
 * not count as a failed update and halt the rollout for the whole hall.
 */
describe('a rollout to a board whose window gets an applicant while it installs', () => {
  const keys = releaseKeys()
  let f: FleetHub
  let cookie: string
  let board: BoardStandIn

  const status = async () => (await call(f.base, 'GET', '/api/rollout')).body as { state: string; halted: { counter: string; reason: string } | null; boards: Array<{ counter: string; state: string; reason: string | null }> }

  beforeAll(async () => {
    f = await startFleetHub([tech, w01], keys, { hall: H }, { confirmMarginS: 1 })
    cookie = await technicianCookie(f.base, tech)
    board = new BoardStandIn(f.t.hub.port, w01, '1', { version: '1.0.0', mode: 'idle', timeline: new UpdateTimeline() })
    board.behaviour = 'silent'
    await board.start()
    await upload(f.base, cookie, await makeRelease('2.0.0', keys.privateKey))
    await eventually(() => f.t.hub.hallView.window('w01')?.update, 10_000, 'the board seen')
  })
  afterAll(async () => {
    await board?.stop()
    await f?.stop()
  })

  it('holds the board\'s time while the applicant is served, and takes its confirmation after', async () => {
    expect((await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '2.0.0', boards: ['w01'], confirmWithinS: 10 } })).status).toBe(201)
    const cmd = (await eventually(() => board.received[0], 10_000, 'the update command'))!.id as string
    // Downloaded and unpacked; the officer called the next applicant meanwhile: the restart waits for the service.
    await board.report({ running: '1.0.0', state: 'installing', target: '2.0.0', previous: '1.0.0', cmd, reason: null })
    await board.setMode('serving')
    // The barrier: the board's 11 s (10 + margin 1) ran out with the applicant still there, and the hub dealt with it.
    const outcome = await eventually(
      async () => f.t.log.lines.some((l) => String(l.msg).includes('waits for the applicant')) ? 'held' : (await status()).state === 'halted' ? 'halted' : null,
      25_000,
      'the board\'s time running out',
    )
    expect(outcome, JSON.stringify(await status())).toBe('held')
    expect(await status()).toMatchObject({ state: 'running', boards: [{ counter: 'w01', state: 'sent' }] })
    // The service ends; the board restarts into 2.0.0 and confirms it.
    await board.setMode('idle')
    await board.report({ running: '2.0.0', state: 'confirmed', target: '2.0.0', previous: '1.0.0', cmd, reason: null })
    const done = (await eventually(async () => ((s) => (s.state !== 'running' ? s : null))(await status()), 20_000, 'the rollout ending'))!
    expect(done).toMatchObject({ state: 'done', halted: null, boards: [{ counter: 'w01', state: 'confirmed' }] })
  }, 60_000)
})

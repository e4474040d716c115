import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestHub, user, type TestHub } from '../hub/support/hub-fixture.ts'
import { EdgeProcess } from '../support/edge-process.ts'
import { SteppedWallClock } from '../support/faketime.ts'
import { eventually } from '../support/probe.ts'

const H = 'h-ahead'
const w07 = user('board', H, 'w07')
const tech = user('technician', H)

/**
 * A technician tests a window from the dashboard whose board's wall clock runs an hour ahead
 * (NTP set it wrong, or a board that kept a bad time): the board refuses the identify as
 * expired. The dashboard said only "the command expired", which sends a technician to the
 * network; the reply came back well within the command's expiry by the hub's clock, so the
 * hub says what it means: the board's clock is ahead. Real hub with its dashboard, real board
 * process on a clock stepped with libfaketime.
 */
describe('a technician\'s action on a board whose clock runs ahead', () => {
  let t: TestHub
  let dir: string
  let board: EdgeProcess
  let clock: SteppedWallClock

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clock-ahead-'))
    t = await startTestHub([w07, tech], { hall: H, http: { port: 0 } })
    clock = SteppedWallClock.in(dir)
    board = new EdgeProcess({ hall: H, counter: 'w07', host: '127.0.0.1', port: t.hub.port, username: w07.username, password: w07.password, dataDir: join(dir, 'sd') }, () => {}, clock.env())
    await board.start()
  })
  afterAll(async () => {
    await board?.kill()
    await t?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('is refused as expired, and the technician is told in both languages that the board\'s clock is ahead', async () => {
    const base = `http://127.0.0.1:${t.hub.httpPort}`
    const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: tech.username, password: tech.password }) })
    expect(login.status).toBe(200)
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
    const identify = async () => (await (await fetch(`${base}/api/windows/w07/identify`, { method: 'POST', headers: { cookie } })).json()) as { ok: boolean; code: string | null; message?: string }
    // The board is up and subscribed once it acts on one (before that the hub answers unknown-counter).
    await eventually(async () => (await identify()).ok, 20_000, 'the board acting on an identify', 200)

    clock.stepTo(3_600_000)
    expect((await board.wallClock())! - Date.now()).toBeGreaterThan(3_500_000)
    const refused = await identify()
    expect(refused).toMatchObject({ ok: false, code: 'expired' })
    expect(refused.message).toContain('时钟比集线器快')
    expect(refused.message).toContain("window w07's clock runs ahead of the hub's")
    expect(refused.message).toContain('NTP')

    // Its clock put right, the same action works.
    clock.stepTo(0)
    expect(await identify()).toMatchObject({ ok: true })
  })
})

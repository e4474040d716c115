import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { connectAs, user, closeAll } from '../support/hub-fixture.ts'
import { Recorder, command, eventually } from '../../support/probe.ts'
import { parsePromText } from '../../support/prometheus-text.ts'
import { neighbours } from '../../../hub/fleet/rollout-plan.ts'
import { BoardStandIn, UpdateTimeline } from './board-stand-in.ts'
import { call, makeRelease, releaseKeys, startFleetHub, technicianCookie, upload, type FleetHub, type TestRelease } from './fleet-fixture.ts'

const H = 'h24r'
const tech = user('technician', H)
const centralUser = user('bridge', H)
const COUNT = 7
const boardsOf = Array.from({ length: COUNT }, (_, i) => user('board', H, `w0${i + 1}`))

/** The hub's rollout against the real hub, with raw MQTT clients playing boards as the wire contract says. */
describe('rollout controller', () => {
  const keys = releaseKeys()
  let f: FleetHub
  let cookie: string
  let boards: BoardStandIn[]
  let timeline: UpdateTimeline
  let v2: TestRelease
  let v3: TestRelease

  const status = async () => (await call(f.base, 'GET', '/api/rollout')).body as { state: string; halted: { counter: string; reason: string } | null; boards: Array<{ counter: string; state: string; reason: string | null; cmd: string | null }> }
  const board = (c: string) => boards.find((b) => b.counter === c)!
  const settled = async (what: string, states: string[]) => (await eventually(async () => ((s) => (states.includes(s.state) ? s : null))(await status()), 20_000, what))!

  beforeAll(async () => {
    f = await startFleetHub([tech, centralUser, ...boardsOf], keys, { hall: H }, { confirmMarginS: 1 })
    cookie = await technicianCookie(f.base, tech)
    timeline = new UpdateTimeline()
    boards = boardsOf.map((u, i) => new BoardStandIn(f.t.hub.port, u, String(i + 1), { version: '1.0.0', mode: 'idle', timeline }))
    for (const b of boards) await b.start()
    v2 = await makeRelease('2.0.0', keys.privateKey)
    v3 = await makeRelease('3.0.0', keys.privateKey)
    await upload(f.base, cookie, v2)
    await upload(f.base, cookie, v3)
    await eventually(() => f.t.hub.hallView.snapshot().windows.filter((w) => w.state?.mode === 'idle' && w.update).length === COUNT, 10_000, 'every board seen')
  })
  afterAll(async () => {
    for (const b of boards ?? []) await b.stop()
    await f?.stop()
  })

  it('needs a technician, a complete release and boards of the hall', async () => {
    expect((await call(f.base, 'POST', '/api/rollout', { json: { version: '2.0.0', all: true } })).status).toBe(401)
    const none = await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '9.9.9', all: true } })
    expect(none.status).toBe(404)
    expect(none.body.error).toContain('no release 9.9.9')
    const stranger = await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '2.0.0', boards: ['w01', 'w99'] } })
    expect(stranger.status).toBe(400)
    expect(stranger.body.error).toContain('w99')
    // What the dashboard's technician reads for a bad request: Chinese with English beside it, naming the value.
    const bad = [
      [{ version: '2.0.0', all: true, boards: ['w01'] }, /^"boards" 与 "all" 只能选一 \/ "boards" and "all" exclude each other$/],
      [{ version: '2.0.0', all: true, atATime: 0 }, /^每批窗口数须为 1 到 \d+ 的整数 \/ "atATime" must be a whole number from 1 to \d+ \(got 0\)$/],
      [{ version: '2.0.0', all: true, confirmWithinS: 'soon' }, /^确认时限须为 10 到 900 秒的整数 \/ "confirmWithinS" must be a whole number of seconds from 10 to 900 \(got "soon"\)$/],
    ] as const
    for (const [json, error] of bad) {
      const r = await call(f.base, 'POST', '/api/rollout', { cookie, json })
      expect(r.status).toBe(400)
      expect(r.body.error).toMatch(error)
    }
    expect((await status()).state).not.toBe('running')
  })

  it('updates every board in waves of at most N, never two neighbours at once, waiting for a window with an applicant', async () => {
    await board('w04').setMode('serving')
    await eventually(() => f.t.hub.hallView.window('w04')?.state?.mode === 'serving', 5000, 'w04 serving')
    const started = await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '2.0.0', all: true, atATime: 3, confirmWithinS: 30 } })
    expect(started.status).toBe(201)
    // Everyone but the window with an applicant is updated; it waits, and says why.
    await eventually(async () => (await status()).boards.filter((b) => b.state === 'confirmed').length === COUNT - 1, 20_000, 'all but w04 confirmed')
    const waiting = (await status()).boards.find((b) => b.counter === 'w04')!
    expect(waiting).toMatchObject({ state: 'pending', cmd: null })
    expect(waiting.reason).toContain('applicant')
    expect(board('w04').received).toEqual([])
    // Its delete is refused while the rollout uses the release.
    expect((await call(f.base, 'DELETE', '/api/releases/2.0.0', { cookie })).status).toBe(409)
    await board('w04').setMode('idle')
    const done = await settled('the rollout done', ['done', 'halted'])
    expect(done.state).toBe('done')
    for (const b of boards) {
      expect(b.version, b.counter).toBe('2.0.0')
      expect(b.received, `${b.counter} got the command once`).toHaveLength(1)
      expect(b.downloaded?.equals(v2.payload), `${b.counter} downloaded the payload`).toBe(true)
      expect(b.received[0]!.url).toBe(`http://127.0.0.1:${f.t.hub.httpPort}/releases/2.0.0/counter-edge-2.0.0.tar.gz`)
    }
    for (const group of timeline.overlaps) {
      expect(group.length).toBeLessThanOrEqual(3)
      for (const a of group) for (const b of group) if (a !== b) expect(neighbours(a.slice(1).replace(/^0/, ''), b.slice(1).replace(/^0/, '')), `${a} and ${b} at once`).toBe(false)
    }
    expect(f.t.hub.hallView.window('w01')?.update).toMatchObject({ running: '2.0.0', state: 'confirmed' })
  }, 60_000)

  it('halts after the first wave when its boards roll back, naming the board and why; no other board gets the command', async () => {
    for (const c of ['w01', 'w03', 'w05']) board(c).behaviour = 'roll-back'
    const before = timeline.commands.length
    const started = await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '3.0.0', all: true, atATime: 3, confirmWithinS: 30 } })
    expect(started.status).toBe(201)
    const halted = await settled('the rollout halted', ['halted', 'done'])
    expect(halted.state).toBe('halted')
    expect(['w01', 'w03', 'w05']).toContain(halted.halted!.counter)
    expect(halted.halted!.reason).toContain('3.0.0 exited 3 times before it was online')
    // The rest of the first wave still ends in its own report.
    await eventually(async () => (await status()).boards.filter((b) => b.state === 'rolled-back').length === 3, 20_000, 'the whole first wave rolled back')
    const s = await status()
    for (const b of s.boards.filter((x) => !['w01', 'w03', 'w05'].includes(x.counter))) expect(b).toMatchObject({ state: 'pending', cmd: null })
    expect(timeline.commands.slice(before).sort()).toEqual(['w01', 'w03', 'w05'])
    for (const c of ['w01', 'w03', 'w05']) expect(board(c).version).toBe('2.0.0')
    const metrics = await (await fetch(`${f.base}/metrics`)).text()
    expect(metrics).toMatch(/counter_edge_updates_total\{hall="h24r",result="rolled-back"\} 3/)
    expect(metrics).toMatch(/counter_edge_updates_total\{hall="h24r",result="confirmed"\} 7/)
    // Served from the hub's one registry: strict exposition text, each family once with its TYPE.
    const parsed = parsePromText(metrics)
    expect(parsed.types.get('counter_edge_updates_total')).toBe('counter')
    expect(metrics.match(/^# TYPE counter_edge_updates_total /gm)).toHaveLength(1)
    expect(parsed.value('counter_edge_rollout_state', { hall: H, state: 'halted', version: '3.0.0' })).toBe(1)
    expect(parsed.value('counter_edge_window_version_info', { hall: H, counter: 'w02', version: '2.0.0', update: 'confirmed' })).toBe(1)
  }, 60_000)

  it('counts a board that never reports as failed after confirmWithinS + margin, and halts', async () => {
    board('w02').behaviour = 'silent'
    const started = await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '3.0.0', boards: ['w02'], confirmWithinS: 10 } })
    expect(started.status).toBe(201)
    const halted = await settled('the rollout halted', ['halted'])
    expect(halted.halted).toMatchObject({ counter: 'w02', reason: expect.stringContaining('not confirmed within 11 s') })
  }, 30_000)

  it('cancel stops a rollout that waits; a second start is refused while one runs', async () => {
    await board('w06').setMode('calling')
    await eventually(() => f.t.hub.hallView.window('w06')?.state?.mode === 'calling', 5000, 'w06 calling')
    expect((await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '3.0.0', boards: ['w06'] } })).status).toBe(201)
    const again = await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '3.0.0', boards: ['w06'] } })
    expect(again.status).toBe(409)
    expect(again.body.error).toContain('under way')
    const cancelled = await call(f.base, 'POST', '/api/rollout/cancel', { cookie })
    expect(cancelled.body).toMatchObject({ state: 'cancelled', boards: [{ counter: 'w06', state: 'skipped' }] })
    expect(board('w06').received).toHaveLength(1)
  })

  it('refuses an update command sent from outside the hub with unsupported', async () => {
    const central = await connectAs(f.t.hub.port, centralUser)
    const seen = Recorder.of(central)
    await central.subscribeAsync(`hall/${H}/counter/w07/reply`, { qos: 1 })
    const cmd = command({ release: v3.signed, url: 'http://127.0.0.1:1/x', confirmWithinS: 30 })
    await central.publishAsync(`hall/${H}/counter/w07/cmd/update`, JSON.stringify(cmd), { qos: 1 })
    const reply = await seen.waitFor((m) => m.payload.cmd === cmd.id, 5000, 'the hub\'s refusal')
    expect(reply.payload).toMatchObject({ ok: false, code: 'unsupported', name: 'update' })
    expect(reply.payload.message).toContain('updates are started at the hub')
    expect(board('w07').received).toHaveLength(1)
    await closeAll([central])
  })
})

import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RolloutStatus } from '../../../hub/fleet/rollout-status.ts'
import type { SavedRollout } from '../../../hub/fleet/rollout-file.ts'
import { startTestHub, user, type TestHub } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'
import { BoardStandIn, UpdateTimeline } from './board-stand-in.ts'
import { call, makeRelease, releaseKeys, technicianCookie, upload, type TestRelease } from './fleet-fixture.ts'

const H = 'h24s'
const tech = user('technician', H)
const boardUsers = ['w01', 'w02', 'w04'].map((c) => user('board', H, c))

/**
 * What a hub does with the rollout file it finds at start, against a real hub
 * (in this process, started again on the same data directory) and boards
 * played on the wire (./board-stand-in.ts). The kill -9 of a hub process
 * mid-rollout is ./rollout-survives-restart.test.ts.
 */
describe('a hub starting on a rollout file', () => {
  const keys = releaseKeys()
  let root: string
  let v2: TestRelease
  const running: Array<{ stop(): Promise<void> }> = []

  beforeAll(async () => {
    v2 = await makeRelease('2.0.0', keys.privateKey)
  })
  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop()
    if (root) await rm(root, { recursive: true, force: true })
  })

  async function hubOn(dataDir: string): Promise<{ t: TestHub; base: string }> {
    const keyFile = join(root, 'hall-release.pub')
    await writeFile(keyFile, keys.publicKey)
    const t = await startTestHub([tech, ...boardUsers], { hall: H, dataDir, http: { port: 0 }, releases: { publicKey: keyFile, dir: join(root, 'releases') } })
    running.push(t)
    return { t, base: `http://127.0.0.1:${t.hub.httpPort}` }
  }
  const status = async (base: string) => (await call(base, 'GET', '/api/rollout')).body as unknown as RolloutStatus

  it('a rollout that had halted is shown as it ended, the board and reason it halted at, and is not under way', async () => {
    root = await mkdtemp(join(tmpdir(), 'rollout-resume-'))
    const dataDir = join(root, 'data')
    const first = await hubOn(dataDir)
    const cookie = await technicianCookie(first.base, tech)
    await upload(first.base, cookie, v2)
    const timeline = new UpdateTimeline()
    const boards = boardUsers.map((u, i) => new BoardStandIn(first.t.hub.port, u, String(i * 2 + 1), { version: '1.0.0', mode: 'idle', timeline }))
    for (const b of boards) b.behaviour = 'roll-back'
    for (const b of boards) await b.start()
    running.push(...boards)
    await eventually(() => first.t.hub.hallView.snapshot().windows.filter((w) => w.update).length === boards.length, 10_000, 'every board seen')
    const started = await call(first.base, 'POST', '/api/rollout', { cookie, json: { version: '2.0.0', boards: ['w01', 'w02', 'w04'], atATime: 1, confirmWithinS: 30 } })
    expect(started.status).toBe(201)
    const halted = (await eventually(async () => ((s) => (s.state === 'halted' ? s : null))(await status(first.base)), 20_000, 'the rollout halting'))!
    expect(halted.halted?.counter).toBe('w01')
    // The first wave's board only: it rolled back, and nothing went further.
    expect(timeline.commands).toEqual(['w01'])
    await first.t.hub.rollout!.saved()
    for (const b of running.splice(0).reverse()) await b.stop()

    const again = await hubOn(dataDir)
    const shown = await status(again.base)
    const essentials = (s: RolloutStatus) => ({ ...s, boards: s.boards.map((b) => ({ counter: b.counter, state: b.state, cmd: b.cmd, reason: b.reason })) })
    expect(shown.state).toBe('halted')
    expect(essentials(shown)).toEqual(essentials(halted))
    const cancel = await call(again.base, 'POST', '/api/rollout/cancel', { cookie: await technicianCookie(again.base, tech) })
    expect(cancel.status).toBe(409)
  })

  it('a running rollout goes on: a board already on the target is done without a command, one sent the command before and showing no sign of it gets that same command once, the rest their waves', async () => {
    root = await mkdtemp(join(tmpdir(), 'rollout-resume-'))
    const dataDir = join(root, 'data')
    // First run: only to store the release the way an upload does.
    const first = await hubOn(dataDir)
    await upload(first.base, await technicianCookie(first.base, tech), v2)
    await running.pop()!.stop()
    // What a hub killed between saving w01 `sent` and publishing its command leaves behind.
    const saved: SavedRollout = {
      status: {
        state: 'running',
        version: '2.0.0',
        atATime: 1,
        confirmWithinS: 30,
        started: '2026-12-05T09:00:00.000Z',
        finished: null,
        wave: ['w01'],
        waves: 1,
        boards: [
          { counter: 'w01', state: 'sent', reported: 'idle', running: '1.0.0', reason: null, cmd: 'rollout-0123456789ab' },
          { counter: 'w02', state: 'pending', reported: 'idle', running: '1.0.0', reason: null, cmd: null },
          { counter: 'w04', state: 'pending', reported: 'idle', running: '2.0.0', reason: null, cmd: null },
        ],
        halted: null,
      },
      sentAt: { w01: '2026-12-05T09:00:01.000Z' },
    }
    await mkdir(dataDir, { recursive: true })
    await writeFile(join(dataDir, 'rollout.json'), JSON.stringify({ format: 1, ...saved }))

    const again = await hubOn(dataDir)
    const timeline = new UpdateTimeline()
    const boards = boardUsers.map((u, i) => new BoardStandIn(again.t.hub.port, u, String(i + 1), { version: u.counter === 'w04' ? '2.0.0' : '1.0.0', mode: 'idle', timeline }))
    for (const b of boards) await b.start()
    running.push(...boards)
    const done = (await eventually(async () => ((s) => (s.state === 'done' ? s : null))(await status(again.base)), 40_000, 'the resumed rollout done'))!
    expect(done.started).toBe(saved.status.started)
    expect(done.boards.map((b) => [b.counter, b.state])).toEqual([
      ['w01', 'confirmed'],
      ['w02', 'confirmed'],
      ['w04', 'confirmed'],
    ])
    const byCounter = new Map(boards.map((b) => [b.counter, b]))
    expect(byCounter.get('w01')!.received.map((c) => c.id)).toEqual(['rollout-0123456789ab'])
    expect(byCounter.get('w02')!.received).toHaveLength(1)
    expect(byCounter.get('w04')!.received).toEqual([])
    expect(timeline.commands).toEqual(['w01', 'w02'])
    // The file followed: it holds the rollout as it ended.
    await again.t.hub.rollout!.saved()
    const file = JSON.parse(await readFile(join(dataDir, 'rollout.json'), 'utf8')) as SavedRollout
    expect(file.status.state).toBe('done')
  }, 60_000)

  it('a rollout file it cannot read is set aside as .bad, logged in Chinese and English, and the hub starts with no rollout', async () => {
    root = await mkdtemp(join(tmpdir(), 'rollout-resume-'))
    const dataDir = join(root, 'data')
    await mkdir(dataDir, { recursive: true })
    await writeFile(join(dataDir, 'rollout.json'), '{"format":1,"status":{"state":"runn')
    const h = await hubOn(dataDir)
    expect((await status(h.base)).state).toBe('none')
    expect(await readFile(join(dataDir, 'rollout.json.bad'), 'utf8')).toBe('{"format":1,"status":{"state":"runn')
    const line = h.t.log.lines.find((l) => l.module === 'rollout' && l.level === 50)
    expect(line?.msg).toMatch(/升级进度文件无法读取.* \/ the rollout file could not be read and was set aside/)
    // And a rollout can be started and is kept again.
    const cookie = await technicianCookie(h.base, tech)
    await upload(h.base, cookie, v2)
    const timeline = new UpdateTimeline()
    const b = new BoardStandIn(h.t.hub.port, boardUsers[0]!, '1', { version: '1.0.0', mode: 'idle', timeline })
    await b.start()
    running.push(b)
    await eventually(() => h.t.hub.hallView.window('w01')?.update !== undefined && h.t.hub.hallView.window('w01')?.update !== null, 10_000, 'w01 seen')
    expect((await call(h.base, 'POST', '/api/rollout', { cookie, json: { version: '2.0.0', boards: ['w01'], atATime: 1, confirmWithinS: 30 } })).status).toBe(201)
    await eventually(async () => (await status(h.base)).state === 'done', 20_000, 'the rollout done')
    await h.t.hub.rollout!.saved()
    expect((JSON.parse(await readFile(join(dataDir, 'rollout.json'), 'utf8')) as SavedRollout).status.state).toBe('done')
  }, 40_000)
})

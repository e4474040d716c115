import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { user } from '../hub/support/hub-fixture.ts'
import { eventually } from '../support/probe.ts'
import { BoardStandIn, UpdateTimeline } from '../hub/fleet/board-stand-in.ts'
import { makeRelease, releaseKeys, startFleetHub, type FleetHub, type TestRelease } from '../hub/fleet/fleet-fixture.ts'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))
const H = 'h24c'
const tech = user('technician', H)
const boardUsers = [user('board', H, 'w01'), user('board', H, 'w02')]

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'update', ...args], { env: { ...process.env, COUNTER_EDGE_PASSWORD: tech.password, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout, err: stderr })
    })
  })
}

/** `counter-edge update` against a real hub, boards played by raw MQTT stand-ins. */
describe('counter-edge update', () => {
  const keys = releaseKeys()
  let f: FleetHub
  let dir: string
  let boards: BoardStandIn[]
  let files: (r: TestRelease) => Promise<[string, string]>
  const hub = () => ['--http', f.base, '--username', tech.username]

  beforeAll(async () => {
    f = await startFleetHub([tech, ...boardUsers], keys, { hall: H })
    dir = await mkdtemp(join(tmpdir(), 'cli-update-'))
    files = async (r) => {
      const m = join(dir, `counter-edge-${r.version}.release.json`)
      const p = join(dir, `counter-edge-${r.version}.tar.gz`)
      await writeFile(m, r.json)
      await writeFile(p, r.payload)
      return [m, p]
    }
    const timeline = new UpdateTimeline()
    boards = boardUsers.map((u, i) => new BoardStandIn(f.t.hub.port, u, String(i + 1), { version: '1.0.0', mode: 'idle', timeline }))
    for (const b of boards) await b.start()
    await eventually(() => f.t.hub.hallView.snapshot().windows.filter((w) => w.state && w.update).length === 2, 10_000, 'both boards seen')
  })
  afterAll(async () => {
    for (const b of boards ?? []) await b.stop()
    await f?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('uploads a signed release, and refuses one signed with another key with the hub\'s reason (exit 1)', async () => {
    const [m, p] = await files(await makeRelease('2.0.0', keys.privateKey))
    const ok = await cli(['upload', m, p, ...hub()])
    expect(ok.err).toBe('')
    expect(ok.code).toBe(0)
    expect(ok.out).toContain('release 2.0.0 uploaded and checked')
    const [bm, bp] = await files(await makeRelease('2.1.0', releaseKeys().privateKey))
    const bad = await cli(['upload', bm, bp, ...hub()])
    expect(bad.code).toBe(1)
    expect(bad.err).toContain('HTTP 400')
    expect(bad.err).toContain('bad signature')
    const list = await cli(['list', '--http', f.base])
    expect(list.code).toBe(0)
    expect(list.out).toMatch(/^2\.0\.0 .*complete/m)
    expect(list.out).not.toContain('2.1.0')
  })

  it('starts a rollout and follows it to the end with --wait; status shows every board confirmed', async () => {
    const r = await cli(['start', '--version', '2.0.0', '--all', '--at-a-time', '1', '--confirm-within', '30', '--wait', ...hub()])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toContain('rollout of 2.0.0 started: 2 boards, 1 at a time')
    expect(r.out).toMatch(/完成 done/)
    const s = await cli(['status', '--http', f.base])
    expect(s.code).toBe(0)
    expect(s.out).toMatch(/w01 +已确认 confirmed +2\.0\.0/)
    expect(s.out).toMatch(/w02 +已确认 confirmed +2\.0\.0/)
  })

  it('says what is wrong: no rollout to cancel (exit 1), a wrong password (exit 1), wrong usage (exit 2)', async () => {
    const c = await cli(['cancel', ...hub()])
    expect(c.code).toBe(1)
    expect(c.err).toContain('no rollout is under way')
    const pw = await cli(['cancel', ...hub()], { COUNTER_EDGE_PASSWORD: 'wrong' })
    expect(pw.code).toBe(1)
    expect(pw.err).toContain('wrong username or password')
    const both = await cli(['start', '--version', '2.0.0', '--all', '--boards', 'w01', ...hub()])
    expect(both.code).toBe(2)
    expect(both.err).toContain('choose boards with --boards w01,w02 or --all')
    const none = await cli(['frobnicate', ...hub()])
    expect(none.code).toBe(2)
    expect(none.err).toContain('upload, start, status, cancel, list')
    const down = await cli(['status', '--http', 'http://127.0.0.1:1'])
    expect(down.code).toBe(1)
    expect(down.err).toContain('cannot reach the hub')
  })
})

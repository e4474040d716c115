import { describe, it, expect, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestHub, user, type TestHub } from '../hub/support/hub-fixture.ts'
import { eventually } from '../support/probe.ts'
import { freePort } from '../support/ports.ts'
import { BoardStandIn, UpdateTimeline } from '../hub/fleet/board-stand-in.ts'
import { call, makeRelease, releaseKeys, technicianCookie, upload } from '../hub/fleet/fleet-fixture.ts'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))
const H = 'h24w'
const tech = user('technician', H)
const w01 = user('board', H, 'w01')

/**
 * `counter-edge update start --wait` while the hub restarts mid-rollout: the hub keeps the
 * rollout in its data directory and carries it on, so the technician's wait must carry on too,
 * not end with an error as if the rollout had failed.
 */
describe('counter-edge update start --wait across a hub restart', () => {
  const keys = releaseKeys()
  const hubs: TestHub[] = []
  let dir = ''
  let board: BoardStandIn | null = null
  let child: ChildProcess | null = null

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill()
    await board?.stop()
    for (const h of hubs) await h.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('keeps waiting while the hub cannot be reached, says so, and ends with the rollout as the restarted hub has it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-wait-'))
    const keyFile = join(dir, 'hall-release.pub')
    await writeFile(keyFile, keys.publicKey)
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const startHub = async () => {
      const t = await startTestHub([tech, w01], { hall: H, http: { port }, dataDir: join(dir, 'data'), releases: { publicKey: keyFile, dir: join(dir, 'releases') } })
      hubs.push(t)
      return t
    }
    const first = await startHub()
    board = new BoardStandIn(first.hub.port, w01, '1', { version: '1.0.0', mode: 'idle', timeline: new UpdateTimeline() })
    board.behaviour = 'silent'
    await board.start()
    await eventually(() => first.hub.hallView.window('w01')?.update, 10_000, 'the board seen')
    await upload(base, await technicianCookie(base, tech), await makeRelease('2.0.0', keys.privateKey))

    let out = ''
    let err = ''
    child = spawn(process.execPath, [CLI, 'update', 'start', '--version', '2.0.0', '--boards', 'w01', '--wait', '--http', base, '--username', tech.username], { env: { ...process.env, COUNTER_EDGE_PASSWORD: tech.password } })
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)))

    await eventually(() => board!.received.length === 1, 15_000, `the update command at the board; the CLI said: ${out}${err}`)
    await hubs.shift()!.stop()
    // The barrier: the CLI polled the stopped hub and found nobody there.
    await eventually(() => err.includes('cannot reach the hub'), 15_000, `the CLI finding the hub gone; it said: ${out}${err}`)
    expect(child.exitCode, `the CLI gave up while the hub restarted: ${out}${err}`).toBeNull()
    expect(err).toContain('still waiting')

    await startHub()
    const resumed = (await call(base, 'GET', '/api/rollout')).body
    expect(resumed).toMatchObject({ state: 'running', version: '2.0.0' })
    expect((await call(base, 'POST', '/api/rollout/cancel', { cookie: await technicianCookie(base, tech) })).status).toBe(200)
    expect(await exited).toBe(0)
    expect(err).toContain('the hub answers again')
    expect(out).toMatch(/已取消 cancelled\s+版本 version 2\.0\.0/)
    // Said once for the outage, not once a second.
    expect(err.match(/cannot reach the hub/g)).toHaveLength(1)
  }, 60_000)
})

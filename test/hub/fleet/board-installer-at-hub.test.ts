import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nativeVersions, packRelease, type BuiltRelease } from '../../../cli/build/release.ts'
import { parseCommand, type CommandOf } from '../../../edge/protocol/index.ts'
import { silentLogger } from '../../../edge/shared/logger.ts'
import { BoardRoot } from '../../../edge/update/board-root.ts'
import { Installer, type UpdateFields } from '../../../edge/update/installer.ts'
import { user } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'
import { writeFakeRelease } from '../../edge/update/fake-releases.ts'
import { BoardStandIn, UpdateTimeline } from './board-stand-in.ts'
import { call, releaseKeys, startFleetHub, technicianCookie, type FleetHub } from './fleet-fixture.ts'

const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const H = 'h24i'
const tech = user('technician', H)
const w01 = user('board', H, 'w01')

/**
 * The two halves of issue 24 meet: the command the hub's rollout publishes, with the URL it
 * builds, taken by the board's real installer (edge/update/installer.ts), which checks the
 * signature with its own copy of the hall key and downloads from the hub's release route with
 * the board's MQTT credentials. The board's MQTT presence is a raw client (board-stand-in.ts)
 * that hands the command over as the runtime would.
 */
describe('a board installer taking a release from the hub', () => {
  const keys = releaseKeys()
  let dir: string
  let f: FleetHub
  let release: BuiltRelease
  let presence: BoardStandIn

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'installer-at-hub-'))
    const stage = join(dir, 'stage')
    await writeFakeRelease(new BoardRoot(join(dir, 'stage-root')), '0.2.0', 'healthy')
    await cp(join(dir, 'stage-root/releases/0.2.0'), stage, { recursive: true })
    await mkdir(join(stage, 'boards'))
    await writeFile(join(stage, 'boards', 'sim-window.json'), '{}')
    release = await packRelease({ stage, version: '0.2.0', node: '>=20.19', native: await nativeVersions(REPO), privateKeyPem: keys.privateKey, out: join(dir, 'out') })
    f = await startFleetHub([tech, w01], keys, { hall: H })
    const cookie = await technicianCookie(f.base, tech)
    expect((await call(f.base, 'PUT', '/api/releases/0.2.0/manifest', { cookie, body: await readFile(release.manifestFile, 'utf8'), type: 'application/json' })).status).toBe(201)
    expect((await call(f.base, 'PUT', '/api/releases/0.2.0/payload', { cookie, body: await readFile(release.payload), type: 'application/gzip' })).status).toBe(201)
    presence = new BoardStandIn(f.t.hub.port, w01, '1', { version: '0.1.0', mode: 'idle', timeline: new UpdateTimeline() })
    presence.behaviour = 'silent'
    await presence.start()
    await eventually(() => f.t.hub.hallView.window('w01')?.update, 10_000, 'the board seen')
    expect((await call(f.base, 'POST', '/api/rollout', { cookie, json: { version: '0.2.0', boards: ['w01'], confirmWithinS: 60 } })).status).toBe(201)
  })
  afterAll(async () => {
    await presence?.stop()
    await f?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('installs it: the command parses, the signature checks out with the board\'s key, the download passes Basic auth and the hash', async () => {
    const sent = (await eventually(() => presence.received[0], 10_000, 'the update command'))!
    const parsed = parseCommand('update', JSON.stringify(sent))
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true)
    const root = new BoardRoot(join(dir, 'opt'))
    await writeFakeRelease(root, '0.1.0', 'healthy')
    await root.point('current', '0.1.0')
    await mkdir(join(root.dir, 'keys'))
    await writeFile(root.publicKey, keys.publicKey)
    await symlink(join(REPO, 'node_modules'), root.nodeModules)
    const reports: UpdateFields[] = []
    const restarts: number[] = []
    const installer = new Installer({ root, running: '0.1.0', credentials: { username: w01.username, password: w01.password }, report: (r) => reports.push(r), restart: async () => void restarts.push(Date.now()), log: silentLogger() })
    const begun = await installer.begin((parsed as { command: CommandOf<'update'> }).command)
    expect(begun).toEqual({ ok: true, result: { version: '0.2.0', size: release.manifest.payload.size } })
    await eventually(() => restarts.length === 1, 10_000, 'the restart into 0.2.0')
    expect(reports.find((r) => r.state === 'failed')).toBeUndefined()
    expect(await root.versionOf('current')).toBe('0.2.0')
    expect((await root.readJournal()).cmd).toBe(sent.id)
  })
})

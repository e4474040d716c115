import { afterAll, describe, expect, it } from 'vitest'
import { generateKeyPairSync } from 'node:crypto'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { buildRelease } from '../../../cli/build/release.ts'
import { silentLogger } from '../../../edge/shared/logger.ts'
import { Launcher } from '../../../edge/update/launcher.ts'
import { unpackRelease } from '../../../edge/update/unpack.ts'
import { startHub } from '../../../hub/main.ts'
import { HubTap, writeBoardCredentials } from '../../support/hub-tap.ts'
import { eventually } from '../../support/probe.ts'
import { makeRoot } from './fake-releases.ts'

/**
 * A release built from this checkout (cli/build/release.ts), on trial under
 * the launcher at a real hub: the runtime comes online with its devices
 * answering, says `healthy`, the launcher confirms it, and the runtime
 * reports `confirming` then `confirmed` on the retained update topic.
 */
const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const HALL = 'hall-u'
let dir: string

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('a real release under the launcher', () => {
  it('comes online, says healthy, is confirmed and reports it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'real-release-'))
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const built = await buildRelease({ privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }), out: join(dir, 'out'), version: '7.7.7-test.1' })
    const root = await makeRoot(join(dir, 'opt'), { '7.7.6': 'healthy' }, '7.7.6')
    await writeFile(root.publicKey, publicKey.export({ type: 'spki', format: 'pem' }))
    await symlink(join(REPO, 'node_modules'), root.nodeModules)
    await unpackRelease(built.payload, root.releases, '7.7.7-test.1')
    await root.point('previous', '7.7.6')
    await root.point('current', '7.7.7-test.1')
    await root.writeJournal({ trying: '7.7.7-test.1', previous: '7.7.6', cmd: 'u-42', deadline: new Date(Date.now() + 60_000).toISOString(), rolledBack: null })

    const creds = await writeBoardCredentials(dir, HALL, 'w01')
    const hub = await startHub({ hall: HALL, port: 0, credentialsFile: creds.credentialsFile }, silentLogger())
    const tap = await HubTap.attach(hub, `hall/${HALL}/counter/w01/update`)
    const config = join(dir, 'board.json')
    await mkdir(join(dir, 'var'))
    await writeFile(config, JSON.stringify({ hall: HALL, counter: 'w01', board: 'sim-window', hub: [`mqtt://127.0.0.1:${hub.port}`], username: creds.board.username, password: creds.board.password, dataDir: join(dir, 'var') }))
    const launcher = new Launcher({ root, args: ['edge', '--config', config], log: silentLogger(), stderr: new PassThrough().resume() })
    try {
      await launcher.start()
      const confirming = await tap.waitFor((m) => (m.payload as { state?: string }).state === 'confirming', 30_000, 'confirming')
      expect(confirming.payload).toMatchObject({ running: '7.7.7-test.1', target: '7.7.7-test.1', previous: '7.7.6', cmd: 'u-42' })
      const confirmed = await tap.waitFor((m) => (m.payload as { state?: string }).state === 'confirmed', 30_000, 'confirmed')
      expect(confirmed.payload).toMatchObject({ running: '7.7.7-test.1', previous: '7.7.6', cmd: 'u-42', reason: null })
      await eventually(async () => (await root.readJournal()).trying === null, 10_000, 'update.json cleared')
      expect(await root.readJournal()).toMatchObject({ previous: '7.7.6', rolledBack: null })
      expect(launcher.starts.map((s) => s.version)).toEqual(['7.7.7-test.1'])
    } finally {
      await launcher.stop()
      await tap.detach()
      await hub.stop()
    }
  }, 120_000)

  it('a tried release that crashes at start: the launcher goes back to the real one, which reports rolled-back with the reason', async () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const built = await buildRelease({ privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }), out: join(dir, 'out2'), version: '7.7.8-test.1' })
    const root = await makeRoot(join(dir, 'opt2'), { '7.7.9': 'crash' }, '7.7.9')
    await symlink(join(REPO, 'node_modules'), root.nodeModules)
    await unpackRelease(built.payload, root.releases, '7.7.8-test.1')
    await root.point('previous', '7.7.8-test.1')
    await root.writeJournal({ trying: '7.7.9', previous: '7.7.8-test.1', cmd: 'u-43', deadline: new Date(Date.now() + 60_000).toISOString(), rolledBack: null })
    const creds = await writeBoardCredentials(join(dir, 'opt2'), HALL, 'w02')
    const hub = await startHub({ hall: HALL, port: 0, credentialsFile: creds.credentialsFile }, silentLogger())
    const tap = await HubTap.attach(hub, `hall/${HALL}/counter/w02/update`)
    const config = join(dir, 'board2.json')
    await writeFile(config, JSON.stringify({ hall: HALL, counter: 'w02', board: 'sim-window', hub: [`mqtt://127.0.0.1:${hub.port}`], username: creds.board.username, password: creds.board.password }))
    const launcher = new Launcher({ root, args: ['edge', '--config', config], log: silentLogger(), backoff: { minMs: 20, maxMs: 200 }, stderr: new PassThrough().resume() })
    try {
      await launcher.start()
      const report = await tap.waitFor((m) => (m.payload as { state?: string }).state === 'rolled-back', 30_000, 'rolled-back')
      expect(report.payload).toMatchObject({ running: '7.7.8-test.1', target: '7.7.9', cmd: 'u-43', reason: expect.stringMatching(/^7\.7\.9 exited 3 times before it was online: .*boom at start of 7\.7\.9/) })
      expect(launcher.starts.map((s) => s.version)).toEqual(['7.7.9', '7.7.9', '7.7.9', '7.7.8-test.1'])
    } finally {
      await launcher.stop()
      await tap.detach()
      await hub.stop()
    }
  }, 120_000)
})

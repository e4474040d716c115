import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import { nativeVersions, packRelease, type BuiltRelease } from '../../../cli/build/release.ts'
import { VERSION } from '../../../edge/shared/version.ts'
import { BoardRoot } from '../../../edge/update/board-root.ts'
import { harnessPerTest } from '../../support/edge-harness.ts'
import { makeRoot, writeFakeRelease } from './fake-releases.ts'

/**
 * The real runtime (test/support/edge-harness.ts) under an installed root takes a real signed release from a small
 * HTTP server with Basic auth and restarts into it. Its restart is held open by the test, as a clean stop takes its
 * time on a board: the moment between "the window is free" and the restart, where a call from central must not land.
 */
const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const perTest = harnessPerTest()
let dir: string
let server: Server
let url: string
let release: BuiltRelease
const hall = generateKeyPairSync('ed25519')

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restart-hold-'))
  const stage = join(dir, 'stage')
  await writeFakeRelease(new BoardRoot(join(dir, 'stage-root')), '99.0.0', 'healthy')
  await cp(join(dir, 'stage-root/releases/99.0.0'), stage, { recursive: true })
  await mkdir(join(stage, 'boards'))
  await writeFile(join(stage, 'boards', 'sim-window.json'), '{}')
  release = await packRelease({ stage, version: '99.0.0', node: '>=20.19', native: await nativeVersions(REPO), privateKeyPem: hall.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, out: join(dir, 'out') })
  server = createServer((req, res) => {
    req.socket.setNoDelay(true)
    // The harness's board: hall h1, counter w01, password "unused".
    const file = join(dir, 'out', (req.url ?? '').split('/').pop() ?? '')
    if (req.headers.authorization !== `Basic ${Buffer.from('h1-w01:unused').toString('base64')}` || !existsSync(file)) {
      res.writeHead(404).end()
      return
    }
    void readFile(file).then((bytes) => res.writeHead(200, { 'content-length': bytes.length }).end(bytes))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases/${release.manifest.payload.file}`
})

afterAll(async () => {
  await new Promise((r) => server?.close(r))
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function installedRoot(name: string): Promise<BoardRoot> {
  const root = await makeRoot(join(dir, name), { [VERSION]: 'healthy' }, VERSION)
  await writeFile(root.publicKey, hall.publicKey.export({ type: 'spki', format: 'pem' }))
  await symlink(join(REPO, 'node_modules'), root.nodeModules)
  return root
}

describe('the restart into an update, with the hall open', () => {
  it('a call that comes once the restart is decided is refused busy, never shown and then cut by the restart', async () => {
    const root = await installedRoot('held')
    let restarts = 0
    let letGo!: () => void
    const held = new Promise<void>((r) => (letGo = r))
    const h = await perTest.start({
      root: root.dir,
      exitForUpgrade: async () => {
        restarts++
        await held
      },
    })
    try {
      await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))
      expect(await h.reply(h.command('update', { release: release.signed, url, confirmWithinS: 30 }))).toMatchObject({ ok: true })
      await h.until(() => restarts === 1, 'the restart into 99.0.0')
      expect(await root.versionOf('current')).toBe('99.0.0')
      const from = h.publishes.length
      const call = h.command('call', { ticket: 'A7' })
      // The barrier: the call's reply.
      expect(await h.reply(call)).toMatchObject({ ok: false, code: 'busy', message: expect.stringMatching(/restarting into an update/) })
      expect(h.of('event', 'called', from)).toEqual([])
      expect(h.edge.window.current.mode).not.toBe('calling')
      expect(h.edge.window.current.ticket).toBeNull()
      // Commands that bring nobody to the window are still answered.
      expect(await h.reply(h.command('sync', {}))).toMatchObject({ ok: true })
    } finally {
      letGo()
    }
  }, 30_000)
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packRelease, type BuiltRelease } from '../../cli/build/release.ts'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))

function cli(args: string[]): Promise<{ code: number; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, _stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, err: stderr }))
  })
}

/**
 * `sim --process-per-window --release x.release.json --release-key pub`
 * (windows as installed boards, sim/process-hall.ts): wrong combinations and
 * a release the key does not sign are usage errors naming what is wrong,
 * before any process starts. The hall it runs is test/e2e/fleet-update.test.ts's.
 */
describe('sim --release', () => {
  let dir: string
  let release: BuiltRelease
  let hallPub: string
  let otherPub: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-release-'))
    const keys = () => generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
    const hall = keys()
    const other = keys()
    hallPub = join(dir, 'hall.pub')
    otherPub = join(dir, 'other.pub')
    await writeFile(hallPub, hall.publicKey)
    await writeFile(otherPub, other.publicKey)
    const stage = join(dir, 'stage')
    await mkdir(join(stage, 'dist'), { recursive: true })
    await writeFile(join(stage, 'dist', 'counter-edge.js'), '')
    release = await packRelease({ stage, version: '3.2.1', node: '>=20.19', native: {}, privateKeyPem: hall.privateKey, out: join(dir, 'out') })
  })
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('goes with --process-per-window and --release-key, and the key alone with --release', async () => {
    const alone = await cli(['sim', '--release', release.manifestFile, '--release-key', hallPub])
    expect(alone).toMatchObject({ code: 2, err: expect.stringMatching(/--release goes with --process-per-window/) })
    const noKey = await cli(['sim', '--process-per-window', '--release', release.manifestFile])
    expect(noKey).toMatchObject({ code: 2, err: expect.stringMatching(/--release needs --release-key/) })
    const keyOnly = await cli(['sim', '--process-per-window', '--release-key', hallPub])
    expect(keyOnly).toMatchObject({ code: 2, err: expect.stringMatching(/--release-key goes with --release/) })
  })

  it('a release the key does not sign is refused with the reason', async () => {
    const r = await cli(['sim', '--process-per-window', '--release', release.manifestFile, '--release-key', otherPub])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/does not check out against .*other\.pub: .*signature/)
  })
})

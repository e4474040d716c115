import { afterAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { verifySignedManifest } from '../../edge/shared/release-signature.ts'

const run = promisify(execFile)
const REPO = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(REPO, 'cli/counter-edge.mjs')

describe('counter-edge release: keygen, build, and what a board checks', () => {
  let dir: string
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('builds a signed release from this checkout that verifies, names its native packages, and is refused once tampered with', async () => {
    dir = await mkdtemp(join(tmpdir(), 'release-'))
    await run(process.execPath, [CLI, 'release', 'keygen', '--out', join(dir, 'keys')])
    expect((await stat(join(dir, 'keys/hall-release.key'))).mode & 0o777).toBe(0o600)
    const again = await run(process.execPath, [CLI, 'release', 'keygen', '--out', join(dir, 'keys')]).catch((e: { code: number; stderr: string }) => e)
    expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/already exists/) })

    const { stdout } = await run(process.execPath, [CLI, 'release', 'build', '--key', join(dir, 'keys/hall-release.key'), '--out', join(dir, 'out'), '--version', '9.8.7-test.1'], { maxBuffer: 1 << 22 })
    expect(stdout).toMatch(/release 9\.8\.7-test\.1/)
    const signed = JSON.parse(await readFile(join(dir, 'out/counter-edge-9.8.7-test.1.release.json'), 'utf8')) as unknown
    const pub = await readFile(join(dir, 'keys/hall-release.pub'))
    const checked = verifySignedManifest(signed, pub)
    if (!checked.ok) throw new Error(checked.reason)
    const m = checked.manifest
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }
    expect(m).toMatchObject({ version: '9.8.7-test.1', node: pkg.engines.node, payload: { file: 'counter-edge-9.8.7-test.1.tar.gz' } })
    const i2c = JSON.parse(await readFile(join(REPO, 'node_modules/i2c-bus/package.json'), 'utf8')) as { version: string }
    expect(m.native['i2c-bus']).toBe(i2c.version)
    expect(m.native).toHaveProperty('@counter-edge/gpio-ioctl')
    expect(m.native).not.toHaveProperty('mqtt')
    const payload = join(dir, 'out', m.payload.file)
    expect((await stat(payload)).size).toBe(m.payload.size)

    // What the tarball holds: the built runtime, the boards, the font, a package.json carrying the release's version; no node_modules.
    const { stdout: list } = await run('tar', ['-tzf', payload], { maxBuffer: 1 << 22 })
    const names = list.split('\n')
    expect(names).toContain('dist/counter-edge.js')
    // The entry is CommonJS beside an ESM package; the board's bundle and the other commands' ESM build with it (cli/build/bundle.ts).
    expect(names).toContain('dist/package.json')
    expect(names).toContain('dist/cli.mjs')
    expect(names.some((n) => /^dist\/board-\w+\.cjs$/.test(n))).toBe(true)
    expect(names).toContain('boards/sim-window.json')
    // The pixel screens' font, which the runtime reads from its package root (edge/hardware/bitmap-font.ts).
    expect(names).toContain('edge/hardware/fonts/unifont-cjk.hex.gz')
    expect(names.some((n) => n.includes('node_modules'))).toBe(false)
    const { stdout: stamped } = await run('tar', ['-xzOf', payload, 'package.json'])
    expect(JSON.parse(stamped)).toMatchObject({ name: 'counter-edge', version: '9.8.7-test.1' })

    // Tampered: a field of the manifest changed (the signature no longer covers it) → refused, saying so.
    const raw = signed as { manifest: string }
    const changed = Buffer.from(raw.manifest, 'base64').toString('utf8').replace(m.payload.sha256, '0'.repeat(64))
    const tampered = verifySignedManifest({ ...raw, manifest: Buffer.from(changed).toString('base64') }, pub)
    expect(tampered).toMatchObject({ ok: false, reason: expect.stringMatching(/signature does not match/) })
    // Another hall's key: refused too.
    await run(process.execPath, [CLI, 'release', 'keygen', '--out', join(dir, 'other')])
    expect(verifySignedManifest(signed, await readFile(join(dir, 'other/hall-release.pub'))).ok).toBe(false)
    await writeFile(join(dir, 'done'), '')
  }, 120_000)

  it('a bad --version is a usage error naming it', async () => {
    const d = await mkdtemp(join(tmpdir(), 'release-'))
    try {
      await run(process.execPath, [CLI, 'release', 'keygen', '--out', d])
      const e = await run(process.execPath, [CLI, 'release', 'build', '--key', join(d, 'hall-release.key'), '--out', d, '--version', 'v1']).catch((x: { code: number; stderr: string }) => x)
      expect(e).toMatchObject({ code: 2, stderr: expect.stringMatching(/--version v1/) })
    } finally {
      await rm(d, { recursive: true, force: true })
    }
  }, 120_000)
})

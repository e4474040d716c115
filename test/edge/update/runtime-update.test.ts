import { afterAll, describe, expect, it } from 'vitest'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { commandExamples } from '../../../edge/protocol/index.ts'
import { VERSION } from '../../../edge/shared/version.ts'
import { harnessPerTest } from '../../support/edge-harness.ts'
import { makeRoot } from './fake-releases.ts'

/** The `update` command at the real runtime (test/support/edge-harness.ts): where it is refused, and the report at start. */
const perTest = harnessPerTest()
const { id: _id, expires: _e, ...ARGS } = commandExamples.update
const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('update at the runtime', () => {
  it('a runtime not run from an installed root refuses update unsupported, saying how to install', async () => {
    const h = await perTest.start()
    await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))
    const r = await h.reply(h.command('update', ARGS))
    expect(r).toMatchObject({ ok: false, code: 'unsupported', message: 'not an installed board (no <root>/current): install with counter-edge install' })
  })

  it('an applicant at the window: busy, whatever the root', async () => {
    const h = await perTest.start()
    await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))
    await h.reply(h.command('call', { ticket: 'A1' }))
    expect(await h.reply(h.command('update', ARGS))).toMatchObject({ ok: false, code: 'busy' })
  })

  it('under an installed root: reports idle at start on the retained update topic, and refuses a release signed by another key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runtime-update-'))
    dirs.push(dir)
    const root = await makeRoot(dir, { [VERSION]: 'healthy' }, VERSION)
    await writeFile(root.publicKey, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }))
    const h = await perTest.start({ root: dir })
    await h.sync()
    const report = h.of('update')[0]
    expect(report).toMatchObject({ retain: true, message: { running: VERSION, state: 'idle', target: null, cmd: null, reason: null } })
    await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))
    expect(await h.reply(h.command('update', ARGS))).toMatchObject({ ok: false, code: 'bad-payload', message: expect.stringMatching(/signature does not match the hall release key/) })
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { createLogger, silentLogger } from '../../../edge/shared/logger.ts'
import { Launcher } from '../../../edge/update/launcher.ts'
import { JOURNAL_FORMAT, type BoardRoot } from '../../../edge/update/board-root.ts'
import { eventually } from '../../support/probe.ts'
import { makeRoot } from './fake-releases.ts'

/** The launcher against real child processes: tiny releases in a temp root (test/edge/update/fake-releases.ts). */
const dirs: string[] = []
const launchers: Launcher[] = []

afterEach(async () => {
  for (const l of launchers.splice(0)) await l.stop()
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'launcher-'))
  dirs.push(d)
  return d
}

const runs = async (root: BoardRoot) => (await readFile(join(root.dir, 'runs.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean)

function launch(root: BoardRoot): Launcher {
  const l = new Launcher({ root, args: ['edge', '--config', '/etc/counter-edge/board.json'], log: silentLogger(), backoff: { minMs: 20, maxMs: 200 }, killGraceMs: 2000, stderr: new PassThrough().resume() })
  launchers.push(l)
  return l
}

async function trial(root: BoardRoot, trying: string, previous: string, deadlineMs: number): Promise<void> {
  await root.point('previous', previous)
  await root.point('current', trying)
  await root.writeJournal({ trying, previous, cmd: 'u-1', deadline: new Date(Date.now() + deadlineMs).toISOString(), rolledBack: null })
}

describe('launcher', () => {
  it('starts current with the runtime\'s arguments and confirms a tried version that says healthy in time', async () => {
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy', '0.2.0': 'healthy' }, '0.1.0')
    await trial(root, '0.2.0', '0.1.0', 30_000)
    await launch(root).start()
    await eventually(async () => (await runs(root)).includes('confirmed 0.2.0'), 10_000, 'the runtime told it was confirmed')
    expect((await runs(root))[0]).toBe('start 0.2.0 edge --config /etc/counter-edge/board.json')
    expect(await root.readJournal()).toMatchObject({ trying: null, deadline: null, previous: '0.1.0', cmd: 'u-1', rolledBack: null })
    expect(await root.versionOf('current')).toBe('0.2.0')
  })

  it('rolls back by itself after a tried version crashes at start three times, saying why, and starts the previous one', async () => {
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy', '0.2.0': 'crash' }, '0.1.0')
    await trial(root, '0.2.0', '0.1.0', 60_000)
    const l = launch(root)
    await l.start()
    await eventually(async () => (await runs(root)).includes('start 0.1.0 edge --config /etc/counter-edge/board.json'), 15_000, 'the previous version started')
    expect((await runs(root)).filter((r) => r.startsWith('start 0.2.0'))).toHaveLength(3)
    const j = await root.readJournal()
    expect(j).toMatchObject({ trying: null, cmd: 'u-1', rolledBack: { from: '0.2.0', to: '0.1.0', reason: expect.stringMatching(/0\.2\.0 exited 3 times before it was online: .*boom at start of 0\.2\.0/) } })
    expect(await root.versionOf('current')).toBe('0.1.0')
    // The previous version, not on trial, is not confirmed again, and keeps running.
    expect(l.starts.map((s) => s.version)).toEqual(['0.2.0', '0.2.0', '0.2.0', '0.1.0'])
  })

  it('a tried version that exits cleanly before it says healthy counts as failing at start: three of them and it rolls back, never a tight loop of starts', async () => {
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy', '0.2.0': 'exits' }, '0.1.0')
    await trial(root, '0.2.0', '0.1.0', 60_000)
    const l = launch(root)
    await l.start()
    await eventually(async () => (await runs(root)).includes('start 0.1.0 edge --config /etc/counter-edge/board.json'), 15_000, 'the previous version started')
    expect(l.starts.map((s) => s.version)).toEqual(['0.2.0', '0.2.0', '0.2.0', '0.1.0'])
    expect(await root.readJournal()).toMatchObject({ trying: null, rolledBack: { from: '0.2.0', to: '0.1.0', reason: expect.stringMatching(/0\.2\.0 exited 3 times before it was online/) } })
  })

  it('rolls back a tried version that never says healthy once its deadline passes', async () => {
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy', '0.3.0': 'silent' }, '0.1.0')
    await trial(root, '0.3.0', '0.1.0', 1_500)
    const deadline = Date.parse((await root.readJournal()).deadline!)
    const l = launch(root)
    await l.start()
    await eventually(async () => (await runs(root)).includes('start 0.1.0 edge --config /etc/counter-edge/board.json'), 15_000, 'the previous version started')
    const j = await root.readJournal()
    expect(j).toMatchObject({ trying: null, rolledBack: { from: '0.3.0', to: '0.1.0', reason: expect.stringMatching(/0\.3\.0 not online with devices answering by its deadline/) } })
    // Not before its deadline, and the tried version was stopped, not left running beside the previous one.
    expect(Date.parse(j.rolledBack!.at)).toBeGreaterThanOrEqual(deadline)
    expect(l.starts.map((s) => s.version)).toEqual(['0.3.0', '0.1.0'])
    expect(l.starts[0]!.pid).toBeDefined()
    expect(() => process.kill(l.starts[0]!.pid!, 0)).toThrow()
    // A slow machine (emulation) may stop it before its first line; once it ran, the stop was its clean SIGTERM.
    const lines = await runs(root)
    if (lines.includes('start 0.3.0 edge --config /etc/counter-edge/board.json')) expect(lines).toContain('stopped 0.3.0')
    expect(await root.versionOf('current')).toBe('0.1.0')
  })

  it('healthy said before the deadline but read in the same turn as the deadline firing: confirmed once, never also rolled back', async () => {
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy', '0.2.0': 'healthy-logged' }, '0.1.0')
    await trial(root, '0.2.0', '0.1.0', 1_000)
    const deadline = Date.parse((await root.readJournal()).deadline!)
    const l = launch(root)
    await l.start()
    // A busy board: the launcher's event loop is held (synchronously, as a long task holds it) until the tried
    // version has put `healthy` on the channel and the deadline has passed, so the next turn has both at once.
    const log = join(root.dir, 'runs.log')
    const said = () => {
      try {
        return readFileSync(log, 'utf8').includes('said healthy')
      } catch {
        return false
      }
    }
    const until = Date.now() + 20_000
    while ((!said() || Date.now() <= deadline + 50) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
    expect(said()).toBe(true)
    // The barrier: the version on trial was told it is confirmed, which comes after the verdict.
    await eventually(async () => (await runs(root)).includes('confirmed 0.2.0'), 10_000, 'the runtime told it was confirmed')
    expect(await root.readJournal()).toMatchObject({ trying: null, deadline: null, rolledBack: null })
    expect(await root.versionOf('current')).toBe('0.2.0')
    expect(await runs(root)).not.toContain('stopped 0.2.0')
    expect(l.starts.map((s) => s.version)).toEqual(['0.2.0'])
  })

  it('a launcher started after the deadline already passed (the whole board restarted) rolls back before starting anything', async () => {
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy', '0.3.0': 'silent' }, '0.1.0')
    await trial(root, '0.3.0', '0.1.0', -1_000)
    await launch(root).start()
    await eventually(async () => (await runs(root)).length > 0, 10_000, 'a start')
    expect((await runs(root))[0]).toMatch(/^start 0\.1\.0/)
    expect((await root.readJournal()).rolledBack).toMatchObject({ from: '0.3.0', to: '0.1.0' })
  })

  it('a power cut after update.json named the trial but before current was switched: the running version stays, no downgrade to an older one', async () => {
    // 0.2.0 runs, 0.1.0 is the version before it; the installer for 0.3.0 wrote update.json (edge/update/installer.ts) and the power went.
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy', '0.2.0': 'healthy', '0.3.0': 'healthy' }, '0.2.0', '0.1.0')
    await root.writeJournal({ trying: '0.3.0', previous: '0.2.0', cmd: 'u-9', deadline: new Date(Date.now() + 60_000).toISOString(), rolledBack: null })
    const l = launch(root)
    await l.start()
    await eventually(async () => (await runs(root)).length > 0, 10_000, 'a start')
    // The barrier: the trial is over as soon as the launcher has looked, before anything started.
    expect(await root.readJournal()).toMatchObject({ trying: null, deadline: null, cmd: 'u-9', rolledBack: { from: '0.3.0', to: '0.2.0', reason: expect.stringMatching(/0\.3\.0 was never switched to .*0\.2\.0 kept/) } })
    expect(await root.versionOf('current')).toBe('0.2.0')
    expect(l.starts.map((s) => s.version)).toEqual(['0.2.0'])
  })

  it('the board restarted after such a cut past the trial\'s deadline: the running version starts, not the one before it', async () => {
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy', '0.2.0': 'healthy', '0.3.0': 'healthy' }, '0.2.0', '0.1.0')
    await root.writeJournal({ trying: '0.3.0', previous: '0.2.0', cmd: 'u-9', deadline: new Date(Date.now() - 1_000).toISOString(), rolledBack: null })
    const l = launch(root)
    await l.start()
    await eventually(async () => (await runs(root)).length > 0, 10_000, 'a start')
    expect((await runs(root))[0]).toMatch(/^start 0\.2\.0/)
    expect(await root.versionOf('current')).toBe('0.2.0')
    expect((await root.readJournal()).rolledBack).toMatchObject({ from: '0.3.0', to: '0.2.0' })
  })

  it('restarts a runtime that crashes when nothing is on trial, without touching current', async () => {
    const root = await makeRoot(await tempDir(), { '0.2.0': 'crash' }, '0.2.0')
    await launch(root).start()
    await eventually(async () => (await runs(root)).length >= 4, 15_000, 'restarts')
    expect(await root.versionOf('current')).toBe('0.2.0')
    expect((await root.readJournal()).rolledBack).toBeNull()
  })

  it('an update.json from a newer release (higher format, a field this one does not know) still starts the board, with a bilingual warning', async () => {
    const root = await makeRoot(await tempDir(), { '0.1.0': 'healthy' }, '0.1.0')
    // What a newer release could write before being rolled back to this one.
    await writeFile(root.journalFile, JSON.stringify({ format: JOURNAL_FORMAT + 1, trying: null, previous: '0.0.9', cmd: 'u-7', deadline: null, rolledBack: null, stagedAt: '2026-12-06T08:00:00Z' }))
    const lines: Array<Record<string, unknown>> = []
    const out = new PassThrough()
    out.on('data', (d: Buffer) => d.toString().split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)))
    const l = new Launcher({ root, args: ['edge'], log: createLogger({ name: 'test', pretty: false, destination: out }), backoff: { minMs: 20, maxMs: 200 }, killGraceMs: 2000, stderr: new PassThrough().resume() })
    launchers.push(l)
    await l.start()
    await eventually(async () => (await runs(root)).includes('start 0.1.0 edge'), 10_000, 'the runtime started')
    expect(await root.readJournal()).toMatchObject({ previous: '0.0.9', cmd: 'u-7', trying: null })
    const warning = lines.find((x) => x.format === JOURNAL_FORMAT + 1)
    expect(String(warning?.msg)).toMatch(/较新的版本.*newer release/)
  })
})

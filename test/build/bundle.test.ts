import { describe, it, expect, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildDist } from '../../cli/build/bundle.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub } from '../../hub/main.ts'
import { HubTap, writeBoardCredentials } from '../support/hub-tap.ts'
import { boardUnitNodeFlags } from '../support/systemd-units.ts'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const HALL = 'hall-b'

describe('npm run build: the CLI for boards, without the TypeScript loader', () => {
  const out = join(REPO, '.tmp', `dist-test-${process.pid}`)
  let dir: string

  afterAll(async () => {
    await rm(out, { recursive: true, force: true })
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('builds a dist whose edge command, started as the board unit starts it, comes online at a hub and stops cleanly', async () => {
    const { entry } = await buildDist(out)
    const flags = await boardUnitNodeFlags()
    expect(flags).toContain('--lite-mode')
    const files = await readdir(out)
    for (const f of files.filter((f) => /\.[mc]?js$/.test(f))) expect(await readFile(join(out, f), 'utf8'), f).not.toMatch(/from ["']tsx/)

    dir = await mkdtemp(join(tmpdir(), 'dist-'))
    const creds = await writeBoardCredentials(dir, HALL, 'w01')
    const hub = await startHub({ hall: HALL, port: 0, credentialsFile: creds.credentialsFile }, silentLogger())
    const tap = await HubTap.attach(hub, `hall/${HALL}/counter/w01/status`)
    try {
      const config = join(dir, 'board.json')
      await writeFile(config, JSON.stringify({ hall: HALL, counter: 'w01', board: 'sim-window', hub: [`mqtt://127.0.0.1:${hub.port}`], username: creds.board.username, password: creds.board.password, dataDir: join(dir, 'data') }))
      const child = spawn(process.execPath, [...flags, entry, 'edge', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_FORMAT: 'json' } })
      let output = ''
      child.stdout.on('data', (d: Buffer) => (output += d.toString()))
      child.stderr.on('data', (d: Buffer) => (output += d.toString()))
      // 'close', not 'exit': what it printed as it stopped can still be in the pipe when it has exited.
      const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)))
      const birth = await tap.waitFor((m) => m.payload.online === true, 30_000, 'the built edge online')
      expect(birth.payload).toMatchObject({ board: 'sim-window' })
      child.kill('SIGTERM')
      expect(await exited, output).toBe(0)
      expect(output).toMatch(/edge runtime started/)
      // V8 warns on stderr when a flag the unit gives conflicts with another: nothing of the sort in a board's journal.
      expect(output).not.toMatch(/Warning: disabling flag/)
    } finally {
      await hub.stop()
    }
  })

  it('prints the version from package.json, as the launcher does', async () => {
    const { entry } = await buildDist(out)
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }
    const child = spawn(process.execPath, [entry, '--version'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.on('data', (d: Buffer) => (text += d.toString()))
    // 'close', not 'exit': the version, its one line, can still be in the pipe when it has exited.
    await new Promise((r) => child.once('close', r))
    expect(text.trim()).toBe(pkg.version)
  })
})

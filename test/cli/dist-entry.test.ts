import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Script } from 'node:vm'
import { fileURLToPath } from 'node:url'
import { buildDist } from '../../cli/build/bundle.ts'
import { codeCacheFile, readCacheFile, writeCacheFile } from '../../cli/bundle-code-cache.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { HubTap, writeBoardCredentials, type BoardLogin } from '../support/hub-tap.ts'
import { boardUnitNodeFlags } from '../support/systemd-units.ts'
import { eventually } from '../support/probe.ts'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const HALL = 'hall-cc'
const COUNTER = 'w01'

interface LogLine {
  msg?: string
  level?: number
  [k: string]: unknown
}

/** `counter-edge edge` from dist/, started as the board unit starts it; its JSON log lines as they come. */
class BoardProcess {
  readonly lines: LogLine[] = []
  private text = ''
  private readonly exited: Promise<number | null>

  constructor(readonly child: ChildProcess) {
    const take = (d: Buffer) => {
      this.text += d.toString()
      let nl: number
      while ((nl = this.text.indexOf('\n')) >= 0) {
        const line = this.text.slice(0, nl)
        this.text = this.text.slice(nl + 1)
        try {
          this.lines.push(JSON.parse(line) as LogLine)
        } catch {
          this.lines.push({ msg: line })
        }
      }
    }
    child.stdout!.on('data', take)
    child.stderr!.on('data', take)
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)))
  }

  line(msg: string): Promise<LogLine> {
    return eventually(() => this.lines.find((l) => l.msg === msg) ?? Promise.reject(new Error(`no "${msg}" yet: ${this.lines.map((l) => l.msg).join(' | ')}`)), 20_000, msg)
  }

  has(msg: string): boolean {
    return this.lines.some((l) => l.msg === msg)
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM')
    return this.exited
  }
}

describe('dist/counter-edge.js edge: the board bundle compiled with its own code cache', () => {
  const out = join(REPO, '.tmp', `dist-cc-test-${process.pid}`)
  let dir: string
  let hub: RunningHub
  let tap: HubTap
  let board: BoardLogin
  let flags: string[]
  let boardBundle: string
  const boots = new Set<unknown>()

  beforeAll(async () => {
    ;({ board: boardBundle } = await buildDist(out))
    flags = await boardUnitNodeFlags()
    dir = await mkdtemp(join(tmpdir(), 'dist-cc-'))
    const creds = await writeBoardCredentials(dir, HALL, COUNTER)
    board = creds.board
    hub = await startHub({ hall: HALL, port: 0, credentialsFile: creds.credentialsFile }, silentLogger())
    tap = await HubTap.attach(hub, `hall/${HALL}/counter/${COUNTER}/status`)
  }, 60_000)

  afterAll(async () => {
    await hub?.stop()
    await rm(out, { recursive: true, force: true })
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  async function config(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const path = join(dir, `${name}.json`)
    await writeFile(path, JSON.stringify({ hall: HALL, counter: COUNTER, board: 'sim-window', hub: [`mqtt://127.0.0.1:${hub.port}`], username: board.username, password: board.password, ...extra }))
    return path
  }

  /** Starts the board and waits for its birth at the hub (a boot not seen before). */
  async function startOnline(configPath: string, env: Record<string, string> = {}): Promise<BoardProcess> {
    const p = new BoardProcess(
      spawn(process.execPath, [...flags, join(out, 'counter-edge.js'), 'edge', '--config', configPath], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_FORMAT: 'json', STATE_DIRECTORY: '', ...env },
      }),
    )
    const birth = await tap.waitFor((m) => m.payload.online === true && !boots.has(m.payload.boot), 30_000, 'a new birth')
    boots.add(birth.payload.boot)
    return p
  }

  it('writes the cache once online, and the next start compiles from it (V8 does not reject it)', async () => {
    const dataDir = join(dir, 'data-a')
    const cfg = await config('a', { dataDir })
    const file = codeCacheFile(join(dataDir, 'code-cache'), boardBundle)

    const first = await startOnline(cfg)
    const saved = await first.line('code cache of the board bundle saved')
    expect(saved).toMatchObject({ file, before: 'none' })
    expect(readCacheFile(file)).toHaveProperty('data')
    expect(await first.stop()).toBe(0)
    const written = (await stat(file)).mtimeMs

    const second = await startOnline(cfg)
    expect(await second.line('started from the code cache of the board bundle')).toMatchObject({ file })
    // A start that used the cache schedules no save at all (cli/board-main.ts), so the file stays as written.
    expect(second.has('code cache of the board bundle saved')).toBe(false)
    expect(await second.stop()).toBe(0)
    expect((await stat(file)).mtimeMs).toBe(written)
    expect(await readdir(join(dataDir, 'code-cache'))).toEqual([file.split('/').pop()])
  }, 90_000)

  it('a damaged cache, or one V8 refuses, is ignored: the runtime comes online and the file is written anew', async () => {
    const dataDir = join(dir, 'data-b')
    const cfg = await config('b', { dataDir })
    const file = codeCacheFile(join(dataDir, 'code-cache'), boardBundle)
    await mkdir(join(dataDir, 'code-cache'), { recursive: true })

    // Damaged: bytes that are no cache file at all.
    await writeFile(file, Buffer.from('not a cache, half a write from a power cut'))
    const damaged = await startOnline(cfg)
    expect(await damaged.line('code cache of the board bundle saved')).toMatchObject({ file, before: 'not a code cache file' })
    expect(await damaged.stop()).toBe(0)
    expect(readCacheFile(file)).toHaveProperty('data')

    // Foreign: a sound file (our header, a right checksum) holding the cache of another script, which V8 itself refuses.
    const other = new Script('(function () { return 42 })()', { filename: 'other.js' })
    other.runInThisContext()
    writeCacheFile(file, other.createCachedData())
    const foreign = await startOnline(cfg)
    expect(await foreign.line('code cache of the board bundle saved')).toMatchObject({ file, before: expect.stringMatching(/rejected/) })
    expect(await foreign.stop()).toBe(0)

    const again = await startOnline(cfg)
    await again.line('started from the code cache of the board bundle')
    expect(await again.stop()).toBe(0)
  }, 120_000)

  it('a place where the cache cannot be written does not stop the board: it comes online, says so, and stops cleanly', async () => {
    const dataDir = join(dir, 'data-c')
    const cfg = await config('c', { dataDir })
    await mkdir(dataDir, { recursive: true })
    // A file where the cache's folder would be: no folder can be made there, whoever the test runs as.
    await writeFile(join(dataDir, 'code-cache'), 'in the way')
    const p = await startOnline(cfg)
    const warned = await p.line('代码缓存未保存，下次启动照常编译 / code cache not saved; the next start compiles as usual')
    expect(String(warned.reason)).toMatch(/code-cache/)
    expect(p.has('edge runtime started')).toBe(true)
    expect(await p.stop()).toBe(0)
  }, 90_000)

  it('COUNTER_EDGE_CODE_CACHE=off runs the board from the ESM build as before and writes no cache', async () => {
    const dataDir = join(dir, 'data-d')
    const cfg = await config('d', { dataDir })
    const p = await startOnline(cfg, { COUNTER_EDGE_CODE_CACHE: 'off' })
    expect(await p.stop()).toBe(0)
    expect(p.has('edge runtime started')).toBe(true)
    expect(p.lines.some((l) => /code cache/.test(l.msg ?? ''))).toBe(false)
    await expect(stat(join(dataDir, 'code-cache'))).rejects.toMatchObject({ code: 'ENOENT' })
  }, 60_000)
})

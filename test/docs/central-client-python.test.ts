import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const CLIENT = join(root, 'docs/examples/central_client.py')
const HALL = 'hall-1'

/** Debian's python3, where python3-paho-mqtt installs (test/setup/debian-packages.mjs provides both). */
const PYTHON = '/usr/bin/python3'

function needPaho(): void {
  if (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import paho.mqtt.client']).status !== 0) {
    throw new Error('python3 with paho-mqtt is missing: npm test installs it as root, or run: sudo apt-get install -y python3-paho-mqtt')
  }
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function runPython(args: string[], timeoutMs = 25_000): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(PYTHON, [CLIENT, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`central_client.py did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, timeoutMs)
    child.once('error', reject)
    // 'close', not 'exit': its last lines can still be in the pipe when it has exited.
    child.once('close', (code) => {
      clearTimeout(timer)
      resolveRun({ code, stdout, stderr })
    })
  })
}

const explain = (run: Run) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`

describe('docs/examples/central_client.py', () => {
  it('compiles (py_compile)', async () => {
    needPaho()
    const dir = await mkdtemp(join(tmpdir(), 'py-compile-'))
    try {
      // Compiled into a throwaway place, so no __pycache__ is left in docs/.
      const r = spawnSync(PYTHON, ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)', CLIENT, join(dir, 'c.pyc')], { encoding: 'utf8' })
      expect(r.status, r.stderr).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  describe('with paho-mqtt, against a simulated hall without traffic', () => {
    let sim: SimHall

    beforeAll(async () => {
      needPaho()
      sim = await startSimHall({ hall: HALL, windows: 2, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, speed: 20, board: 'sim-window', traffic: false, log: silentLogger() })
    })
    afterAll(async () => {
      await sim?.stop()
    })

    const args = (counter: string, extra: string[] = []) => ['--url', sim.centralUrl, '--control', sim.control.url, '--hall', HALL, '--counter', counter, ...extra]

    it('signs an officer in, calls, starts, captures, finishes and gets the rating, exit 0', async () => {
      const run = await runPython(args('w01', ['--ticket', 'P042', '--press', 'satisfied']))
      expect(run.code, explain(run)).toBe(0)
      expect(run.stdout).toContain('window w01 online')
      expect(run.stdout).toContain('-> officer')
      expect(run.stdout).toContain('P042 is on the display of window w01')
      expect(run.stdout).toContain('photo captured')
      expect(run.stdout).toContain('P042 rated satisfied at window w01 (officer P10482')
      expect(run.stdout).toContain('0 contract violations')
      expect(sim.windows.get('w01')!.running!.window.current).toMatchObject({ mode: 'idle', ticket: null, officer: { id: 'P10482' } })
    }, 30_000)

    it('a counter the hall does not have: the hub answers unknown-counter, exit 3', async () => {
      const run = await runPython(args('w77'))
      expect(run.code, explain(run)).toBe(3)
      expect(run.stdout).toContain('unknown-counter')
    }, 30_000)

    it('bad arguments: exit 2', async () => {
      const run = await runPython(['--capture', 'retina'], 15_000)
      expect(run.code, explain(run)).toBe(2)
      expect(run.stderr).toContain('--capture')
    }, 20_000)
  })
})

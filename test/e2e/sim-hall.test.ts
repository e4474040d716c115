import { describe, it, expect, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { eventually } from '../support/probe.ts'

const CLI = fileURLToPath(new URL('../../edge/cli/counter-edge.mjs', import.meta.url))

/** `npm start` as a person runs it, on free ports: calls and ratings flow, the control API answers, Ctrl-C stops cleanly. */
describe('the simulated hall (npm start)', () => {
  let child: ChildProcess | null = null
  let out = ''
  let err = ''

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL')
  })

  it('runs windows that get calls and ratings, answers the control API, and stops on Ctrl-C', async () => {
    child = spawn(process.execPath, [CLI, 'sim', '--windows', '3', '--hub-port', '0', '--central-port', '0', '--control-port', '0', '--dashboard-port', '0', '--speed', '400'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_FORMAT: 'json' },
    })
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    const api = await eventually(() => /control API \(HTTP JSON\):\s+(http:\S+)/.exec(out)?.[1], 30_000, `the control API address in the output (stderr: ${err})`)

    const windows = (await (await fetch(`${api}/windows`)).json()) as Array<{ counter: string; online: boolean }>
    expect(windows.map((w) => w.counter)).toEqual(['w01', 'w02', 'w03'])

    // The central stub calls tickets and simulated applicants rate them: both show in the output.
    await eventually(() => /[ABC]\d{3} → window w0\d/.test(out), 30_000, 'a call line')
    await eventually(() => /window w0\d: [ABC]\d{3} rated (satisfied|neutral|dissatisfied)/.test(out), 60_000, 'a rating line')

    // What a display shows is readable, and a bad request is told what exists.
    const view = (await (await fetch(`${api}/windows/w01/display`)).json()) as { text: string; lit: boolean }
    expect(typeof view.text).toBe('string')
    const missing = await fetch(`${api}/windows/w99/display`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: string }).error).toMatch(/w01, w02, w03/)
    const badKey = await fetch(`${api}/windows/w01/keys/excellent/press`, { method: 'POST' })
    expect(badKey.status).toBe(400)

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)))
    child.kill('SIGINT')
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))])
    expect(code, `stdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`).toBe(0)
    expect(out).toMatch(/stopped cleanly/)
  }, 120_000)
})

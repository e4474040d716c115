import { describe, it, expect, afterAll } from 'vitest'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { eventually } from '../support/probe.ts'
import { settlesWithin } from '../support/deadline.ts'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))

/** `npm start` as a person runs it, on free ports: calls and ratings flow, the control API answers, Ctrl-C stops cleanly. */
describe('the simulated hall (npm start)', () => {
  let child: ChildProcess | null = null
  let ownWindow: ChildProcess | null = null
  let out = ''
  let err = ''
  let dir = ''
  let announcerDir = ''

  afterAll(async () => {
    if (announcerDir) await rm(announcerDir, { recursive: true, force: true })
    if (child && child.exitCode === null) child.kill('SIGKILL')
    if (ownWindow && ownWindow.exitCode === null) ownWindow.kill('SIGKILL')
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** A command line the banner prints, run as a person would paste it, with `npx counter-edge` being this checkout's CLI. */
  const asPasted = (line: string) => line.trim().replace(/^npx counter-edge /, `exec "${process.execPath}" "${CLI}" `)

  it('runs windows that get calls and ratings, answers the control API, takes a window provisioned by its printed recipe, and stops on Ctrl-C', async () => {
    announcerDir = await mkdtemp(join(tmpdir(), 'sim-announcer-'))
    child = spawn(process.execPath, [CLI, 'sim', '--windows', '3', '--hub-port', '0', '--central-port', '0', '--control-port', '0', '--dashboard-port', '0', '--speed', '400', '--announcer-dir', announcerDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_FORMAT: 'json' },
    })
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    const api = await eventually(() => /control API \(HTTP JSON\):\s+(http:\S+)/.exec(out)?.[1], 30_000, `the control API address in the output (stderr: ${err})`)

    const windows = (await (await fetch(`${api}/windows`)).json()) as Array<{ counter: string; online: boolean }>
    expect(windows.map((w) => w.counter)).toEqual(['w01', 'w02', 'w03'])

    // The central stub calls tickets and simulated applicants rate them: both show in the output.
    // Lines for a person: Chinese with English beside.
    await eventually(() => /[ABC]\d{3} → w0\d 窗口 \/ window w0\d/.test(out), 30_000, 'a call line')
    await eventually(() => /w0\d 窗口 \/ window w0\d: [ABC]\d{3} 评价 (满意|基本满意|不满意) \/ rated (satisfied|neutral|dissatisfied)/.test(out), 60_000, 'a rating line')
    // The hall's voice caller says the calls into WAV files, where the banner says (issue 17).
    expect(out).toContain(`hall announcer (voice, as WAV):    ${join(announcerDir, 'announcements')}   (语音播报 working)`)
    await eventually(async () => (await readdir(join(announcerDir, 'announcements')).catch(() => [])).some((f) => /^\d{6}-w0\d-[ABC]\d{3}\.wav$/.test(f)), 30_000, 'an announcement WAV')

    // What a display shows is readable, and a bad request is told what exists.
    const view = (await (await fetch(`${api}/windows/w01/display`)).json()) as { text: string; lit: boolean }
    expect(typeof view.text).toBe('string')
    // The even windows have pixel screens: their picture is served as a PNG, and the banner says where.
    expect(out).toMatch(/windows\/w02\/screen\.png/)
    const png = await fetch(`${api}/windows/w02/screen.png`)
    expect(png.status).toBe(200)
    expect(png.headers.get('content-type')).toBe('image/png')
    expect(Buffer.from(await png.arrayBuffer()).readUInt32BE(16)).toBe(64 * 4)
    const missing = await fetch(`${api}/windows/w99/display`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: string }).error).toMatch(/w01, w02, w03/)
    const badKey = await fetch(`${api}/windows/w01/keys/excellent/press`, { method: 'POST' })
    expect(badKey.status).toBe(400)

    // The banner's recipe for a window of one's own: provision it, start it, and the technician's status shows it online.
    dir = await mkdtemp(join(tmpdir(), 'sim-own-window-'))
    const provision = /add a window of your own:\s+(npx counter-edge provision .*)\n\s+(npx counter-edge edge .*)\n/.exec(out)
    expect(provision, out).not.toBeNull()
    await promisify(execFile)('sh', ['-c', asPasted(provision![1]!)], { cwd: dir })
    let ownOut = ''
    ownWindow = spawn('sh', ['-c', asPasted(provision![2]!)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_FORMAT: 'json' } })
    ownWindow.stdout!.on('data', (d: Buffer) => (ownOut += d.toString()))
    ownWindow.stderr!.on('data', (d: Buffer) => (ownOut += d.toString()))
    const status = /technician CLI:\s+(npx counter-edge status .*)\n/.exec(out)![1]!
    await eventually(
      async () => {
        const { stdout } = await promisify(execFile)('sh', ['-c', `${asPasted(status)} --json`], { cwd: dir })
        const rows = JSON.parse(stdout) as Array<{ counter: string; status?: { online?: boolean } }>
        return rows.find((r) => r.counter === 'w04')?.status?.online === true
      },
      30_000,
      `window w04 online in the technician's status (its output: ${ownOut})`,
    )
    const ownExited = new Promise<number | null>((r) => ownWindow!.once('exit', (code) => r(code)))
    ownWindow.kill('SIGTERM')
    expect(await ownExited, ownOut).toBe(0)

    // 'close', not 'exit': the last lines (stopped cleanly) can still be in the pipe when the process has exited.
    const exited = new Promise<number | null>((r) => child!.once('close', (code) => r(code)))
    child.kill('SIGINT')
    const code = (await settlesWithin(exited, 15_000)) ? await exited : 'timeout'
    expect(code, `stdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`).toBe(0)
    expect(out).toMatch(/stopped cleanly/)
    // Every board's link ends at once: the hub's writes to them are no malformed packets (issue 21).
    expect(out + err).not.toMatch(/write after end|malformed packet/)
  }, 120_000)
})

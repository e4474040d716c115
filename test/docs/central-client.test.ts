import { spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { eventExamples, extraExamples, messageExamples } from '../../edge/protocol/index.ts'
// Importing the example also brings it into the type-checked program (tsconfig does not include docs/).
import { CentralClient, parseOptions, type ClientOptions } from '../../docs/examples/central-client.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const CLIENT = join(root, 'docs/examples/central-client.ts')
const HALL = 'hall-1'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the example exactly as the docs say, in its own process (Node 20 + tsx 4: `node --import tsx`). */
function runClient(args: string[], timeoutMs = 25_000): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`central-client did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, timeoutMs)
    child.once('error', reject)
    // 'close', not 'exit': its last lines can still be in the pipe when it has exited.
    child.once('close', (code) => {
      clearTimeout(timer)
      resolveRun({ code, stdout, stderr })
    })
  })
}

function explain(run: Run): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`
}

describe('docs/examples/central-client.ts against a simulated hall without traffic', () => {
  let sim: SimHall

  beforeAll(async () => {
    sim = await startSimHall({
      hall: HALL,
      windows: 2,
      host: '127.0.0.1',
      hubPort: 0,
      centralPort: 0,
      controlPort: 0,
      speed: 20,
      board: 'sim-window',
      traffic: false,
      log: silentLogger(),
    })
  })

  afterAll(async () => {
    await sim?.stop()
  })

  function args(counter: string, extra: Partial<Record<keyof ClientOptions, string>> = {}): string[] {
    const all: Record<string, string | undefined> = { url: sim.centralUrl, control: sim.control.url, hall: HALL, counter, ...extra }
    return Object.entries(all).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, v]))
  }

  it('signs an officer in, calls, starts, captures, finishes and gets the rating, exit 0', async () => {
    const run = await runClient(args('w02', { ticket: 'B042', press: 'satisfied' }))
    expect(run.code, explain(run)).toBe(0)
    expect(run.stdout).toContain('window w02 online')
    expect(run.stdout).toContain('→ officer')
    expect(run.stdout).toContain('B042 is on the display of window w02')
    expect(run.stdout).toMatch(/photo captured in \d+ ms/)
    expect(run.stdout).toContain('★ B042 rated satisfied at window w02 (officer P10482')
    expect(run.stdout).toContain('0 contract violations')
    // The board really did it: the window is idle again, with the officer still signed in; w01 was never touched.
    const w02 = sim.windows.get('w02')!.running!.window.current
    expect(w02).toMatchObject({ mode: 'idle', ticket: null, officer: { id: 'P10482' } })
    expect(sim.windows.get('w01')!.running!.window.current.mode).toBe('closed')
  }, 30_000)

  it('at an open window skips sign-in; a capture that fails is reported and the service goes on', async () => {
    const fault = await fetch(`${sim.control.url}/api/windows/w02/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'fingerprint', fault: 'never' }),
    })
    expect(fault.status).toBe(200)
    try {
      const run = await runClient(args('w02', { ticket: 'C007', capture: 'fingerprint', press: 'neutral' }))
      expect(run.code, explain(run)).toBe(0)
      expect(run.stdout).not.toContain('→ officer')
      expect(run.stdout).toMatch(/fingerprint capture failed \(timeout/)
      expect(run.stdout).toContain('★ C007 rated neutral')
    } finally {
      await fetch(`${sim.control.url}/api/windows/w02/faults`, { method: 'POST', body: JSON.stringify({ device: 'fingerprint', fault: 'none' }) })
    }
  }, 30_000)

  it('refuses bad arguments with exit 2 and the usage', async () => {
    const run = await runClient(['--ticket', 'a-1'], 15_000)
    expect(run.code, explain(run)).toBe(2)
    expect(run.stderr).toContain('--ticket "a-1"')
    expect(run.stderr).toContain('usage: central-client')
  }, 20_000)
})

describe('central-client bookkeeping (what docs/integration.md asks of every central system)', () => {
  const base = `hall/${HALL}/counter/w05`
  function client() {
    const lines: string[] = []
    const options = parseOptions(['--counter', 'w05'])
    if (options === 'help') throw new Error('unexpected help')
    return { c: new CentralClient(options, (l) => lines.push(l)), lines }
  }
  const birth = messageExamples.status
  const send = (c: CentralClient, topic: string, payload: unknown) => c.handle(topic, JSON.stringify(payload))

  it('drops a redelivered message by id, and counts it', () => {
    const { c, lines } = client()
    send(c, `${base}/event/called`, eventExamples.called)
    send(c, `${base}/event/called`, eventExamples.called)
    expect(c.counts).toMatchObject({ messages: 2, duplicates: 1 })
    expect(lines.filter((l) => l.startsWith('← event called'))).toHaveLength(1)
  })

  it('names a bad rating for follow-up, once, by its service record', () => {
    const { c, lines } = client()
    send(c, `${base}/event/rating-alert`, eventExamples['rating-alert'])
    send(c, `${base}/event/rating-alert`, eventExamples['rating-alert'])
    const alerts = lines.filter((l) => l.includes('差评提醒'))
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toContain(`record ${eventExamples['rating-alert'].record}`)
    expect(alerts[0]).toContain('不满意')
  })

  it('ignores a late will from an earlier boot, but takes one from the current boot', () => {
    const { c, lines } = client()
    send(c, `${base}/status`, birth)
    send(c, `${base}/status`, { ...extraExamples.statusOffline, id: 'old-boot-will', boot: 'oldboot1' })
    expect(c.window).toMatchObject({ online: true, boot: birth.boot })
    expect(lines.join('\n')).toContain('ignored an offline status (will) from boot oldboot1')
    send(c, `${base}/status`, extraExamples.statusOffline)
    expect(c.window).toMatchObject({ online: false, boot: birth.boot })
  })

  it('keeps the newest state of the current boot by seq, and holds a state of a newer boot until its birth', () => {
    const { c } = client()
    send(c, `${base}/status`, birth)
    send(c, `${base}/state`, messageExamples.state)
    send(c, `${base}/state`, { ...messageExamples.state, id: 'older-state', seq: messageExamples.state.seq - 5, mode: 'idle', ticket: null })
    expect(c.window.state?.mode).toBe('serving')
    const reborn = { ...messageExamples.state, id: 'new-boot-state', boot: 'newboot1', seq: 3, mode: 'closed', ticket: null, officer: null }
    send(c, `${base}/state`, reborn)
    expect(c.window.state?.boot).toBe(birth.boot)
    send(c, `${base}/status`, { ...birth, id: 'new-boot-birth', boot: 'newboot1', seq: 0 })
    expect(c.window).toMatchObject({ online: true, boot: 'newboot1', state: { mode: 'closed', boot: 'newboot1' } })
  })

  it('never acts on a message that breaks the contract; it counts and names it', () => {
    const { c, lines } = client()
    c.handle(`${base}/event/evaluated`, JSON.stringify({ ...eventExamples.evaluated, score: 'very-satisfied' }))
    c.handle(`${base}/state`, 'not json')
    expect(c.counts).toMatchObject({ violations: 2, messages: 0 })
    expect(lines[0]).toContain('bad-payload')
    expect(lines[1]).toContain('bad-json')
  })
})

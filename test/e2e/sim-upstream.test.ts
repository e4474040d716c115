import { describe, it, expect, afterEach } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { topics, type CommandName, type EvaluationScore } from '../../edge/protocol/index.ts'
import { startMosquitto, type RunningMosquitto } from '../support/mosquitto.ts'
import { CentralRatings, tallyRatings, type CentralReply } from '../support/central-ratings.ts'
import { freePort } from '../support/ports.ts'
import { letTimePass } from '../support/pace.ts'
import { eventually } from '../support/probe.ts'
import { settlesWithin } from '../support/deadline.ts'

/**
 * Issue 23, done when: `counter-edge sim --upstream` against a real Mosquitto
 * as the integrator's central broker, the hub and each window a process of its
 * own (`--process-per-window`). A central driver on Mosquitto signs officers
 * in, calls, starts and finishes services; the applicant's key is pressed
 * through the hall's control API (forwarded to the window's own process).
 * Mid-traffic one window and then the hub are killed with SIGKILL, the
 * simulator starts them again, and central counts as docs/integration.md
 * tells it to: after dedup by id, every served service has exactly one
 * outcome, every rating arrived, none twice.
 *
 *   window processes (edge --control <socket>) ──▶ hub process (data dir) ──bridge──▶ Mosquitto ◀── central (this test)
 *        ▲ keys                                                                                   
 *   sim's control API ◀── this test
 *
 * SIM_UPSTREAM_E2E_SECONDS=<n> drives n seconds of traffic instead of 12
 * (`npm run soak:sim-upstream` runs ten minutes).
 */

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))
const HALL = 'h23'
const WINDOWS = 2
const RUN_MS = Number(process.env.SIM_UPSTREAM_E2E_SECONDS ?? 12) * 1_000
const SCORES: EvaluationScore[] = ['satisfied', 'neutral', 'dissatisfied']

interface WindowView {
  counter: string
  online: boolean
  mode: string | null
  ticket: string | null
}

let mosquitto: RunningMosquitto | null = null
let ratings: CentralRatings | null = null
let driver: MqttClient | null = null
let sim: ChildProcess | null = null
let dir: string | null = null

afterEach(async () => {
  if (sim && sim.exitCode === null && sim.signalCode === null) {
    const exited = new Promise<void>((r) => sim!.once('exit', () => r()))
    sim.kill('SIGTERM')
    await settlesWithin(exited, 20_000)
    if (sim.exitCode === null && sim.signalCode === null) sim.kill('SIGKILL')
  }
  sim = null
  await driver?.endAsync(true).catch(() => {})
  driver = null
  await ratings?.close()
  ratings = null
  await mosquitto?.stop()
  mosquitto = null
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = null
})

describe('sim --upstream --process-per-window against a real Mosquitto (issue 23)', () => {
  it('every rating reaches the integrator’s broker once after dedup, through SIGKILL of a window and of the hub', async () => {
    mosquitto = await startMosquitto()
    // Central's persistent session exists before the hall does: nothing the bridge sends can pass it by.
    ratings = await CentralRatings.start(mosquitto.url, HALL)
    driver = await mqtt.connectAsync(mosquitto.url, { clientId: `central-driver-${HALL}`, reconnectPeriod: 200, connectTimeout: 5_000 })
    ;(driver.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true)
    dir = await mkdtemp(join(tmpdir(), 'sim-upstream-'))
    const [hubPort, controlPort, dashboardPort, centralPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
    let output = ''
    sim = spawn(
      process.execPath,
      [
        CLI, 'sim', '--upstream', mosquitto.url, '--process-per-window', '--windows', String(WINDOWS), '--hall', HALL,
        '--hub-port', String(hubPort), '--control-port', String(controlPort), '--dashboard-port', String(dashboardPort), '--central-port', String(centralPort),
        '--data-dir', join(dir, 'hall'), '--no-announcer', '--screen-board', 'same',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    sim.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)))
    sim.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)))
    const api = `http://127.0.0.1:${controlPort}/api`

    const get = async <T,>(path: string): Promise<T | null> => {
      const r = await fetch(`${api}${path}`).catch(() => null)
      return r && r.ok ? ((await r.json()) as T) : null
    }
    const processes = async () => (await get<{ processes: Record<string, { pid: number | null; restarts: number }> }>(''))?.processes ?? null
    const allOnline = async () => {
      const ws = await get<WindowView[]>('/windows')
      return ws !== null && ws.length === WINDOWS && ws.every((w) => w.online)
    }
    await eventually(allOnline, 90_000, `every window online through the control API; sim said: ${output}`, 250)

    let cmdNo = 0
    const servedCmds = new Set<string>()
    const problems: string[] = []
    const command = async (counter: string, name: CommandName, args: Record<string, unknown>): Promise<CentralReply | null> => {
      const id = `${counter}-${name}-${cmdNo++}`
      const payload = JSON.stringify({ id, expires: new Date(Date.now() + 10 * 60_000).toISOString(), ...args })
      const giveUp = Date.now() + 60_000
      for (;;) {
        // Resent under the same id until a reply comes, as the contract asks of central: a repeat gets the first reply again.
        driver!.publish(topics.cmd(HALL, counter, name), payload, { qos: 1 }, () => {})
        const r = await ratings!.reply(id, 3_000)
        if (r) {
          if (r.ok && name === 'finish' && args.outcome === 'served') servedCmds.add(id)
          return r
        }
        if (Date.now() > giveUp) {
          problems.push(`${id}: no reply within 60 s`)
          return null
        }
      }
    }

    let presses = 0
    let kills = 0
    const drive = async (counter: string, done: () => boolean): Promise<void> => {
      let ticketNo = 1
      for (;;) {
        const w = await get<WindowView>(`/windows/${counter}`)
        const mode = w?.online ? w.mode : null
        // After the deadline each window finishes the service it is in, so nothing is left open at the count.
        if (done() && (mode === 'idle' || mode === 'closed')) return
        switch (mode) {
          case null:
            await letTimePass(200, 'the window or its hub is down; ask again in a moment')
            break
          case 'closed':
            await command(counter, 'officer', { action: 'sign-in', officer: `officer-${counter}` })
            break
          case 'idle':
            await command(counter, 'call', { ticket: `A${String(ticketNo++).padStart(3, '0')}` })
            break
          case 'calling':
            await command(counter, 'start', {})
            break
          case 'serving':
            await command(counter, 'finish', { outcome: 'served' })
            break
          case 'evaluating': {
            await letTimePass(300, 'the applicant reads the evaluator')
            const key = SCORES[presses % SCORES.length]!
            const r = await fetch(`${api}/windows/${counter}/keys/${key}/press`, { method: 'POST' }).catch(() => null)
            if (r?.ok) presses++
            // One press per evaluation: the next look finds the window idle once the press is decided.
            await letTimePass(400, 'the evaluator decides the press')
            break
          }
          default:
            await letTimePass(200, `the window is ${mode}; ask again in a moment`)
        }
      }
    }

    const started = Date.now()
    const done = () => Date.now() - started > RUN_MS
    const chaos = async () => {
      const kill = async (name: string) => {
        const was = (await eventually(async () => {
          const p = (await processes())?.[name]
          return p?.pid ? { pid: p.pid, restarts: p.restarts } : null
        }, 30_000, `${name}'s pid`, 200))!
        process.kill(was.pid, 'SIGKILL')
        kills++
        // Back: a new process, and every window online again through it.
        await eventually(async () => {
          const p = (await processes())?.[name]
          return p && p.pid !== null && p.pid !== was.pid && p.restarts > was.restarts
        }, 60_000, `${name} started again; sim said: ${output}`, 200)
        await eventually(allOnline, 90_000, `every window online after ${name} was killed; sim said: ${output}`, 250)
      }
      // The default run kills each once; a soak keeps killing them, a little apart.
      const gap = Math.min(RUN_MS / 4, 20_000)
      do {
        await letTimePass(gap, 'traffic before the window is killed')
        await kill('w01')
        await letTimePass(gap, 'traffic between the two kills')
        await kill('hub')
      } while (!done())
    }
    await Promise.all([...Array.from({ length: WINDOWS }, (_, i) => drive(`w0${i + 1}`, done)), chaos()])

    // Waited for, not demanded here: the expectations below name what is missing if it never comes.
    await eventually(
      () => {
        const t = tallyRatings(ratings!, servedCmds)
        return t.missing.length === 0 && t.finishLost.length === 0
      },
      60_000,
      'every served service’s outcome and finish at Mosquitto',
      250,
    ).catch(() => {})
    const tally = tallyRatings(ratings!, servedCmds)
    const processesAtEnd = await processes()

    // The simulated camera and fingerprint device behind each window process's capture lines: a capture from central completes.
    const captures: string[] = []
    for (const counter of ['w01', 'w02']) {
      expect(await command(counter, 'call', { ticket: 'C001' }), `${counter} call before the captures`).toEqual({ ok: true, code: null })
      for (const kind of ['photo', 'fingerprint']) {
        const before = cmdNo
        const r = await command(counter, 'capture', { kind })
        expect(r, `${counter} ${kind} capture reply`).toEqual({ ok: true, code: null })
        captures.push(`${counter}-capture-${before}`)
      }
    }
    await eventually(
      () => captures.every((cmd) => [...ratings!.events.values()].some((e) => e.type === 'capture-done' && e.fields.cmd === cmd)),
      20_000,
      `a capture-done at Mosquitto for each of ${captures.join(', ')}`,
      100,
    )
    const w01 = await get<{ captures: Record<string, { triggers: number }> }>('/windows/w01')
    expect(w01?.captures.photo?.triggers).toBeGreaterThanOrEqual(1)

    expect(problems).toEqual([])
    expect(tally.problems).toEqual([])
    expect(tally.missing).toEqual([])
    expect(tally.finishLost).toEqual([])
    expect(tally.doubled).toEqual([])
    expect(tally.unserved).toEqual([])
    expect(tally.served).toBeGreaterThanOrEqual(WINDOWS)
    // Every press was made within an open evaluation of 30 s: only one cut short by a window's kill may have lapsed.
    expect(tally.missed).toBeLessThanOrEqual(kills / 2)
    expect(tally.rated).toBe(tally.served - tally.missed)
    expect(tally.rated).toBeGreaterThan(0)
    expect(processesAtEnd?.w01?.restarts).toBeGreaterThanOrEqual(1)
    expect(processesAtEnd?.hub?.restarts).toBeGreaterThanOrEqual(1)
    console.log(
      `sim --upstream: ${tally.served} served, ${tally.rated} rated (${presses} presses), ${tally.missed} missed, ${kills} kills, ${tally.transportDuplicates} transport duplicates dropped by id, in ${Math.round((Date.now() - started) / 1000)} s`,
    )
  }, 300_000)
})

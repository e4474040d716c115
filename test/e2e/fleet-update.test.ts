import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { buildRelease, packRelease, type BuiltRelease } from '../../cli/build/release.ts'
import { topics, type CommandName, type EvaluationScore, type UpdateReport } from '../../edge/protocol/index.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { manifestFileName } from '../../hub/fleet/release-store.ts'
import type { RolloutStatus } from '../../hub/fleet/rollout-status.ts'
import { startProcessHall, type ProcessHall } from '../../sim/process-hall.ts'
import { CentralRatings, tallyRatings, type CentralReply } from '../support/central-ratings.ts'
import { startMosquitto, type RunningMosquitto } from '../support/mosquitto.ts'
import { letTimePass } from '../support/pace.ts'
import { freePort } from '../support/ports.ts'
import { eventually } from '../support/probe.ts'

/**
 * Issue 24, done when: a simulated hall whose hub and four windows are
 * processes of their own (sim/process-hall.ts), each window an installed
 * board run by `counter-edge launch` from a root of its own, against a real
 * Mosquitto as central. Releases are built once from this checkout and
 * signed with a key made here; the hub checks uploads against its public key.
 *
 * 1. A release signed with another key is refused at upload, with the reason,
 *    and no board is sent anything; put straight into the hub's store on
 *    disk, it is not offered after the hub starts again.
 * 2. The next version is uploaded with `counter-edge update upload` and rolled
 *    out two at a time while central calls, serves and rates at every window:
 *    every board ends on the new version, and central counts every served
 *    service's outcome and rating exactly once after dedup by id.
 * 3. A release whose counter-edge.js throws at start: every board it reaches
 *    rolls back by itself and says why; the rollout halts after the wave.
 *
 *   launcher → runtime (current) ──▶ hub process ──bridge──▶ Mosquitto ◀── central (this test)
 *        ▲ keys through the sim's control API, releases through the update CLI
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(REPO, 'cli/counter-edge.mjs')
const HALL = 'h24'
const WINDOWS = 4
const COUNTERS = Array.from({ length: WINDOWS }, (_, i) => `w0${i + 1}`)
const SCORES: EvaluationScore[] = ['satisfied', 'neutral', 'dissatisfied']
const BASE = '24.0.1'
const NEXT = '24.0.2'
const CRASH = '24.0.3'
const FOREIGN = '24.0.9'

interface WindowView {
  counter: string
  online: boolean
  mode: string | null
}

let dir: string
let mosquitto: RunningMosquitto | null = null
let ratings: CentralRatings | null = null
let driver: MqttClient | null = null
let hall: ProcessHall | null = null
let output = ''
const releases = new Map<string, BuiltRelease>()
let http: string
let api: string

/** `counter-edge update …` against the hall's hub as its technician: exit code and what it printed. */
function updateCli(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'update', ...args, '--http', http, '--username', hall!.technician.username, '--password-file', hall!.technician.passwordFile],
      { timeout: 240_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    )
  })
}

async function hubWindows(): Promise<Map<string, UpdateReport | null>> {
  const r = await fetch(`${http}/api/hall`)
  const hallView = (await r.json()) as { windows: Array<{ counter: string; update: UpdateReport | null }> }
  return new Map(hallView.windows.map((w) => [w.counter, w.update]))
}

async function rollout(): Promise<RolloutStatus> {
  return (await (await fetch(`${http}/api/rollout`)).json()) as RolloutStatus
}

async function get<T>(path: string): Promise<T | null> {
  const r = await fetch(`${api}${path}`).catch(() => null)
  return r && r.ok ? ((await r.json()) as T) : null
}

const allOnline = async () => {
  const ws = await get<WindowView[]>('/windows')
  return ws !== null && ws.length === WINDOWS && ws.every((w) => w.online)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-update-'))
  const hallKey = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  const otherKey = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  const publicKey = join(dir, 'hall-release.pub')
  await writeFile(publicKey, hallKey.publicKey)

  // Built once; the other versions are the same staged runtime packed again with another version stamped in.
  const base = await buildRelease({ privateKeyPem: hallKey.privateKey, out: join(dir, 'out'), version: BASE })
  releases.set(BASE, base)
  const stage = join(dir, 'stage')
  await mkdir(stage)
  await new Promise<void>((resolve, reject) => execFile('tar', ['-xzf', base.payload, '-C', stage], (err) => (err ? reject(err) : resolve())))
  const repack = async (version: string, privateKeyPem: string, from = stage) =>
    releases.set(version, await packRelease({ stage: from, version, node: base.manifest.node, native: base.manifest.native, privateKeyPem, out: join(dir, 'out') }))
  await repack(NEXT, hallKey.privateKey)
  await repack(FOREIGN, otherKey.privateKey)
  const crashStage = join(dir, 'crash-stage')
  await cp(stage, crashStage, { recursive: true })
  await writeFile(join(crashStage, 'dist', 'counter-edge.js'), `throw new Error('boom at start of ${CRASH}')\n`)
  await repack(CRASH, hallKey.privateKey, crashStage)

  mosquitto = await startMosquitto()
  // Central's persistent session exists before the hall does: nothing the bridge sends can pass it by.
  ratings = await CentralRatings.start(mosquitto.url, HALL)
  driver = await mqtt.connectAsync(mosquitto.url, { clientId: `central-driver-${HALL}`, reconnectPeriod: 200, connectTimeout: 5_000 })
  ;(driver.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true)
  const controlPort = await freePort()
  hall = await startProcessHall({
    hall: HALL,
    windows: WINDOWS,
    host: '127.0.0.1',
    hubPort: 0,
    centralPort: 0,
    controlPort,
    dashboardPort: 0,
    speed: 1,
    board: 'sim-window',
    // Pixel screens on the even windows: their font comes from the release too.
    screenBoard: 'sim-window-matrix',
    traffic: false,
    upstream: { url: mosquitto.url },
    dataDir: join(dir, 'hall'),
    cli: [process.execPath, CLI],
    childLogLevel: 'warn',
    log: silentLogger(),
    installed: { payload: base.payload, version: BASE, publicKey, nodeModules: join(REPO, 'node_modules'), crashes: 3 },
    onLine: (line) => (output = (output + line + '\n').slice(-20_000)),
  })
  http = hall.dashboardUrl.replace(/\/$/, '')
  api = `http://127.0.0.1:${controlPort}/api`
  await eventually(allOnline, 120_000, `every window online through the control API; the hall said: ${output}`, 250)
  await eventually(async () => [...(await hubWindows()).values()].every((u) => u?.running === BASE), 60_000, `every board reporting ${BASE}`, 250)
}, 400_000)

afterAll(async () => {
  await hall?.stop()
  await driver?.endAsync(true).catch(() => {})
  await ratings?.close()
  await mosquitto?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('fleet updates of a hall of installed boards (issue 24)', () => {
  it('a release signed with another key is refused at upload with the reason, and no board is sent it', async () => {
    const before = await hubWindows()
    const foreign = releases.get(FOREIGN)!
    const up = await updateCli('upload', foreign.manifestFile, foreign.payload)
    expect(up.code, up.out).toBe(1)
    expect(up.out).toMatch(/signature/i)
    console.log(`upload signed by another key: exit ${up.code}, ${up.out.trim()}`)
    const listed = (await (await fetch(`${http}/api/releases`)).json()) as { releases: Array<{ version: string }> }
    expect(listed.releases.map((r) => r.version)).not.toContain(FOREIGN)
    const start = await updateCli('start', '--version', FOREIGN, '--all')
    expect(start.code, start.out).toBe(1)
    expect((await rollout()).state).toBe('none')
    // Every board still on the base version with the report it had: no `update` command reached one.
    const after = await hubWindows()
    for (const c of COUNTERS) expect(after.get(c), c).toEqual(before.get(c))

    // Put straight into the hub's store on disk, past the upload: the hub checks it again when it starts, and does not offer it.
    const stored = join(hall!.dir, 'hub', 'data', 'releases', FOREIGN)
    await mkdir(stored, { recursive: true })
    await cp(foreign.manifestFile, join(stored, manifestFileName(FOREIGN)))
    await cp(foreign.payload, join(stored, foreign.manifest.payload.file))
    const was = { pid: hall!.hub.pid!, restarts: hall!.hub.restarts }
    process.kill(was.pid, 'SIGKILL')
    await eventually(() => hall!.hub.restarts > was.restarts && hall!.hub.pid !== null && hall!.hub.pid !== was.pid, 60_000, `the hub started again; the hall said: ${output}`, 200)
    await eventually(async () => (await fetch(`${http}/api/releases`).catch(() => null))?.ok === true, 60_000, 'the restarted hub answering', 200)
    await eventually(allOnline, 90_000, 'every window online through the restarted hub', 250)
    const relisted = (await (await fetch(`${http}/api/releases`)).json()) as { releases: Array<{ version: string }> }
    expect(relisted.releases.map((r) => r.version)).not.toContain(FOREIGN)
    const again = await updateCli('start', '--version', FOREIGN, '--all')
    expect(again.code, again.out).toBe(1)
    expect((await rollout()).state).toBe('none')
    for (const [c, u] of await hubWindows()) expect(u, c).toMatchObject({ running: BASE, cmd: before.get(c)?.cmd ?? null })
  }, 240_000)

  it('uploads the next version and updates every board, two at a time, while central serves at every window: nothing lost, nothing twice', async () => {
    const next = releases.get(NEXT)!
    const up = await updateCli('upload', next.manifestFile, next.payload)
    expect(up.code, up.out).toBe(0)

    let cmdNo = 0
    const servedCmds = new Set<string>()
    const problems: string[] = []
    const command = async (counter: string, name: CommandName, args: Record<string, unknown>): Promise<CentralReply | null> => {
      const id = `${counter}-${name}-${cmdNo++}`
      const payload = JSON.stringify({ id, expires: new Date(Date.now() + 10 * 60_000).toISOString(), ...args })
      const giveUp = Date.now() + 90_000
      for (;;) {
        // Resent under the same id until a reply comes, as the contract asks of central: a repeat gets the first reply again.
        driver!.publish(topics.cmd(HALL, counter, name), payload, { qos: 1 }, () => {})
        const r = await ratings!.reply(id, 3_000)
        if (r) {
          if (r.ok && name === 'finish' && args.outcome === 'served') servedCmds.add(id)
          return r
        }
        if (Date.now() > giveUp) {
          problems.push(`${id}: no reply within 90 s`)
          return null
        }
      }
    }
    let presses = 0
    // Per window: on the new version (by its report at the hub), and services served after that.
    const onNew = new Set<string>()
    const servedAfter = new Map<string, number>(COUNTERS.map((c) => [c, 0]))
    const servedBefore = new Map<string, number>(COUNTERS.map((c) => [c, 0]))
    const drive = async (counter: string, done: () => boolean): Promise<void> => {
      let ticketNo = 1
      for (;;) {
        const w = await get<WindowView>(`/windows/${counter}`)
        const mode = w?.online ? w.mode : null
        if (done() && (mode === 'idle' || mode === 'closed')) return
        switch (mode) {
          case null:
            await letTimePass(200, 'the window is restarting into another version; ask again in a moment')
            break
          case 'closed':
            await command(counter, 'officer', { action: 'sign-in', officer: `officer-${counter}` })
            break
          case 'idle':
            // A little room between applicants, as in a hall: the rollout takes a window only while it is free.
            await letTimePass(1_000, 'the next applicant walks up')
            if (!done()) await command(counter, 'call', { ticket: `A${String(ticketNo++).padStart(3, '0')}` })
            break
          case 'calling':
            await command(counter, 'start', {})
            break
          case 'serving': {
            const served = onNew.has(counter) ? servedAfter : servedBefore
            if ((await command(counter, 'finish', { outcome: 'served' }))?.ok) served.set(counter, served.get(counter)! + 1)
            break
          }
          case 'evaluating': {
            await letTimePass(300, 'the applicant reads the evaluator')
            const r = await fetch(`${api}/windows/${counter}/keys/${SCORES[presses % SCORES.length]!}/press`, { method: 'POST' }).catch(() => null)
            if (r?.ok) presses++
            await letTimePass(400, 'the evaluator decides the press')
            break
          }
          default:
            await letTimePass(200, `the window is ${mode}; ask again in a moment`)
        }
      }
    }

    const started = Date.now()
    let updated = false
    // Traffic before the rollout, all through it, and a little after.
    const rolloutRun = (async () => {
      await letTimePass(6_000, 'traffic before the rollout starts')
      const start = await updateCli('start', '--version', NEXT, '--all', '--at-a-time', '2', '--confirm-within', '90', '--wait')
      updated = true
      return start
    })()
    const watch = (async () => {
      while (!updated) {
        for (const [c, u] of await hubWindows()) if (u?.running === NEXT) onNew.add(c)
        await letTimePass(250, 'the boards report their versions as they restart')
      }
      for (const [c, u] of await hubWindows()) if (u?.running === NEXT) onNew.add(c)
    })()
    // Each window goes on until the rollout is over and it has served someone on the new version (or a minute later, which the expectations below name).
    const stopBy = () => Date.now() - started > 240_000
    await Promise.all(COUNTERS.map((c) => drive(c, () => stopBy() || (updated && servedAfter.get(c)! > 0))))
    const start = await rolloutRun
    await watch
    const rolloutMs = Date.now() - started

    expect(start.code, start.out).toBe(0)
    const status = await rollout()
    expect(status.state).toBe('done')
    expect(status.boards.map((b) => [b.counter, b.state])).toEqual(COUNTERS.map((c) => [c, 'confirmed']))
    // At most two at a time (never neighbours together): two waves at least, more when a window was busy with an applicant at its turn.
    expect(status.waves).toBeGreaterThanOrEqual(2)
    const reports = await hubWindows()
    for (const c of COUNTERS) expect(reports.get(c), c).toMatchObject({ running: NEXT })
    for (const [c, root] of hall!.roots) {
      expect(await root.versionOf('current'), c).toBe(NEXT)
      expect(await root.versionOf('previous'), c).toBe(BASE)
    }

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
    expect(problems).toEqual([])
    // The traffic went through the update: every window served on the old version and on the new one.
    expect([...onNew].sort()).toEqual(COUNTERS)
    for (const c of COUNTERS) expect(servedBefore.get(c), `${c} served on ${BASE}`).toBeGreaterThan(0)
    for (const c of COUNTERS) expect(servedAfter.get(c), `${c} served on ${NEXT}`).toBeGreaterThan(0)
    expect(tally.problems).toEqual([])
    expect(tally.missing).toEqual([])
    expect(tally.finishLost).toEqual([])
    expect(tally.doubled).toEqual([])
    expect(tally.unserved).toEqual([])
    expect(tally.served).toBeGreaterThanOrEqual(WINDOWS)
    expect(tally.missed).toBe(0)
    expect(tally.rated).toBe(tally.served)
    const deliveries = [...ratings!.deliveries.values()].reduce((a, b) => a + b, 0)
    console.log(
      `fleet update: ${WINDOWS} boards ${BASE} → ${NEXT} in ${status.waves} waves; ${tally.served} served, ${tally.rated} rated (${presses} presses); ` +
        `${ratings!.events.size} events at central (${deliveries - ratings!.events.size} transport duplicates dropped by id); traffic ran ${Math.round(rolloutMs / 1000)} s`,
    )
  }, 600_000)

  it('a release that crashes at start: every board it reaches rolls back by itself and says why, and the rollout halts', async () => {
    const crash = releases.get(CRASH)!
    const up = await updateCli('upload', crash.manifestFile, crash.payload)
    expect(up.code, up.out).toBe(0)
    const started = Date.now()
    const rolled = new Map<string, string>()
    // The whole hall asked for, two at a time: the first wave rolls back and no second wave goes.
    const first = await updateCli('start', '--version', CRASH, '--all', '--at-a-time', '2', '--confirm-within', '60', '--wait')
    expect(first.code, first.out).toBe(1)
    const halted = await rollout()
    expect(halted.state).toBe('halted')
    const firstWave = halted.boards.filter((b) => b.cmd !== null).map((b) => b.counter)
    expect(firstWave).toEqual(['w01', 'w03'])
    expect(halted.halted?.reason).toMatch(new RegExp(`${CRASH.replace(/\./g, '\\.')} exited 3 times before it was online`))
    for (const b of halted.boards.filter((x) => x.cmd === null)) expect(b.state, b.counter).toBe('pending')
    // The rest, asked for by name: they roll back too.
    const second = await updateCli('start', '--version', CRASH, '--boards', 'w02,w04', '--at-a-time', '2', '--confirm-within', '60', '--wait')
    expect(second.code, second.out).toBe(1)

    await eventually(
      async () => {
        for (const [c, u] of await hubWindows()) if (u?.state === 'rolled-back' && u.running === NEXT) rolled.set(c, u.reason ?? '')
        return rolled.size === WINDOWS
      },
      120_000,
      'every board reporting rolled-back on the version before',
      250,
    )
    for (const c of COUNTERS) expect(rolled.get(c), c).toMatch(new RegExp(`^${CRASH.replace(/\./g, '\\.')} exited 3 times before it was online: .*boom at start of ${CRASH.replace(/\./g, '\\.')}`))
    for (const [c, root] of hall!.roots) {
      expect(await root.versionOf('current'), c).toBe(NEXT)
      expect((await root.readJournal()).rolledBack, c).toMatchObject({ from: CRASH, to: NEXT })
    }
    await eventually(allOnline, 60_000, 'every window online on the version it went back to', 250)
    console.log(`crash release: ${WINDOWS} boards rolled back to ${NEXT} by themselves in ${Math.round((Date.now() - started) / 1000)} s`)
  }, 600_000)
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { buildRelease, packRelease, type BuiltRelease } from '../../../cli/build/release.ts'
import { parseMessage, topics, type Reply, type UpdateReport } from '../../../edge/protocol/index.ts'
import { silentLogger } from '../../../edge/shared/logger.ts'
import type { RolloutStatus } from '../../../hub/fleet/rollout-status.ts'
import { startProcessHall, type ProcessHall } from '../../../sim/process-hall.ts'
import { startMosquitto, type RunningMosquitto } from '../../support/mosquitto.ts'
import { freePort } from '../../support/ports.ts'
import { eventually } from '../../support/probe.ts'

/**
 * A rollout survives the hub being killed mid-way: a hall whose hub and two
 * windows are processes of their own (sim/process-hall.ts, as in
 * test/e2e/fleet-update.test.ts), each window an installed board under the
 * launcher, bridged to a real Mosquitto. The rollout is started, the hub is
 * SIGKILLed while a board is in the middle of its update, the hall starts the
 * hub again, and the rollout carries on from its file to every board, shown by
 * `counter-edge update status`. Every `update` command a board acted on gets
 * one reply (a repeat of an id it has seen gets the first reply again, under a
 * new message id), so the distinct reply messages per board, counted at
 * Mosquitto, are the update commands it received: one each.
 */

const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const CLI = join(REPO, 'cli/counter-edge.mjs')
const HALL = 'h24k'
const COUNTERS = ['w01', 'w02']
const BASE = '24.1.1'
const NEXT = '24.1.2'
const IN_PROGRESS = new Set(['downloading', 'verifying', 'installing', 'restarting', 'confirming'])

let dir: string
let mosquitto: RunningMosquitto | null = null
let central: MqttClient | null = null
let hall: ProcessHall | null = null
let output = ''
let http: string
const releases = new Map<string, BuiltRelease>()
/** `update` replies at central: per counter, reply message id → the command it answers. */
const updateReplies = new Map<string, Map<string, string>>()

function updateCli(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'update', ...args, '--http', http, '--username', hall!.technician.username, '--password-file', hall!.technician.passwordFile],
      { timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    )
  })
}

async function hubWindows(): Promise<Map<string, UpdateReport | null>> {
  const r = await fetch(`${http}/api/hall`)
  const view = (await r.json()) as { windows: Array<{ counter: string; update: UpdateReport | null }> }
  return new Map(view.windows.map((w) => [w.counter, w.update]))
}

async function rollout(): Promise<RolloutStatus | null> {
  const r = await fetch(`${http}/api/rollout`).catch(() => null)
  return r?.ok ? ((await r.json()) as RolloutStatus) : null
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollout-restart-'))
  const key = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  const publicKey = join(dir, 'hall-release.pub')
  await writeFile(publicKey, key.publicKey)
  const base = await buildRelease({ privateKeyPem: key.privateKey, out: join(dir, 'out'), version: BASE })
  releases.set(BASE, base)
  const stage = join(dir, 'stage')
  await mkdir(stage)
  await new Promise<void>((resolve, reject) => execFile('tar', ['-xzf', base.payload, '-C', stage], (err) => (err ? reject(err) : resolve())))
  releases.set(NEXT, await packRelease({ stage, version: NEXT, node: base.manifest.node, native: base.manifest.native, privateKeyPem: key.privateKey, out: join(dir, 'out') }))

  mosquitto = await startMosquitto()
  // A persistent session at central before the hall exists: no reply the bridge sends can pass it by.
  central = await mqtt.connectAsync(mosquitto.url, { clientId: `central-${HALL}`, clean: false, reconnectPeriod: 200, connectTimeout: 5_000 })
  ;(central.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true)
  central.on('message', (topic, payload) => {
    const m = parseMessage(topic, payload)
    if (!m.ok || m.kind !== 'reply' || !('counter' in m.topic)) return
    const r = m.message as Reply
    if (r.name !== 'update' || r.cmd === null) return
    const seen = updateReplies.get(m.topic.counter) ?? new Map<string, string>()
    seen.set(r.id, r.cmd)
    updateReplies.set(m.topic.counter, seen)
  })
  await central.subscribeAsync(topics.hallReplies(HALL), { qos: 1 })

  hall = await startProcessHall({
    hall: HALL,
    windows: COUNTERS.length,
    host: '127.0.0.1',
    hubPort: 0,
    centralPort: 0,
    controlPort: await freePort(),
    dashboardPort: 0,
    speed: 1,
    board: 'sim-window',
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
  await eventually(async () => [...(await hubWindows()).values()].filter((u) => u?.running === BASE).length === COUNTERS.length, 120_000, `every board reporting ${BASE}; the hall said: ${output}`, 250)
}, 400_000)

afterAll(async () => {
  await hall?.stop()
  await central?.endAsync(true).catch(() => {})
  await mosquitto?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('a rollout survives a hub restart', () => {
  it('the hub is SIGKILLed while a board takes the release; started again, it carries the rollout on to every board, none sent the update twice', async () => {
    const next = releases.get(NEXT)!
    const up = await updateCli('upload', next.manifestFile, next.payload)
    expect(up.code, up.out).toBe(0)
    // w01 and w02 are neighbours: one board per wave, so the second wave is sent only by the restarted hub.
    const start = await updateCli('start', '--version', NEXT, '--all', '--at-a-time', '2', '--confirm-within', '90')
    expect(start.code, start.out).toBe(0)

    // Mid-rollout: a board the hub sent the command is taking it (its report names that command, in a step of the update).
    const before = (await eventually(
      async () => {
        const s = await rollout()
        const reports = await hubWindows()
        const taking = s?.boards.find((b) => b.state === 'sent' && b.cmd !== null && reports.get(b.counter)?.cmd === b.cmd && IN_PROGRESS.has(reports.get(b.counter)!.state))
        return taking ? { status: s!, taking } : null
      },
      120_000,
      `a board in the middle of its update; the hall said: ${output}`,
      50,
    ))!
    expect(before.status.state).toBe('running')
    const onDisk = JSON.parse(await readFile(join(hall!.dir, 'hub', 'data', 'rollout.json'), 'utf8')) as { status: RolloutStatus }
    expect(onDisk.status.boards.find((b) => b.counter === before.taking.counter)?.cmd).toBe(before.taking.cmd)

    const was = { pid: hall!.hub.pid!, restarts: hall!.hub.restarts }
    process.kill(was.pid, 'SIGKILL')
    await eventually(() => hall!.hub.restarts > was.restarts && hall!.hub.pid !== null && hall!.hub.pid !== was.pid, 60_000, `the hub started again; the hall said: ${output}`, 100)
    const resumed = (await eventually(rollout, 60_000, 'the restarted hub answering', 100))!
    // Not forgotten: the same rollout, the board it had sent the command to still on that command.
    expect(resumed.state === 'running' || resumed.state === 'done', JSON.stringify(resumed)).toBe(true)
    expect(resumed.version).toBe(NEXT)
    expect(resumed.started).toBe(before.status.started)
    expect(resumed.boards.find((b) => b.counter === before.taking.counter)?.cmd).toBe(before.taking.cmd)

    const done = (await eventually(async () => ((s) => (s && s.state !== 'running' ? s : null))(await rollout()), 240_000, `the rollout ending; the hall said: ${output}`, 250))!
    expect(done.state, JSON.stringify(done)).toBe('done')
    expect(done.boards.map((b) => [b.counter, b.state])).toEqual(COUNTERS.map((c) => [c, 'confirmed']))
    expect(done.waves).toBe(2)

    const status = await updateCli('status')
    expect(status.code, status.out).toBe(0)
    expect(status.out).toMatch(new RegExp(`完成 done\\s+版本 version ${NEXT.replace(/\./g, '\\.')}`))
    for (const c of COUNTERS) expect(status.out).toMatch(new RegExp(`${c}\\s+已确认 confirmed\\s+${NEXT.replace(/\./g, '\\.')}`))

    for (const [c, u] of await hubWindows()) expect(u, c).toMatchObject({ running: NEXT })
    for (const [c, root] of hall!.roots) {
      expect(await root.versionOf('current'), c).toBe(NEXT)
      expect(await root.versionOf('previous'), c).toBe(BASE)
    }
    // One update command each, the one the rollout sent: all replies the bridge carried are at Mosquitto by now, as the board reports that followed them are at the hub.
    await eventually(() => COUNTERS.every((c) => (updateReplies.get(c)?.size ?? 0) > 0), 30_000, 'every board’s update reply at central', 250)
    for (const b of done.boards) {
      const replies = updateReplies.get(b.counter)!
      expect([...replies.values()], b.counter).toEqual([b.cmd])
    }
    console.log(`rollout ${BASE} → ${NEXT} across a SIGKILL of the hub while ${before.taking.counter} was ${before.taking.reported ?? 'updating'}: ${done.waves} waves, one update command per board`)
  }, 600_000)
})

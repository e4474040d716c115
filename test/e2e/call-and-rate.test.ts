import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { startMosquitto, type RunningMosquitto } from '../support/mosquitto.ts'
import { Probe, eventually, command } from '../support/probe.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { makeEntry, writeCredentialFile } from '../../hub/credentials.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindow } from '../../sim/sim-window.ts'
import { parseMessage } from '../../edge/protocol/index.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { syncBarrier } from '../support/barrier.ts'

const HALL = 'hall-7'
const COUNTER = 'w05'
const base = `hall/${HALL}/counter/${COUNTER}`

describe('one window end to end: central (real Mosquitto) → hub → board → display, key → central', () => {
  let mosquitto: RunningMosquitto
  let hub: RunningHub
  let window: SimWindow
  let central: Probe
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-'))
    mosquitto = await startMosquitto()
    const credentialsFile = join(dir, 'credentials.json')
    await writeCredentialFile(credentialsFile, [await makeEntry({ username: `${HALL}-${COUNTER}`, role: 'board', hall: HALL, counter: COUNTER, password: 'right-password' })])
    hub = await startHub({ hall: HALL, port: 0, credentialsFile, upstream: { url: mosquitto.url } }, silentLogger())
    central = await Probe.connect(mosquitto.url, [`hall/${HALL}/#`])
    window = new SimWindow({
      hall: HALL,
      counter: COUNTER,
      profile: await loadBoardProfile('sim-window', BOARDS_DIR),
      hub: [{ host: '127.0.0.1', port: hub.port }],
      username: `${HALL}-${COUNTER}`,
      password: 'right-password',
      log: silentLogger(),
    })
    await window.start()
  })

  afterAll(async () => {
    await window?.stop()
    await central?.close()
    await hub?.stop()
    await mosquitto?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  /** Sends a command on Mosquitto and returns the board's reply to it, as central sees it. */
  async function send(name: string, args: Record<string, unknown>, opts: { id?: string; expiresInMs?: number } = {}) {
    const payload = command(args, opts)
    const before = central.messages.length
    await central.publish(`${base}/cmd/${name}`, payload)
    const reply = await central.waitFor(
      (m) => m.topic === `${base}/reply` && m.payload.cmd === payload.id && central.messages.indexOf(m) >= before,
      10_000,
      `the reply to ${name}`,
    )
    return { reply: reply.payload, id: payload.id as string }
  }

  it('announces the board at central with a birth carrying its boot id, and every message obeys the contract', async () => {
    const birth = await central.waitFor((m) => m.topic === `${base}/status` && m.payload.online === true, 10_000, 'the birth')
    expect(birth.payload.boot).toBe(window.running!.boot)
    expect(parseMessage(birth.topic, JSON.stringify(birth.payload)).ok).toBe(true)
    // A consumer that connects later finds the birth retained at central.
    const late = await Probe.connect(mosquitto.url, [`${base}/status`])
    try {
      const kept = await late.waitFor((m) => m.topic === `${base}/status`, 5000, 'the retained birth')
      expect(kept.retain).toBe(true)
      expect(kept.payload).toMatchObject({ online: true, boot: window.running!.boot, board: 'sim-window' })
    } finally {
      await late.close()
    }
  })

  it('a call from central puts the ticket on the display and publishes state and event/called', async () => {
    expect((await send('officer', { action: 'sign-in', officer: 'li-na', officerName: 'Li Na' })).reply.ok).toBe(true)
    const { reply, id } = await send('call', { ticket: 'A023', service: 'passport' })
    expect(reply).toMatchObject({ ok: true, name: 'call' })
    const called = await central.waitFor((m) => m.topic === `${base}/event/called`, 5000, 'event/called')
    expect(called.payload).toMatchObject({ type: 'called', ticket: 'A023', service: 'passport', cmd: id })
    await central.waitFor((m) => m.topic === `${base}/state` && (m.payload.ticket as { number?: string } | null)?.number === 'A023', 5000, 'state with A023')
    const view = await eventually(() => {
      const v = window.hardware.view()
      return v.text === 'A023' && v.lit ? v : null
    }, 5000, 'the display to show A023')
    expect(view!.ambiguous).toBe(false)
  })

  it('finishing the service opens the evaluator; a key press reaches central as event/evaluated with ticket and score', async () => {
    expect((await send('start', {})).reply.ok).toBe(true)
    const fin = await send('finish', { outcome: 'served' })
    expect(fin.reply.ok).toBe(true)
    await eventually(() => window.running!.window.current.mode === 'evaluating', 5000, 'evaluation to open')
    await window.hardware.press('satisfied')
    const rated = await central.waitFor((m) => m.topic === `${base}/event/evaluated`, 10_000, 'event/evaluated')
    expect(rated.payload).toMatchObject({ type: 'evaluated', ticket: 'A023', score: 'satisfied', scale: 3, officer: 'li-na' })
    expect(parseMessage(rated.topic, JSON.stringify(rated.payload)).ok).toBe(true)
    // A second press after the rating is counted, never a second rating.
    await window.hardware.press('dissatisfied')
    await syncBarrier(central, central, HALL, COUNTER)
    expect(central.messages.filter((m) => m.topic === `${base}/event/evaluated`)).toHaveLength(1)
    await eventually(() => window.hardware.view().text === '', 5000, 'the display to go dark after the rating')
  })

  it('a command that fails its schema gets a reply naming the field, and changes nothing', async () => {
    const stateBefore = window.running!.window.current
    const { reply } = await send('call', { ticket: 'a-1' })
    expect(reply).toMatchObject({ ok: false, code: 'bad-payload', name: 'call' })
    expect(String(reply.message)).toContain('ticket')
    expect(window.running!.window.current).toBe(stateBefore)
    expect(window.hardware.view().text).toBe('')
    // Not JSON at all: still a reply, with the id unknown.
    await central.publish(`${base}/cmd/recall`, 'not json{')
    const bad = await central.waitFor((m) => m.topic === `${base}/reply` && m.payload.code === 'bad-json', 5000, 'bad-json reply')
    expect(bad.payload.cmd).toBeNull()
  })

  it('an expired call is refused and never shown; a repeated command id gets the first reply, not a second action', async () => {
    const expired = await send('call', { ticket: 'B100' }, { expiresInMs: -1000 })
    expect(expired.reply).toMatchObject({ ok: false, code: 'expired' })
    expect(window.hardware.view().text).toBe('')

    const first = await send('call', { ticket: 'B101' }, { id: 'dup-call-1' })
    expect(first.reply.ok).toBe(true)
    await eventually(() => window.hardware.view().text === 'B101', 5000, 'B101 on the display')
    const again = await send('call', { ticket: 'B101' }, { id: 'dup-call-1' })
    expect(again.reply).toMatchObject({ ok: true, cmd: 'dup-call-1' })
    await syncBarrier(central, central, HALL, COUNTER)
    expect(central.messages.filter((m) => m.topic === `${base}/event/called` && m.payload.ticket === 'B101')).toHaveLength(1)
  })

  it('refuses a client with wrong credentials, and one posing as another window', async () => {
    const wrong = mqtt.connectAsync(`mqtt://127.0.0.1:${hub.port}`, { clientId: `${HALL}-${COUNTER}`, username: `${HALL}-${COUNTER}`, password: 'wrong', reconnectPeriod: 0 })
    await expect(wrong).rejects.toThrow(/Bad username or password/i)
    const anon = mqtt.connectAsync(`mqtt://127.0.0.1:${hub.port}`, { reconnectPeriod: 0 })
    await expect(anon).rejects.toThrow(/Bad username or password|Not authorized/i)
    expect(hub.counters.authFailures).toBeGreaterThanOrEqual(2)
  })

  it('a clean stop publishes offline with reason "stop" and the same boot id', async () => {
    const boot = window.running!.boot
    await window.stop()
    const bye = await central.waitFor((m) => m.topic === `${base}/status` && m.payload.online === false, 5000, 'offline status')
    expect(bye.payload).toMatchObject({ online: false, reason: 'stop', boot })
  })
})

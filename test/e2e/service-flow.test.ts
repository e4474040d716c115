import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startMosquitto, type RunningMosquitto } from '../support/mosquitto.ts'
import { Probe, eventually, command } from '../support/probe.ts'
import { syncBarrier } from '../support/barrier.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { makeEntry, writeCredentialFile } from '../../hub/credentials.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindow } from '../../sim/sim-window.ts'
import { CentralStub } from '../../sim/central-stub.ts'
import { Applicants } from '../../sim/applicants.ts'
import { parseMessage } from '../../edge/protocol/index.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const HALL = 'hall-18'
const COUNTERS = ['w01', 'w02'] as const
type Counter = (typeof COUNTERS)[number]
const base = (c: Counter) => `hall/${HALL}/counter/${c}`

/**
 * The service flow of a real hall (issue 18) end to end: central on a real
 * Mosquitto, the hub bridging to it, two simulated windows. Transfer and park
 * hand a service on under its record, rated once at the window that finishes
 * it; a pause waits for the service; a call nobody answers prompts; and the
 * central stub of `npm start` does all of it on its own and obeys the pause key.
 */
describe('service flow through a real central: transfer, park, pause after service, no-show prompt', () => {
  let mosquitto: RunningMosquitto
  let hub: RunningHub
  let central: Probe
  let dir: string
  const windows = new Map<string, SimWindow>()
  const win = (c: Counter) => windows.get(c)!

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-flow-'))
    mosquitto = await startMosquitto()
    const credentialsFile = join(dir, 'credentials.json')
    await writeCredentialFile(credentialsFile, await Promise.all(COUNTERS.map((c) => makeEntry({ username: `${HALL}-${c}`, role: 'board', hall: HALL, counter: c, password: 'pw' }))))
    hub = await startHub({ hall: HALL, port: 0, credentialsFile, upstream: { url: mosquitto.url } }, silentLogger())
    central = await Probe.connect(mosquitto.url, [`hall/${HALL}/#`])
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    for (const c of COUNTERS) {
      const w = new SimWindow({ hall: HALL, counter: c, profile, hub: [{ host: '127.0.0.1', port: hub.port }], username: `${HALL}-${c}`, password: 'pw', log: silentLogger(), dataDir: join(dir, c) })
      await w.start()
      windows.set(c, w)
    }
    for (const c of COUNTERS) await central.waitFor((m) => m.topic === `${base(c)}/status` && m.payload.online === true, 10_000, `${c} birth`)
  })

  afterAll(async () => {
    for (const w of windows.values()) await w.shutdown()
    await central?.close()
    await hub?.stop()
    await mosquitto?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function send(c: Counter, name: string, args: Record<string, unknown>) {
    const payload = command(args)
    await central.publish(`${base(c)}/cmd/${name}`, payload)
    const reply = await central.waitFor((m) => m.topic === `${base(c)}/reply` && m.payload.cmd === payload.id, 10_000, `the reply to ${name} at ${c}`)
    return reply.payload
  }
  const eventsOf = (c: Counter, type: string) => central.messages.filter((m) => m.topic === `${base(c)}/event/${type}`).map((m) => m.payload)
  const waitEvent = (c: Counter, type: string, match: (p: Record<string, unknown>) => boolean = () => true, timeoutMs = 10_000) =>
    central.waitFor((m) => m.topic === `${base(c)}/event/${type}` && match(m.payload), timeoutMs, `${type} at ${c}`).then((m) => m.payload)
  /** Every outcome (evaluated or evaluation-missed) of one record, at any window of the hall. */
  const outcomesOf = (record: string) =>
    central.messages.filter((m) => /\/event\/(evaluated|evaluation-missed)$/.test(m.topic) && m.payload.record === record).map((m) => ({ topic: m.topic, ...m.payload }))

  it('officers sign in with an event naming them', async () => {
    for (const c of COUNTERS) {
      expect(await send(c, 'officer', { action: 'sign-in', officer: `off-${c}`, officerName: `Officer ${c}` })).toMatchObject({ ok: true })
      expect(await waitEvent(c, 'signed-in')).toMatchObject({ officer: `off-${c}`, officerName: `Officer ${c}` })
    }
  })

  it('transfer: w01 hands A101 to w02 with no evaluation; w02 calls it under the same record and case number, and it is rated once, at w02', async () => {
    await send('w01', 'call', { ticket: 'A101', service: 'passport', caseNo: 'CJ2026000101', item: 'passport-first-issue' })
    const called = await waitEvent('w01', 'called', (e) => e.ticket === 'A101')
    const record = String(called.record)
    await send('w01', 'start', {})
    expect(await send('w01', 'transfer', { toWindow: 'w02', reason: 'needs-approval' })).toMatchObject({ ok: true, result: { record, toWindow: 'w02' } })
    const moved = await waitEvent('w01', 'service-transferred')
    expect(moved).toMatchObject({ ticket: 'A101', toWindow: 'w02', toQueue: null, reason: 'needs-approval', record, caseNo: 'CJ2026000101', item: 'passport-first-issue' })
    expect(parseMessage(`${base('w01')}/event/service-transferred`, JSON.stringify(moved)).ok).toBe(true)
    await eventually(() => win('w01').hardware.view().text === '', 5000, 'w01 dark after the transfer')
    expect(win('w01').hardware.output('evaluatorLamp'), 'no evaluator at the transferring window').toBe(false)

    await send('w02', 'call', { ticket: 'A101', service: 'passport', caseNo: moved.caseNo, item: moved.item, record, continues: 'transfer' })
    expect(await waitEvent('w02', 'called', (e) => e.ticket === 'A101')).toMatchObject({ record, caseNo: 'CJ2026000101', continues: 'transfer' })
    await eventually(() => win('w02').hardware.view().text === 'A101', 5000, 'A101 on w02')
    await send('w02', 'start', {})
    expect(await send('w02', 'finish', { outcome: 'served' })).toMatchObject({ ok: true, result: { evaluation: 'open' } })
    await eventually(() => win('w02').hardware.output('evaluatorLamp'), 5000, 'the evaluator open at w02')
    await win('w02').hardware.press('satisfied')
    expect(await waitEvent('w02', 'evaluated', (e) => e.record === record)).toMatchObject({ ticket: 'A101', officer: 'off-w02', caseNo: 'CJ2026000101' })
    // Both windows have said everything they will about it: one outcome in the hall, at w02.
    await syncBarrier(central, central, HALL, 'w01')
    await syncBarrier(central, central, HALL, 'w02')
    expect(outcomesOf(record).map((o) => o.topic)).toEqual([`${base('w02')}/event/evaluated`])
    // Called back once more with the record it has finished under: refused, a record has one outcome.
    const again = await send('w02', 'call', { ticket: 'A101', record, continues: 'transfer' })
    expect(again).toMatchObject({ ok: false, code: 'wrong-ticket' })
  })

  it('park and call back: B201 waits for a document while w01 serves someone else, then is called back under its record and rated once', async () => {
    await send('w01', 'call', { ticket: 'B201', caseNo: 'CJ2026000201' })
    const record = String((await waitEvent('w01', 'called', (e) => e.ticket === 'B201')).record)
    await send('w01', 'start', {})
    expect(await send('w01', 'park', { reason: 'document' })).toMatchObject({ ok: true, result: { record } })
    expect(await waitEvent('w01', 'service-parked')).toMatchObject({ ticket: 'B201', reason: 'document', record, caseNo: 'CJ2026000201' })
    // Meanwhile another applicant, a new record.
    await send('w01', 'call', { ticket: 'C301' })
    expect((await waitEvent('w01', 'called', (e) => e.ticket === 'C301')).record).not.toBe(record)
    await send('w01', 'start', {})
    await send('w01', 'finish', { outcome: 'served' })
    await win('w01').hardware.press('neutral')
    await waitEvent('w01', 'evaluated', (e) => e.ticket === 'C301')
    // The document came: call B201 back.
    await send('w01', 'call', { ticket: 'B201', record, continues: 'park', caseNo: 'CJ2026000201' })
    expect(await waitEvent('w01', 'called', (e) => e.ticket === 'B201' && e.continues === 'park')).toMatchObject({ record })
    await send('w01', 'start', {})
    await send('w01', 'finish', { outcome: 'served' })
    await eventually(() => win('w01').hardware.output('evaluatorLamp'), 5000, 'the evaluator open for B201')
    await win('w01').hardware.press('dissatisfied')
    await waitEvent('w01', 'rating-alert', (e) => e.record === record)
    await syncBarrier(central, central, HALL, 'w01')
    expect(outcomesOf(record)).toHaveLength(1)
    expect(outcomesOf(record)[0]).toMatchObject({ ticket: 'B201', score: 'dissatisfied', caseNo: 'CJ2026000201' })
  })

  it('pause after this service: asked for while serving, it waits for the rating, then the display shows the reason\'s code and calls are refused', async () => {
    await send('w02', 'call', { ticket: 'A102' })
    await send('w02', 'start', {})
    expect(await send('w02', 'pause', { reason: 'break' })).toMatchObject({ ok: true, result: { pause: 'after-service', ticket: 'A102' } })
    const st = await central.waitFor((m) => m.topic === `${base('w02')}/state` && (m.payload.pauseAfter as { reason?: string } | null)?.reason === 'break', 5000, 'pauseAfter in state')
    expect(st.payload.mode).toBe('serving')
    expect(win('w02').hardware.view().text, 'the service goes on').toBe('A102')
    await send('w02', 'finish', { outcome: 'served' })
    await eventually(() => win('w02').hardware.output('evaluatorLamp'), 5000, 'the evaluator open')
    await win('w02').hardware.press('satisfied')
    const paused = await waitEvent('w02', 'paused', (e) => e.afterService === true)
    expect(paused).toMatchObject({ reason: 'break', limitMs: 1_800_000 })
    const rated = central.messages.findIndex((m) => m.topic === `${base('w02')}/event/evaluated` && m.payload.ticket === 'A102')
    const pausedAt = central.messages.findIndex((m) => m.topic === `${base('w02')}/event/paused` && m.payload.afterService === true)
    expect(rated, 'rated before the pause began').toBeLessThan(pausedAt)
    await eventually(() => win('w02').hardware.view().text === 'P-BR', 5000, 'P-BR on the display')
    const state = await central.waitFor((m) => m.topic === `${base('w02')}/state` && m.payload.mode === 'paused', 5000, 'paused state')
    expect(state.payload.pause).toMatchObject({ reason: 'break', code: 'P-BR', label: '暂停服务 · 休息', afterService: true, over: false })
    expect(await send('w02', 'call', { ticket: 'A103' })).toMatchObject({ ok: false, code: 'wrong-mode' })
    expect(await send('w02', 'resume', {})).toMatchObject({ ok: true })
    expect((await waitEvent('w02', 'resumed')).pausedMs).toBeGreaterThanOrEqual(0)
  })

  it('a call nobody answers raises the no-show prompt; the recall limit then suggests no-show', async () => {
    expect(await send('w01', 'config', { settings: { noShowPromptS: 10, recallLimit: 1 } })).toMatchObject({ ok: true })
    await send('w01', 'call', { ticket: 'D401' })
    expect(await send('w01', 'recall', {})).toMatchObject({ ok: true, result: { count: 1, left: 0, suggest: 'no-show' } })
    expect(await send('w01', 'recall', {})).toMatchObject({ ok: false, code: 'limit-reached' })
    const prompt = await waitEvent('w01', 'call-unanswered', (e) => e.ticket === 'D401', 20_000)
    expect(prompt).toMatchObject({ limitMs: 10_000, recalls: 1, suggest: 'no-show' })
    expect(prompt.waitedMs as number).toBeGreaterThanOrEqual(10_000)
    const st = await central.waitFor((m) => m.topic === `${base('w01')}/state` && (m.payload.ticket as { unanswered?: boolean } | null)?.unanswered === true, 5000, 'unanswered in state')
    expect(st.payload.mode).toBe('calling')
    expect(await send('w01', 'no-show', {})).toMatchObject({ ok: true })
    await waitEvent('w01', 'no-show', (e) => e.ticket === 'D401')
    await send('w01', 'config', { settings: { noShowPromptS: 120, recallLimit: 3 } })
  }, 60_000)

  it('the central stub runs the flow on its own: it transfers and calls back under the record, and the pause key stops its calls until pressed again', async () => {
    for (const c of COUNTERS) await send(c, 'config', { settings: { evaluationTimeoutS: 5 } })
    const stub = new CentralStub({ hall: HALL, url: mosquitto.url, log: silentLogger(), speed: 200, arrivalsPerMinute: 4, transferRate: 0.3, parkRate: 0.15, breakRate: 0, absentRate: 0 })
    const applicants = new Applicants(windows, { thinkMs: [100, 300] })
    const from = central.messages.length
    await stub.start()
    applicants.start()
    try {
      // A transferred or parked service called again under its record, and rated (or missed) once.
      // (It may be handed on again before it finishes: wait for one that finished.)
      const continuedRecords = () => central.messages.slice(from).filter((m) => /\/event\/called$/.test(m.topic) && m.payload.continues !== null).map((m) => String(m.payload.record))
      await eventually(() => continuedRecords().some((r) => outcomesOf(r).length === 1), 60_000, 'a continued service with its outcome')

      // The officer at w01 presses pause: the stub asks for a pause, which begins when w01's service ends.
      await win('w01').hardware.press('pause')
      const paused = await waitEvent('w01', 'paused', (e) => central.messages.findIndex((m) => m.payload === e) >= from, 40_000)
      const pausedAt = central.messages.findIndex((m) => m.payload === paused)
      // The stub keeps calling at w02 meanwhile; once w02 has had two more calls, w01 has had none.
      await eventually(() => central.messages.slice(pausedAt).filter((m) => m.topic === `${base('w02')}/event/called`).length >= 2, 40_000, 'two more calls at w02')
      await syncBarrier(central, central, HALL, 'w01')
      expect(central.messages.slice(pausedAt).filter((m) => m.topic === `${base('w01')}/event/called`)).toEqual([])
      expect(win('w01').running!.window.current.mode).toBe('paused')

      // This keypad has one pause key: pressed again, it resumes.
      await win('w01').hardware.press('pause')
      await waitEvent('w01', 'resumed', (e) => central.messages.findIndex((m) => m.payload === e) > pausedAt, 10_000)
      await central.waitFor((m) => central.messages.indexOf(m) > pausedAt && m.topic === `${base('w01')}/event/called`, 20_000, 'calls at w01 again')
      expect(stub.flow.some((f) => f.type === 'officer-key')).toBe(true)
      for (const r of new Set(central.messages.filter((m) => m.topic.endsWith('/event/called')).map((m) => String(m.payload.record)))) {
        expect(outcomesOf(r).length, `outcomes of ${r}`).toBeLessThanOrEqual(1)
      }
    } finally {
      applicants.stop()
      await stub.stop()
    }
  }, 150_000)
})

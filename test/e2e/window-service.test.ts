import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
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
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const HALL = 'hall-3'
const COUNTER = 'w07'
const base = `hall/${HALL}/counter/${COUNTER}`

/** A window at work, as a hall works it (docs/architecture.md §7), seen from central, the display, the relay and the NVR. */
describe('a window at work: capture, video hooks, officer keys, timeouts, restart', () => {
  let mosquitto: RunningMosquitto
  let hub: RunningHub
  let window: SimWindow
  let central: Probe
  let dir: string
  let nvr: Server
  const nvrLines: string[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-window-'))
    nvr = createServer((sock) => {
      let buf = ''
      sock.on('data', (d) => {
        buf += d.toString()
        const parts = buf.split('\r\n')
        buf = parts.pop() ?? ''
        nvrLines.push(...parts)
      })
    })
    await new Promise<void>((r) => nvr.listen(0, '127.0.0.1', () => r()))
    const nvrPort = (nvr.address() as { port: number }).port
    mosquitto = await startMosquitto()
    const credentialsFile = join(dir, 'credentials.json')
    await writeCredentialFile(credentialsFile, [await makeEntry({ username: `${HALL}-${COUNTER}`, role: 'board', hall: HALL, counter: COUNTER, password: 'pw' })])
    hub = await startHub({ hall: HALL, port: 0, credentialsFile, upstream: { url: mosquitto.url } }, silentLogger())
    central = await Probe.connect(mosquitto.url, [`hall/${HALL}/#`])
    window = new SimWindow({
      hall: HALL,
      counter: COUNTER,
      profile: await loadBoardProfile('sim-window', BOARDS_DIR),
      hub: [{ host: '127.0.0.1', port: hub.port }],
      username: `${HALL}-${COUNTER}`,
      password: 'pw',
      log: silentLogger(),
      dataDir: join(dir, 'board'),
      video: { relay: 'hold', textLine: { host: '127.0.0.1', port: nvrPort, template: '{counter} {ticket} {action} {ts}' } },
    })
    await window.start()
    await central.waitFor((m) => m.topic === `${base}/status` && m.payload.online === true, 10_000, 'birth')
  })

  afterAll(async () => {
    await window?.shutdown()
    await central?.close()
    await hub?.stop()
    await mosquitto?.stop()
    await new Promise((r) => nvr?.close(r))
    await rm(dir, { recursive: true, force: true })
  })

  async function send(name: string, args: Record<string, unknown>) {
    const payload = command(args)
    await central.publish(`${base}/cmd/${name}`, payload)
    const reply = await central.waitFor((m) => m.topic === `${base}/reply` && m.payload.cmd === payload.id, 10_000, `the reply to ${name}`)
    return { reply: reply.payload, id: payload.id as string }
  }
  const eventsOf = (type: string) => central.messages.filter((m) => m.topic === `${base}/event/${type}`).map((m) => m.payload)

  it('full service: call, photo (starts the service), fingerprint, finish, rating — with the relay held and NVR lines sent', async () => {
    expect((await send('officer', { action: 'sign-in', officer: 'wang-li' })).reply.ok).toBe(true)
    expect((await send('call', { ticket: 'A101', service: 'passport' })).reply.ok).toBe(true)
    await eventually(() => window.hardware.view().text === 'A101', 5000, 'A101 on the display')
    // Hold mode covers the window from the call through the evaluation's end, so the rating is on video too.
    await eventually(() => window.hardware.output('nvrRelay'), 5000, 'the NVR relay held from the call')

    const photo = await send('capture', { kind: 'photo' })
    expect(photo.reply).toMatchObject({ ok: true, result: { capture: 'started' } })
    const done = await central.waitFor((m) => m.topic === `${base}/event/capture-done` && m.payload.cmd === photo.id, 10_000, 'capture-done photo')
    expect(done.payload).toMatchObject({ kind: 'photo', ticket: 'A101' })
    expect(done.payload.latencyMs as number).toBeGreaterThanOrEqual(100)
    expect(eventsOf('service-started')).toHaveLength(1)
    expect(window.captures.photo!.triggers).toBe(1)
    expect(window.hardware.output('nvrRelay'), 'the NVR relay held during the service').toBe(true)

    const fp = await send('capture', { kind: 'fingerprint' })
    await central.waitFor((m) => m.topic === `${base}/event/capture-done` && m.payload.cmd === fp.id, 10_000, 'capture-done fingerprint')

    expect((await send('finish', { outcome: 'served' })).reply.ok).toBe(true)
    await eventually(() => window.hardware.output('evaluatorLamp'), 5000, 'the evaluator lamp lit')
    expect(window.hardware.output('nvrRelay'), 'the relay still held while the evaluator is open').toBe(true)
    await window.hardware.press('neutral')
    const rated = await central.waitFor((m) => m.topic === `${base}/event/evaluated`, 10_000, 'evaluated')
    expect(rated.payload).toMatchObject({ ticket: 'A101', score: 'neutral', officer: 'wang-li' })
    await eventually(() => !window.hardware.output('nvrRelay'), 5000, 'the relay released once the rating is in')
    await eventually(() => !window.hardware.output('evaluatorLamp'), 5000, 'the evaluator lamp off again')

    await eventually(() => nvrLines.some((l) => / RATING /.test(l)), 5000, 'the RATING line at the NVR')
    const actions = nvrLines.map((l) => l.split(' ')[2])
    expect(actions).toEqual(['SIGN-IN', 'CALL', 'START', 'END', 'RATING'])
    // In the hall's time (Asia/Shanghai by default), with the offset written.
    expect(nvrLines[1]).toMatch(/^W07 A101 CALL \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/)
    expect(nvrLines.join('\n')).not.toMatch(/wang-li/)
  })

  it('a capture device that never answers gives capture-failed(timeout); a second capture while one runs gets one outcome, the busy reply', async () => {
    await send('call', { ticket: 'A102' })
    await send('start', {})
    window.captures.photo!.setFault('never')
    const first = await send('capture', { kind: 'photo' })
    expect(first.reply.ok).toBe(true)
    const second = await send('capture', { kind: 'photo' })
    expect(second.reply).toMatchObject({ ok: false, code: 'busy' })
    const failed = await central.waitFor((m) => m.topic === `${base}/event/capture-failed` && m.payload.cmd === first.id, 10_000, 'capture-failed timeout')
    expect(failed.payload).toMatchObject({ kind: 'photo', ticket: 'A102', reason: 'timeout' })
    // Everything the board made for the refused capture has arrived once the sync behind it is answered.
    await syncBarrier(central, central, HALL, COUNTER)
    const aboutSecond = central.messages.filter((m) => m.payload.cmd === second.id && m.topic !== `${base}/cmd/capture`)
    expect(aboutSecond.map((m) => m.topic), 'the busy refusal is the one outcome: no capture-failed beside it').toEqual([`${base}/reply`])
    window.captures.photo!.setFault('none')
  })

  it('the help key raises help-requested and an NVR mark; officer keys never rate', async () => {
    await window.hardware.press('help')
    await central.waitFor((m) => m.topic === `${base}/event/help-requested`, 5000, 'help-requested')
    await central.waitFor((m) => m.topic === `${base}/event/officer-key` && m.payload.key === 'help', 5000, 'officer-key help')
    await eventually(() => nvrLines.some((l) => / HELP /.test(l)), 5000, 'HELP line')
    expect((await send('finish', { outcome: 'served' })).reply.ok).toBe(true)
    await window.hardware.press('call-next')
    await central.waitFor((m) => m.topic === `${base}/event/officer-key` && m.payload.key === 'call-next', 5000, 'officer-key call-next')
    expect(window.running!.window.current.mode).toBe('evaluating')
    expect(eventsOf('evaluated').filter((e) => e.ticket === 'A102')).toHaveLength(0)
  })

  it('an unanswered evaluation closes as evaluation-missed after the configured timeout', async () => {
    // The evaluation for A102 is open; shorten the timeout for the next one.
    await window.hardware.press('satisfied')
    await central.waitFor((m) => m.topic === `${base}/event/evaluated` && m.payload.ticket === 'A102', 5000, 'A102 rated')
    expect((await send('config', { settings: { evaluationTimeoutS: 5 } })).reply.ok).toBe(true)
    await send('call', { ticket: 'A103' })
    await send('start', {})
    await send('finish', { outcome: 'served' })
    const missed = await central.waitFor((m) => m.topic === `${base}/event/evaluation-missed`, 10_000, 'evaluation-missed')
    expect(missed.payload).toMatchObject({ ticket: 'A103' })
    expect(missed.payload.afterMs as number).toBeGreaterThanOrEqual(5000)
  })

  it('no-show and pause/resume: the display goes dark, then shows the reason\'s code while paused', async () => {
    await send('call', { ticket: 'B200' })
    expect((await send('no-show', { ticket: 'B200' })).reply.ok).toBe(true)
    await eventually(() => window.hardware.view().text === '', 5000, 'dark display after no-show')
    expect((await send('pause', { reason: 'lunch' })).reply.ok).toBe(true)
    await eventually(() => window.hardware.view().text === 'P-LU', 5000, 'the meal code while paused')
    const refused = await send('call', { ticket: 'B201' })
    expect(refused.reply).toMatchObject({ ok: false, code: 'wrong-mode' })
    expect(String(refused.reply.message)).toMatch(/paused \(lunch\)/)
    expect((await send('resume', {})).reply.ok).toBe(true)
    expect(eventsOf('resumed')).toHaveLength(1)
  })

  it('a restart mid-service shows the same ticket again, restored from the board, not from MQTT', async () => {
    await send('call', { ticket: 'C300' })
    await send('start', {})
    await eventually(() => window.hardware.view().text === 'C300', 5000, 'C300 shown')
    const oldBoot = window.running!.boot
    await window.stop()
    // The display keeps power but the runtime is gone; a new runtime must bring back C300 by itself.
    window.hardware.display.powerCycle()
    expect(window.hardware.view().text).not.toBe('C300')
    await window.start()
    expect(window.running!.boot).not.toBe(oldBoot)
    await eventually(() => window.hardware.view().text === 'C300', 5000, 'C300 shown after the restart')
    expect(window.running!.window.current.mode).toBe('serving')
    const st = await central.waitFor((m) => m.topic === `${base}/state` && m.payload.boot === window.running!.boot, 10_000, 'state from the new boot')
    expect(st.payload).toMatchObject({ mode: 'serving', ticket: { number: 'C300' } })
  })

  it('self-test with an applicant at the window tests display and keys, and refuses the trigger loopback until nobody is there', async () => {
    expect(window.running!.window.current.mode).toBe('serving')
    const refused = await send('self-test', { tests: ['display', 'keys', 'triggers'] })
    expect(refused.reply).toMatchObject({ ok: false, name: 'self-test', code: 'busy', message: expect.stringContaining('an applicant is at the window (serving C300)') })
    const withApplicant = await send('self-test', { tests: ['display', 'keys'] })
    expect(withApplicant.reply).toMatchObject({ ok: true, name: 'self-test', result: { display: 'ok', keys: expect.objectContaining({ satisfied: 'ok' }) } })
    expect(await send('park', { reason: 'document' })).toMatchObject({ reply: { ok: true } })
    const { reply } = await send('self-test', { tests: ['display', 'keys', 'triggers'] })
    expect(reply).toMatchObject({ ok: true, name: 'self-test' })
    const result = reply.result as { display: string; keys: Record<string, string>; triggers: Record<string, string> }
    expect(result.display).toBe('ok')
    expect(result.keys.satisfied).toBe('ok')
    expect(result.triggers.photo).toMatch(/^ok \(\d+ ms\)$/)
  })

  it('a scale of five keys is refused at a three-key evaluator, and its ratings keep scale 3', async () => {
    const refused = await send('config', { settings: { scale: 5 } })
    // Taken before, the board's ratings said scale 5 while the applicant had the three keys 满意 / 一般 / 不满意.
    expect(refused.reply).toMatchObject({ ok: false, code: 'unsupported', message: "settings.scale: 5 needs a 5-key evaluator; this window's has 3 keys" })
    expect(window.running!.window.current.settings.scale).toBe(3)
    expect((await send('config', { settings: { scale: 3 } })).reply).toMatchObject({ ok: true, result: { applied: ['scale'] } })
  })

  it('a failed self-test names in its message what failed, and carries the whole outcome in result as a passed one does', async () => {
    // The camera's done line never answers: the trigger loopback of the photo device times out.
    window.captures.photo!.setFault('never')
    try {
      const { reply } = await send('self-test', { tests: ['display', 'keys', 'triggers'] })
      expect(reply).toMatchObject({ ok: false, name: 'self-test', code: 'device-fault' })
      // Only what failed, in words: before, the message was the whole result as JSON (passed tests too), cut at 480 characters, and result was absent.
      expect(reply.message).toMatch(/^self-test failed: triggers\.photo: timeout: /)
      expect(reply.message).not.toMatch(/fingerprint|display|satisfied/)
      const result = reply.result as { display: string; keys: Record<string, string>; triggers: Record<string, string> }
      expect(result.display).toBe('ok')
      expect(result.keys.satisfied).toBe('ok')
      expect(result.triggers.photo).toMatch(/^timeout: /)
      expect(result.triggers.fingerprint).toMatch(/^ok \(\d+ ms\)$/)
    } finally {
      window.captures.photo!.setFault('none')
    }
  })
})

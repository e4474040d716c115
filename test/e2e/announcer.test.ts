import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startMosquitto, type RunningMosquitto } from '../support/mosquitto.ts'
import { Probe, eventually, command } from '../support/probe.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { makeEntry, writeCredentialFile } from '../../hub/credentials.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindow } from '../../sim/sim-window.ts'
import { topics, type CommandName } from '../../edge/protocol/index.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { VoicePack } from '../../hub/announcer/voice-pack.ts'
import { clipSequence, wavSamples } from '../support/clip-sequence.ts'
import type { AnnouncementView } from '../../hub/announcer/announcer.ts'
import { startSimHall } from '../../sim/hall.ts'

const HALL = 'hall-9'
const COUNTERS = ['w03', 'w05', 'w07'] as const
const A012_TO_3 = ['请', 'A', '0', '1', '2', '号', '到', '3', '号窗口', '办理']
const said = (ticket: string, window: string) => ['请', ...ticket, '号', '到', ...window, '号窗口', '办理']

/**
 * Issue 17, done when: central (real Mosquitto) calls A012 to window 3, the
 * hub's announcer says 请 / A / 0 / 1 / 2 / 号 / 到 / 3 / 号窗口 / 办理 from the
 * espeak-ng pack, read back from the audio it wrote; two windows called at
 * once are said one after the other, each whole.
 */
describe('the hall announcer end to end: central → hub → board → called → voice', () => {
  let mosquitto: RunningMosquitto
  let hub: RunningHub
  let central: Probe
  let dir: string
  const windows = new Map<string, SimWindow>()

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-announcer-'))
    mosquitto = await startMosquitto()
    const credentialsFile = join(dir, 'credentials.json')
    await writeCredentialFile(credentialsFile, await Promise.all(COUNTERS.map((c) => makeEntry({ username: `${HALL}-${c}`, role: 'board', hall: HALL, counter: c, password: 'right-password' }))))
    hub = await startHub(
      {
        hall: HALL,
        port: 0,
        credentialsFile,
        upstream: { url: mosquitto.url },
        http: { port: 0 },
        // The default pack is made at the first start, from espeak-ng.
        announcer: { voiceDir: join(dir, 'voice'), output: { dir: join(dir, 'out'), line: join(dir, 'line.wav') } },
      },
      silentLogger(),
    )
    central = await Probe.connect(mosquitto.url, [`hall/${HALL}/#`])
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    for (const counter of COUNTERS) {
      const w = new SimWindow({ hall: HALL, counter, profile, hub: [{ host: '127.0.0.1', port: hub.port }], username: `${HALL}-${counter}`, password: 'right-password', log: silentLogger() })
      await w.start()
      windows.set(counter, w)
    }
    // Central's commands reach a board once the bridge is up and the board is born.
    await central.waitFor((m) => m.topic === topics.hubBridge(HALL) && m.payload.state === 'connected', 20_000, 'the bridge connected')
    for (const counter of COUNTERS) await central.waitFor((m) => m.topic === topics.status(HALL, counter) && m.payload.online === true, 20_000, `the birth of ${counter}`)
    for (const counter of COUNTERS) expect((await send(counter, 'officer', { action: 'sign-in', officer: `p-${counter}` })).ok).toBe(true)
  }, 60_000)

  afterAll(async () => {
    for (const w of windows.values()) await w.stop()
    await central?.close()
    await hub?.stop()
    await mosquitto?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function send(counter: string, name: CommandName, args: Record<string, unknown>) {
    const payload = command(args)
    await central.publish(topics.cmd(HALL, counter, name), payload)
    const reply = await central.waitFor((m) => m.topic === topics.reply(HALL, counter) && m.payload.cmd === payload.id, 10_000, `the reply to ${name} at ${counter}`)
    return reply.payload
  }

  /** The announcement files once `n` announcements have been said (a file is whole once its announcement is). */
  async function announcementFiles(n: number): Promise<string[]> {
    await eventually(() => hub.announcer!.recent().filter((a) => a.status === 'said').length >= n, 30_000, `${n} announcement(s) said`)
    return (await readdir(join(dir, 'out'))).filter((f) => f.endsWith('.wav')).sort()
  }

  /** The pack's clips by name, as the hub loaded them: what the audio is searched for. */
  async function packClips(): Promise<Map<string, Int16Array>> {
    const pack = await VoicePack.load(join(dir, 'voice'), silentLogger())
    const names = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', '请', '号', '到', '号窗口', '办理']
    return new Map(names.map((n) => [n, pack.clip('zh', n)!]))
  }

  it('central calls A012 to window 3: the event carries the public window and the announcer says 请 / A / 0 / 1 / 2 / 号 / 到 / 3 / 号窗口 / 办理', async () => {
    expect(await send('w03', 'call', { ticket: 'A012' })).toMatchObject({ ok: true })
    const called = await central.waitFor((m) => m.topic === topics.event(HALL, 'w03', 'called'), 10_000, 'event/called at central')
    expect(called.payload).toMatchObject({ ticket: 'A012', window: { number: '3', name: '3号窗口' } })
    const [file] = await announcementFiles(1)
    const audio = await wavSamples(join(dir, 'out', file!))
    expect(clipSequence(audio.samples, await packClips()).map((c) => c.clip)).toEqual(A012_TO_3)
    // The dashboard lists it, in hall-local time.
    const snap = (await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/hall`)).json()) as { announcer: { working: boolean; recent: AnnouncementView[] } }
    expect(snap.announcer.working).toBe(true)
    expect(snap.announcer.recent[0]).toMatchObject({ counter: 'w03', ticket: 'A012', text: '请A012号到3号窗口办理', status: 'said', missing: [] })
    expect(snap.announcer.recent[0]!.localTime).toMatch(/^\d\d:\d\d:\d\d$/)
  }, 60_000)

  it('two windows calling at once are said one after the other, each whole, never mixed', async () => {
    const clips = await packClips()
    await Promise.all([send('w05', 'call', { ticket: 'B007' }), send('w07', 'call', { ticket: 'C120' })])
    const files = await announcementFiles(3)
    const seqs = await Promise.all(files.slice(1).map(async (f) => clipSequence((await wavSamples(join(dir, 'out', f))).samples, clips).map((c) => c.clip)))
    expect(seqs).toEqual(expect.arrayContaining([said('B007', '5'), said('C120', '7')]))
    // The loudspeaker line: the three, one after another, none cut into another.
    const line = clipSequence((await wavSamples(join(dir, 'line.wav'))).samples, clips).map((c) => c.clip)
    const order = hub.announcer!.recent().reverse().map((a) => said(a.ticket, a.window.number))
    expect(line).toEqual(order.flat())
    expect(order[0]).toEqual(A012_TO_3)
  }, 60_000)
})

describe('a simulated hall without espeak-ng (npm start on a machine without it)', () => {
  it('runs anyway; the announcer reports it cannot speak, with the exact install command, and lists the calls it would say', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'e2e-no-espeak-'))
    const sim = await startSimHall({
      hall: 'hall-8', windows: 1, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, speed: 20, board: 'sim-window', traffic: false,
      announcer: { dir, espeak: join(dir, 'no-such-espeak-ng') },
      log: silentLogger(),
    })
    try {
      const snap = (await (await fetch(`http://127.0.0.1:${sim.hub.httpPort}/api/hall`)).json()) as { announcer: { working: boolean; problem: string } }
      expect(snap.announcer).toMatchObject({ working: false, problem: expect.stringContaining('sudo apt-get install -y espeak-ng') })
      expect(snap.announcer.problem).toMatch(/未安装 espeak-ng.*espeak-ng is not installed/)
      const central = await Probe.connect(sim.centralUrl, ['hall/hall-8/#'])
      try {
        await central.waitFor((m) => m.topic === topics.status('hall-8', 'w01') && m.payload.online === true, 20_000, 'the birth of w01')
        await central.waitFor((m) => m.topic === topics.hubBridge('hall-8') && m.payload.state === 'connected', 20_000, 'the bridge connected')
        const sign = command({ action: 'sign-in', officer: 'p1' })
        await central.publish(topics.cmd('hall-8', 'w01', 'officer'), sign)
        await central.waitFor((m) => m.topic === topics.reply('hall-8', 'w01') && m.payload.cmd === sign.id, 10_000, 'the sign-in reply')
        await central.publish(topics.cmd('hall-8', 'w01', 'call'), command({ ticket: 'A001' }))
        await eventually(() => sim.hub.announcer!.recent()[0]?.status === 'silent', 10_000, 'the call listed as silent')
        expect(sim.hub.announcer!.recent()[0]).toMatchObject({ text: '请A001号到1号窗口办理', missing: ['请', 'A', '0', '0', '1', '号', '到', '1', '号窗口', '办理'] })
      } finally {
        await central.close()
      }
    } finally {
      await sim.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

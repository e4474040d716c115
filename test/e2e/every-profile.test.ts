import { mkdtemp, rm } from 'node:fs/promises'
import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { makeEntry, writeCredentialFile } from '../../hub/credentials.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { SimWindow } from '../../sim/sim-window.ts'
import { command, eventually, Probe } from '../support/probe.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

const HALL = 'hall-9'
const PROFILES = readdirSync(BOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort()
const counterFor = (i: number) => `w${String(i + 1).padStart(2, '0')}`

/**
 * Every shipped board profile runs the real edge runtime (startEdge) on its
 * simulated hardware behind a real hub: a call sent as central sends it shows
 * on that board's display, through whichever display driver the profile names.
 */
describe('every board profile through the edge runtime and a hub', () => {
  let dir: string
  let hub: RunningHub
  let central: Probe
  const windows = new Map<string, SimWindow>()

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'profiles-'))
    const credentialsFile = join(dir, 'credentials.json')
    const entries = await Promise.all([
      makeEntry({ username: 'central', role: 'bridge', hall: HALL, counter: null, password: 'bridge-password' }),
      ...PROFILES.map((_, i) =>
        makeEntry({ username: `${HALL}-${counterFor(i)}`, role: 'board', hall: HALL, counter: counterFor(i), password: 'board-password' }),
      ),
    ])
    await writeCredentialFile(credentialsFile, entries)
    hub = await startHub({ hall: HALL, port: 0, credentialsFile }, silentLogger())
    central = await Probe.connect(`mqtt://127.0.0.1:${hub.port}`, [`hall/${HALL}/counter/+/reply`], {
      clientId: 'central',
      username: 'central',
      password: 'bridge-password',
    })
    for (const [i, id] of PROFILES.entries()) {
      const w = new SimWindow({
        hall: HALL,
        counter: counterFor(i),
        profile: await loadBoardProfile(id, BOARDS_DIR),
        hub: [{ host: '127.0.0.1', port: hub.port }],
        username: `${HALL}-${counterFor(i)}`,
        password: 'board-password',
        log: silentLogger(),
      })
      await w.start()
      windows.set(id, w)
    }
  })

  afterAll(async () => {
    for (const w of windows.values()) await w.stop()
    await central?.close()
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function send(counter: string, name: string, args: Record<string, unknown>) {
    const payload = command(args)
    await central.publish(`hall/${HALL}/counter/${counter}/cmd/${name}`, payload)
    const reply = await central.waitFor(
      (m) => m.topic === `hall/${HALL}/counter/${counter}/reply` && m.payload.cmd === payload.id,
      10_000,
      `the reply to ${name} from ${counter}`,
    )
    return reply.payload
  }

  it.each(PROFILES)('%s shows a call on its display', async (id) => {
    const w = windows.get(id)!
    await eventually(() => w.running?.link.connected, 10_000, `${id} to connect`)
    // A closed window is dark on a segment display; a pixel screen says so (窗口关闭, scrolling on a strip too narrow for its English).
    const pixel = w.hardware.screenPixels() !== undefined
    if (pixel) await eventually(() => /窗口|关闭|Closed/.test(w.hardware.view().text), 10_000, `${id} to show 窗口关闭 Closed`)
    else expect(w.hardware.view()).toMatchObject({ lit: true, text: '' })
    expect(await send(w.counter, 'officer', { action: 'sign-in', officer: 'li-na', officerName: 'Li Na' })).toMatchObject({ ok: true })
    const digits = w.hardware.profile.display.digits
    // A letter only the 14-segment backpack (and a pixel screen) can show goes to the boards that have one; the others refuse it.
    const wantsK = w.hardware.profile.display.driver === 'ht16k33-alpha' || pixel
    const refused = await send(w.counter, 'call', { ticket: 'K042' })
    expect(refused.ok).toBe(wantsK)
    const ticket = wantsK ? 'K042' : 'B101'
    if (!wantsK) expect(await send(w.counter, 'call', { ticket })).toMatchObject({ ok: true })
    const shown = pixel ? `请${ticket}号` : ticket
    const view = await eventually(() => {
      const v = w.hardware.view()
      return v.text === shown && v.lit ? v : null
    }, 5_000, `${id} to show ${shown}`)
    if (!pixel) expect(view?.glyphs).toHaveLength(digits)
    // The officer panel shows who signed in, by name and staff number.
    if (w.hardware.officerPanel) expect(w.hardware.panel()?.view.lines).toEqual([`${Number(w.counter.slice(1))}号窗口 K042`, '姓名 Li Na', '警号 li-na', '叫号 Calling'])
  })
})

/// <reference lib="dom" />
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../support/chromium.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type HubConfig, type RunningHub } from '../../hub/main.ts'
import { startEdge, type RunningEdge } from '../../edge/main.ts'
import { SyncedClock } from '../../edge/link/clock-sync.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { makeEntry, writeCredentialFile } from '../../hub/credentials.ts'
import { topics, type CommandName } from '../../edge/protocol/index.ts'
import { freePort } from '../support/ports.ts'
import { command, eventually } from '../support/probe.ts'
import { HubTap } from '../support/hub-tap.ts'

const HALL = 'hall-32'
const HOUR = 3_600_000

/** HH:MM:SS of an instant in the hall's zone (China Standard Time). */
function hallClock(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(iso))
}

interface WindowJson {
  counter: string
  serviceStartedAt: string | null
  state: { pauseAfter: unknown } | null
  alerts: Array<{ ts: string; receivedAt: string; synced?: boolean }>
}

/**
 * The duty supervisor's dashboard on a morning when a window's board has no set clock (no real-time
 * clock, NTP not through yet: it reads three hours behind and says `synced: false`). A bad rating there
 * is shown at the time the hub received it, said so in both languages, not at the board's time nobody
 * can look up; and when NTP steps that clock mid-service the tile's service time does not jump.
 * Real hub, real board on simulated hardware with a wall clock of its own, Debian's Chromium.
 */
describe('dashboard when a board\'s clock is not set', () => {
  let dir: string
  let hub: RunningHub
  let tap: HubTap
  let edge: RunningEdge
  let hw: SimWindowHardware
  let context: BrowserContext
  let page: Page
  let url: string
  let boardOffset = -3 * HOUR

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashboard-clock-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeCredentialFile(credentialsFile, [await makeEntry({ username: `${HALL}-w01`, role: 'board', hall: HALL, counter: 'w01', password: 'pw-w01-for-tests' })])
    const hubConfig: HubConfig = { hall: HALL, port: await freePort(), credentialsFile, dataDir: join(dir, 'hub'), http: { host: '127.0.0.1', port: await freePort(), officerNames: true } }
    hub = await startHub(hubConfig, silentLogger())
    tap = await HubTap.attach(hub, topics.hallTree(HALL))
    url = `http://127.0.0.1:${hubConfig.http!.port}/`
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    hw = new SimWindowHardware(profile)
    // The board's own wall clock, unset: the probe says so, as probeClockSync does before NTP.
    const clock = new SyncedClock({ log: silentLogger(), fallback: false, probe: async () => false, now: () => Date.now() + boardOffset })
    await clock.start()
    edge = await startEdge(
      { hall: HALL, counter: 'w01', hub: [{ host: '127.0.0.1', port: hubConfig.port }], username: `${HALL}-w01`, password: 'pw-w01-for-tests', dataDir: join(dir, 'w01') },
      { profile, gpio: hw.gpio, bus: hw.bus, log: silentLogger(), clock },
    )
    await eventually(() => edge.link.connected, 10_000, 'the board to connect')
    await send('officer', { action: 'sign-in', officer: 'P20117', officerName: 'Li Na' })
    context = await launchChromium(join(dir, 'profile'), { viewport: { width: 390, height: 844 }, timezoneId: 'America/New_York' })
    page = await context.newPage()
    await page.goto(url)
    await page.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'live', null, { timeout: 10_000 })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    await edge?.stop()
    await hw?.stop()
    await hub?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  async function send(name: CommandName, args: Record<string, unknown>) {
    const p = command(args)
    const reply = tap.waitFor((m) => m.topic === topics.reply(HALL, 'w01') && m.payload.cmd === p.id, 10_000, `reply to ${name}`)
    await tap.publish(topics.cmd(HALL, 'w01', name), p)
    const r = await reply
    expect(r.payload.ok, JSON.stringify(r.payload)).toBe(true)
  }

  const w01 = async () => ((await (await fetch(`${url}api/hall`)).json()) as { windows: WindowJson[] }).windows.find((w) => w.counter === 'w01')!

  it('a bad rating from a board whose clock is not set is shown at the hub\'s receive time, and says so in both languages', async () => {
    await send('call', { ticket: 'A007', caseNo: 'CJ2026120700007', item: 'passport' })
    await send('start', {})
    await send('finish', { outcome: 'served' })
    await eventually(() => edge.window.current.mode === 'evaluating', 5000, 'the evaluation to open')
    await hw.press('dissatisfied')
    await page.waitForFunction(() => document.querySelectorAll('#alert-list li').length === 1, null, { timeout: 20_000 })
    const alert = (await w01()).alerts[0]!
    expect(alert.synced).toBe(false)
    expect(hallClock(alert.ts), 'the staging: the board reads hours behind').not.toBe(hallClock(alert.receivedAt))
    expect(await page.locator('#alert-list li time').first().textContent()).toBe(hallClock(alert.receivedAt))
    const clockNote = await page.locator('#alert-list li [data-field="clock"]').first().textContent()
    expect(clockNote).toContain('窗口时钟未校准')
    expect(clockNote).toContain("the window's clock was not set")
    expect(await page.locator('#alert-list li [data-field="video"]').first().textContent()).toContain("on the window's unset clock")
  }, 40_000)

  it('NTP steps the board\'s clock mid-service: the tile\'s service time does not jump by the step', async () => {
    await send('call', { ticket: 'A008' })
    await send('start', {})
    await eventually(async () => (await w01()).serviceStartedAt !== null, 5000, 'the hub to have the service')
    const before = (await w01()).serviceStartedAt!
    expect(Date.now() - Date.parse(before)).toBeLessThan(60_000)
    // NTP's first sync: the board's clock steps from three hours behind to right.
    boardOffset = 0
    // A pause asked for after this service is a new state of the same service, stamped on the stepped clock.
    await send('pause', { reason: 'break' })
    await eventually(async () => (await w01()).state?.pauseAfter != null, 5000, 'the hub to have the new state')
    expect((await w01()).serviceStartedAt).toBe(before)
    await page.reload()
    await page.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'live' && document.querySelector('[data-counter="w01"] [data-field="elapsed"]')?.textContent !== '–', null, { timeout: 10_000 })
    expect(await page.locator('[data-counter="w01"] [data-field="elapsed"]').textContent()).toMatch(/^0:\d\d$/)
  }, 40_000)

  it('a phone whose clock is hours off from the hub\'s (or a hub still on 1970) counts the service time on the hub\'s clock', async () => {
    expect((await w01()).serviceStartedAt, 'the service of the test before is under way').not.toBeNull()
    const phone = await context.newPage()
    try {
      await phone.clock.install({ time: Date.now() + 5 * HOUR })
      await phone.goto(url)
      await phone.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'live' && document.querySelector('[data-counter="w01"] [data-field="elapsed"]')?.textContent !== '–', null, { timeout: 10_000 })
      expect(await phone.locator('[data-counter="w01"] [data-field="elapsed"]').textContent()).toMatch(/^\d:\d\d$/)
      await phone.goto(`${url}window/w01`)
      await phone.waitForFunction(() => document.querySelector('[data-started]') !== null, null, { timeout: 10_000 })
      expect(await phone.locator('[data-started]').first().textContent()).toMatch(/^\d:\d\d$/)
    } finally {
      await phone.close()
    }
  }, 40_000)
})

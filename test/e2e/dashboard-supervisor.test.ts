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
import type { EdgeConfig } from '../../edge/config.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { makeEntry, writeCredentialFile } from '../../hub/credentials.ts'
import { topics, type CommandName } from '../../edge/protocol/index.ts'
import { freePort } from '../support/ports.ts'
import { command, eventually } from '../support/probe.ts'
import { HubTap } from '../support/hub-tap.ts'
import { letTimePass } from '../support/pace.ts'
import { FaultProxy } from '../support/fault-proxy.ts'

const HALL = 'hall-31'

/** HH:MM:SS of an instant in the hall's zone (China Standard Time), as the hall's screens and NVR lines read it. */
function hallClock(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(iso))
}

/**
 * The dashboard as the duty supervisor (值班领导) reads it on a phone in a busy hall: a bad rating names
 * the window by the number on its sign and the moment to pull from the video, also when it arrives late;
 * a called number nobody answers and a pause past its limit show on the window's tile.
 * Real hub, real boards on simulated hardware, Debian's Chromium in New York time.
 */
describe('dashboard for the duty supervisor, in Chromium', () => {
  let dir: string
  let hubConfig: HubConfig
  let hub: RunningHub | null = null
  let tap: HubTap
  const edges = new Map<string, RunningEdge>()
  const hardware = new Map<string, SimWindowHardware>()
  let context: BrowserContext
  let page: Page
  let url: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashboard-supervisor-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeCredentialFile(credentialsFile, await Promise.all(['w01', 'w03'].map((c) => makeEntry({ username: `${HALL}-${c}`, role: 'board', hall: HALL, counter: c, password: `pw-${c}-for-tests` }))))
    hubConfig = { hall: HALL, port: await freePort(), credentialsFile, dataDir: join(dir, 'hub'), http: { host: '127.0.0.1', port: await freePort(), officerNames: true } }
    hub = await startHub(hubConfig, silentLogger())
    tap = await HubTap.attach(hub, topics.hallTree(HALL))
    url = `http://127.0.0.1:${hubConfig.http!.port}/`
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    // w03's board serves the window whose sign says 15: the installer's counter id is not the public number.
    const boards: Array<[string, Partial<EdgeConfig>]> = [['w01', {}], ['w03', { window: { number: '15' } }]]
    for (const [c, extra] of boards) {
      const hw = new SimWindowHardware(profile)
      hardware.set(c, hw)
      edges.set(
        c,
        await startEdge(
          { hall: HALL, counter: c, hub: [{ host: '127.0.0.1', port: hubConfig.port }], username: `${HALL}-${c}`, password: `pw-${c}-for-tests`, dataDir: join(dir, c), ...extra },
          { profile, gpio: hw.gpio, bus: hw.bus, log: silentLogger() },
        ),
      )
    }
    await eventually(() => [...edges.values()].every((e) => e.link.connected), 10_000, 'the boards to connect')
    await send('w01', 'officer', { action: 'sign-in', officer: 'P20117', officerName: 'Li Na' })
    await send('w03', 'officer', { action: 'sign-in', officer: 'P10482', officerName: 'Wang Fang' })
    context = await launchChromium(join(dir, 'profile'), { viewport: { width: 390, height: 844 }, timezoneId: 'America/New_York' })
    page = await context.newPage()
    await page.goto(url)
    await page.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'live', null, { timeout: 10_000 })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    for (const e of edges.values()) await e.stop()
    for (const h of hardware.values()) await h.stop()
    await hub?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  async function send(counter: string, name: CommandName, args: Record<string, unknown>) {
    const p = command(args)
    const reply = tap.waitFor((m) => m.topic === topics.reply(HALL, counter) && m.payload.cmd === p.id, 10_000, `reply to ${name} at ${counter}`)
    await tap.publish(topics.cmd(HALL, counter, name), p)
    const r = await reply
    expect(r.payload.ok, JSON.stringify(r.payload)).toBe(true)
  }

  const alertText = () => page.locator('#alert-list li').first().textContent()

  it('a 不满意 pressed while the hub is down reaches the supervisor after the restart: window by its public number, officer, ticket, case, and the video moment of the press in hall time', async () => {
    await send('w03', 'call', { ticket: 'A025', caseNo: 'CJ2025030400191', item: 'passport' })
    await send('w03', 'start', {})
    await send('w03', 'finish', { outcome: 'served' })
    await eventually(() => edges.get('w03')!.window.current.mode === 'evaluating', 5000, 'the evaluation to open')
    // The tile is named as the sign over the window says, as the voice caller says it.
    await page.waitForFunction(() => document.querySelector('[data-counter="w03"] [data-field="detail-link"]')?.textContent?.startsWith('15号窗口 window 15'), null, { timeout: 10_000 })

    await hub!.stop()
    hub = null
    await page.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'reconnecting', null, { timeout: 15_000 })
    await hardware.get('w03')!.press('dissatisfied')
    // The board has the rating (and its alert) in its journal once its evaluation has closed.
    await eventually(() => edges.get('w03')!.window.current.mode !== 'evaluating', 5000, 'the rating to be taken')
    await letTimePass(2500, 'the hub stays down a while, so the alert reaches it seconds after the press')
    hub = await startHub(hubConfig, silentLogger())
    tap = await HubTap.attach(hub, topics.hallTree(HALL))

    await page.waitForFunction(() => document.querySelectorAll('#alert-list li').length === 1, null, { timeout: 20_000 })
    const hall = (await (await fetch(`${url}api/hall`)).json()) as { windows: Array<{ counter: string; alerts: Array<{ ts: string; receivedAt: string }> }> }
    const alert = hall.windows.find((w) => w.counter === 'w03')!.alerts[0]!
    expect(hallClock(alert.ts), 'the staging: the alert reached the hub seconds after the press').not.toBe(hallClock(alert.receivedAt))
    const text = await alertText()
    expect(text).toContain('差评提醒 — 15号窗口 · A025 · 不满意')
    expect(text).toContain('Bad rating — window 15 · A025 · dissatisfied')
    expect(text).toContain('办理人 officer Wang Fang (P10482)')
    expect(text).toContain('办件编号 case CJ2025030400191')
    expect(await page.locator('#alert-list li time').first().textContent()).toBe(hallClock(alert.ts))
    expect(await page.locator('#alert-list li [data-field="video"]').first().textContent()).toBe(`录像标记 video mark: W03 A025 BAD-RATING ${hallClock(alert.ts)}`)

    // A reload keeps it (the hub saved it across its restart).
    await page.reload()
    await page.waitForFunction(() => document.querySelectorAll('#alert-list li').length === 1 && document.getElementById('hub-state')?.dataset.state === 'live', null, { timeout: 10_000 })
    expect(await alertText()).toContain('15号窗口')
    expect(await page.locator('#alert-list li time').first().textContent()).toBe(hallClock(alert.ts))
  }, 60_000)

  it('a link that goes silent (no close, as a Wi-Fi that drops) says the view is stale and since when, then catches up by itself', async () => {
    await eventually(() => [...edges.values()].every((e) => e.link.connected), 15_000, 'the boards to reconnect')
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hubConfig.http!.port }, name: 'phone-link' })
    const phone = await context.newPage()
    try {
      await phone.goto(`http://127.0.0.1:${proxy.port}/`)
      await phone.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'live' && document.querySelector('[data-counter="w01"]') !== null, null, { timeout: 10_000 })
      expect(await phone.locator('#stale').isHidden()).toBe(true)
      proxy.stall()
      // Nothing closes: only the hub's missing pings tell the page.
      await phone.waitForFunction(() => document.getElementById('hub-state')?.dataset.state !== 'live' && !document.getElementById('stale')!.hidden, null, { timeout: 30_000 })
      expect(await phone.locator('#stale').textContent()).toMatch(/^画面可能已过时：自 \d\d:\d\d:\d\d 起未收到集线器的更新 This view may be out of date: nothing from the hub since \d\d:\d\d:\d\d$/)
      await send('w01', 'call', { ticket: 'C101' })
      proxy.resume()
      await phone.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'live' && document.getElementById('stale')!.hidden, null, { timeout: 20_000 })
      await phone.waitForFunction(() => document.querySelector('[data-counter="w01"] [data-field="ticket"]')?.textContent === 'C101', null, { timeout: 10_000 })
    } finally {
      await phone.close()
      await proxy.close()
    }
    await send('w01', 'no-show', {})
  }, 60_000)

  it("the window's own page too: a silent link says the view is stale and since when, then catches up by itself", async () => {
    await eventually(() => [...edges.values()].every((e) => e.link.connected), 15_000, 'the boards to reconnect')
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hubConfig.http!.port }, name: 'phone-link-window' })
    const phone = await context.newPage()
    try {
      await phone.goto(`http://127.0.0.1:${proxy.port}/window/w01`)
      await phone.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'live', null, { timeout: 10_000 })
      expect(await phone.locator('#stale').isHidden()).toBe(true)
      proxy.stall()
      await phone.waitForFunction(() => document.getElementById('hub-state')?.dataset.state !== 'live' && !document.getElementById('stale')!.hidden, null, { timeout: 30_000 })
      expect(await phone.locator('#stale').textContent()).toMatch(/^画面可能已过时：自 \d\d:\d\d:\d\d 起未收到集线器的更新\s?This view may be out of date: nothing from the hub since \d\d:\d\d:\d\d$/)
      await send('w01', 'call', { ticket: 'C103' })
      proxy.resume()
      await phone.waitForFunction(() => document.getElementById('hub-state')?.dataset.state === 'live' && document.getElementById('stale')!.hidden, null, { timeout: 20_000 })
      await phone.waitForFunction(() => document.getElementById('state')?.textContent?.includes('C103'), null, { timeout: 10_000 })
    } finally {
      await phone.close()
      await proxy.close()
    }
    await send('w01', 'no-show', {})
  }, 60_000)

  it('an officer who presses help: the tile says the window asks for the duty supervisor, since when in hall time, and the summary counts it until the service moves on', async () => {
    await eventually(() => [...edges.values()].every((e) => e.link.connected), 15_000, 'the boards to reconnect')
    const asked = tap.waitFor((m) => m.topic === topics.event(HALL, 'w01', 'help-requested'), 10_000, 'the help request at the hub')
    await hardware.get('w01')!.press('help')
    const ts = String((await asked).payload.ts)
    await page.waitForFunction(() => document.querySelector('[data-counter="w01"] [data-field="help"]') !== null, null, { timeout: 10_000 })
    expect(await page.locator('[data-counter="w01"] [data-field="help"]').textContent()).toMatch(new RegExp(`^请求值班领导 asks for the duty supervisor · ${hallClock(ts)} · \\d+ 秒 s$`))
    expect(await page.locator('[data-field="help-count"]').textContent()).toBe('请求协助 asking for help 1')
    // The officer calls the next number: the request was dealt with.
    await send('w01', 'call', { ticket: 'C102' })
    await page.waitForFunction(() => document.querySelector('[data-counter="w01"] [data-field="ticket"]')?.textContent === 'C102', null, { timeout: 10_000 })
    expect(await page.locator('[data-counter="w01"] [data-field="help"]').count()).toBe(0)
    expect(await page.locator('[data-field="help-count"]').count()).toBe(0)
    await send('w01', 'no-show', {})
  })

  it('twenty bad ratings in a row: every one listed, and on a phone the windows still start on the first screen', async () => {
    await eventually(() => [...edges.values()].every((e) => e.link.connected), 15_000, 'the boards to reconnect')
    const w01 = edges.get('w01')!
    for (let i = 0; i < 20; i++) {
      const ticket = `D${String(200 + i)}`
      await send('w01', 'call', { ticket })
      await send('w01', 'start', {})
      await send('w01', 'finish', { outcome: 'served' })
      await eventually(() => w01.window.current.mode === 'evaluating', 5000, `the evaluation of ${ticket}`)
      await hardware.get('w01')!.press('dissatisfied')
      await eventually(() => w01.window.current.mode !== 'evaluating', 5000, `the rating of ${ticket}`)
    }
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#alert-list li')).filter((li) => li.textContent!.includes('D2')).length === 20, null, { timeout: 20_000 })
    // The pop-up says them together, the newest last, never only the last one.
    await page.waitForFunction(() => document.getElementById('toast')?.textContent?.includes('D219'), null, { timeout: 10_000 })
    expect(await page.locator('#toast [data-field="new-alerts"]').textContent()).toMatch(/^\d+ 条新差评 \d+ new bad ratings$/)
    expect(await page.locator('#toast').textContent()).toContain('D218')
    // The list scrolls within itself; the tiles follow it within the phone's first screen (844 px high).
    const tile = await page.locator('#tiles article').first().boundingBox()
    expect(tile!.y).toBeLessThan(844)
    expect(await page.locator('#alert-list').evaluate((ul) => ul.scrollHeight > ul.clientHeight)).toBe(true)
  }, 60_000)

  it('a called number nobody answers and a pause past its limit show on the tile, and count among the overtime', async () => {
    await eventually(() => [...edges.values()].every((e) => e.link.connected), 15_000, 'the boards to reconnect')
    const staleTimes = () => page.evaluate(() => document.getElementById('hub-state')!.dataset.staleTimes ?? '0')
    const staleBefore = await staleTimes()
    await send('w01', 'config', { settings: { noShowPromptS: 10 } })
    await send('w01', 'call', { ticket: 'B007' })
    // The officer of window 15 went on a break of at most a minute.
    await send('w03', 'pause', { reason: 'break', limitS: 60 })
    await page.waitForFunction(() => document.querySelector('[data-counter="w01"] [data-field="unanswered"]')?.textContent === '叫号无人应答 call unanswered', null, { timeout: 20_000 })
    await page.waitForFunction(() => document.querySelector('[data-counter="w03"] [data-field="pause-over"]')?.textContent === '暂停超时 pause over its limit', null, { timeout: 70_000 })
    expect(await page.locator('[data-field="overtime-count"]').textContent()).toBe('超时 overtime 2')
    // A minute of a quiet hall, with long spells of no news, on a healthy link: the hub's pings kept the page live throughout.
    expect(await staleTimes()).toBe(staleBefore)
    expect(await page.locator('#stale').isHidden()).toBe(true)
  }, 90_000)
})

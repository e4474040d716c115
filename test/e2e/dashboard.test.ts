/// <reference lib="dom" />
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../support/chromium.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import mqtt from 'mqtt'
import { generatePassword, makeEntry, readCredentialFile, writeCredentialFile } from '../../hub/credentials.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { Probe, command, eventually } from '../support/probe.ts'
import { letTimePass } from '../support/pace.ts'
import { faultWords } from '../../hub/dashboard/fault-words.ts'
import { docScreenshot } from '../support/doc-screenshot.ts'

// The committed screenshot in docs/ is refreshed only on request (UPDATE_DOCS=1), so a test run leaves the tree clean.
const SCREENSHOT = docScreenshot('dashboard.png')

/** The hall dashboard in a real browser (Debian's Chromium), as a hall technician uses it. */
describe('hall dashboard in Chromium', () => {
  let hall: SimHall
  let browser: BrowserContext
  let page: Page
  let central: Probe
  let profileDir: string
  let url: string

  beforeAll(async () => {
    hall = await startSimHall({ hall: 'hall-5', windows: 3, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, dashboardPort: 0, speed: 20, board: 'sim-window', traffic: false, log: silentLogger() })
    url = `http://127.0.0.1:${hall.hub.httpPort}/`
    central = await Probe.connect(hall.centralUrl, ['hall/hall-5/#'])
    profileDir = await mkdtemp(join(tmpdir(), 'chromium-profile-'))
    const context = await launchChromium(profileDir, { viewport: { width: 1280, height: 760 }, timezoneId: 'America/New_York' })
    browser = context
    page = await context.newPage()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await central?.close()
    await hall?.stop()
    if (profileDir) await rm(profileDir, { recursive: true, force: true })
  })

  async function send(counter: string, name: string, args: Record<string, unknown>) {
    const p = command(args)
    await central.publish(`hall/hall-5/counter/${counter}/cmd/${name}`, p)
    await central.waitFor((m) => m.topic === `hall/hall-5/counter/${counter}/reply` && m.payload.cmd === p.id, 10_000, `reply to ${name}`)
  }

  it('shows a tile per window, and a call made by central appears live without a reload', async () => {
    await page.goto(url)
    await page.waitForSelector('[data-counter="w03"]')
    expect(await page.locator('article.tile').count()).toBe(3)
    await eventually(async () => (await page.locator('#hub-state').getAttribute('data-state')) === 'live', 10_000, 'the live stream')
    expect(await page.locator('#hub-state').textContent()).toBe('集线器：实时 hub: live')
    await send('w01', 'officer', { action: 'sign-in', officer: 'zhao-min', officerName: 'Zhao Min' })
    await send('w01', 'call', { ticket: 'A042' })
    await page.waitForFunction(() => document.querySelector('[data-counter="w01"] [data-field="ticket"]')?.textContent === 'A042', null, { timeout: 10_000 })
    // Viewing is open, officer names are not: left out until a technician logs in (docs/operations.md).
    expect(await page.locator('[data-counter="w01"] [data-field="officer"]').textContent()).toBe('办理人 officer: 已签到（登录后显示姓名） signed in (name shown after login)')
    // The tile's number is the board's screen report, sent as soon as its display shows the call; the feed line is
    // its `called` event, sent only once the journal has it (an fsync): with a slow disk the line comes after the tile.
    await page.waitForFunction(() => document.getElementById('feed')?.textContent?.includes('called'), null, { timeout: 10_000 })
    expect(await page.locator('#feed').textContent()).toContain('called')
  })

  it('a key pressed on the simulated evaluator appears on the page as the last rating', async () => {
    await send('w01', 'start', {})
    await send('w01', 'finish', { outcome: 'served' })
    await eventually(() => hall.windows.get('w01')!.running!.window.current.mode === 'evaluating', 5000, 'evaluation open')
    await hall.windows.get('w01')!.hardware.press('satisfied')
    await page.waitForFunction(() => /satisfied \(A042\)/.test(document.querySelector('[data-counter="w01"] [data-field="rating"]')?.textContent ?? ''), null, { timeout: 10_000 })
    expect(await page.locator('#feed').textContent()).toContain('已评价 evaluated A042 · 满意 satisfied')
  })

  it('technician actions need a login; identify then blinks the window', async () => {
    expect(await page.locator('[data-counter="w02"] button[data-action="identify"]').isDisabled()).toBe(true)
    await page.fill('#user', hall.technician.username)
    await page.fill('#pass', 'wrong')
    await page.click('#login-btn')
    await page.waitForFunction(() => document.getElementById('toast')?.textContent?.includes('wrong username or password'), null, { timeout: 5000 })
    const password = (await readFile(hall.technician.passwordFile, 'utf8')).trim()
    // The failed attempt started a 1 s backoff for this address.
    await letTimePass(1100, "wait out the address's 1 s login backoff on the hub's real clock")
    await page.fill('#pass', password)
    await page.click('#login-btn')
    await page.waitForFunction(() => document.getElementById('who')?.textContent?.includes('technician'), null, { timeout: 5000 })
    await page.waitForFunction(() => document.querySelector('[data-counter="w01"] [data-field="officer"]')?.textContent === '办理人 officer: Zhao Min', null, { timeout: 10_000 })
    await page.click('[data-counter="w02"] button[data-action="identify"]')
    await page.waitForFunction(() => document.getElementById('toast')?.textContent === '2号窗口：识别完成 window 2: identify done', null, { timeout: 10_000 })
    expect(hall.windows.get('w02')!.hardware.view().text).toBe('----')
    await page.screenshot({ path: SCREENSHOT })
  })

  it('serves Prometheus metrics with per-window ratings', async () => {
    const text = await (await fetch(`${url}metrics`)).text()
    expect(text).toMatch(/^# TYPE counter_edge_boards_online gauge$/m)
    expect(text).toMatch(/counter_edge_boards_online\{hall="hall-5"\} 3/)
    expect(text).toMatch(/counter_edge_ratings_total\{hall="hall-5",counter="w01",score="satisfied"\} 1/)
    expect(text).toMatch(/counter_edge_services_total\{hall="hall-5",counter="w01",outcome="served"\} 1/)
  })

  it('a board message the hub could not accept shows in the header as quarantined, live', async () => {
    expect(await page.locator('#quarantine').isHidden()).toBe(true)
    // A board upgraded before its hub: provisioned into the running hall, it publishes an event type this hub does not know.
    const password = generatePassword()
    const entries = await readCredentialFile(hall.credentialsFile)
    await writeCredentialFile(hall.credentialsFile, [...entries, await makeEntry({ username: 'hall-5-w09', role: 'board', hall: 'hall-5', counter: 'w09', password })])
    // The hub takes the new entry once it has reloaded the file (within ~50 ms); tries are spaced so a slow
    // reload cannot use up the address's free login failures.
    const board = (await eventually(async () => {
      await letTimePass(250, 'tries spaced so a slow reload cannot use up the free login failures')
      return mqtt.connectAsync(`mqtt://127.0.0.1:${hall.hub.port}`, { clientId: 'hall-5-w09', username: 'hall-5-w09', password, reconnectPeriod: 0 }).catch(() => null)
    }, 10_000, 'the new board logged in'))!
    try {
      await board.publishAsync('hall/hall-5/counter/w09/event/queue-rebalanced', JSON.stringify({ id: 'w09-1', type: 'queue-rebalanced' }), { qos: 1 })
      await page.waitForFunction(() => document.getElementById('quarantine')?.textContent === '已隔离 quarantined: 1', null, { timeout: 10_000 })
      expect(await page.locator('#quarantine').isVisible()).toBe(true)
      expect(board.connected).toBe(true)
    } finally {
      await board.endAsync(true)
    }
  })

  it('a bad rating shows at once as an alert, in Chinese with English beside, and stays after a reload', async () => {
    await send('w03', 'officer', { action: 'sign-in', officer: 'sun-yu' })
    await send('w03', 'call', { ticket: 'A012', caseNo: 'CJ20261122007' })
    await send('w03', 'start', {})
    await send('w03', 'finish', { outcome: 'served' })
    await eventually(() => hall.windows.get('w03')!.running!.window.current.mode === 'evaluating', 5000, 'evaluation open')
    expect(await page.locator('#alerts').isHidden()).toBe(true)
    await hall.windows.get('w03')!.hardware.press('dissatisfied')
    const line = '差评提醒 — 3号窗口 · A012 · 不满意 Bad rating — window 3 · A012 · dissatisfied'
    await page.waitForFunction((text) => document.getElementById('alert-list')?.textContent?.includes(text) ?? false, line, { timeout: 10_000 })
    expect(await page.locator('#toast').textContent()).toBe(line)
    expect(await page.locator('#alert-list').textContent()).toContain('CJ20261122007')
    expect(await page.locator('[data-counter="w03"] [data-field="alerts"]').textContent()).toContain('1')
    expect(await page.locator('#feed').textContent()).toContain('差评提醒 bad rating A012 · 不满意 dissatisfied')
    // Central had it too, beside its rating, with the same record.
    const alert = await central.waitFor((m) => m.topic === 'hall/hall-5/counter/w03/event/rating-alert', 10_000, 'the alert at central')
    const rating = await central.waitFor((m) => m.topic === 'hall/hall-5/counter/w03/event/evaluated', 10_000, 'the rating at central')
    expect(alert.payload).toMatchObject({ ticket: 'A012', score: 'dissatisfied', level: '不满意', officer: 'sun-yu', record: rating.payload.record, caseNo: 'CJ20261122007' })
    await page.reload()
    await page.waitForFunction((text) => document.getElementById('alert-list')?.textContent?.includes(text) ?? false, line, { timeout: 10_000 })
    expect(await page.locator('#alert-list li').count()).toBe(1)
  })

  it('a display that stops answering: the tile says 显示屏故障 Display fault and what applicants cannot see, not the called number; plugged back, the number', async () => {
    const fault = (f: string) => fetch(`${hall.control.url}/api/windows/w02/faults`, { method: 'POST', body: JSON.stringify({ device: 'display', fault: f }), headers: { 'content-type': 'application/json' } })
    expect((await fault('absent')).status).toBe(200)
    await send('w02', 'officer', { action: 'sign-in', officer: 'qian-li' })
    await send('w02', 'call', { ticket: 'B039' })
    const tile = page.locator('[data-counter="w02"]')
    await page.waitForFunction(() => document.querySelector('[data-counter="w02"] [data-field="ticket"]')?.getAttribute('data-display') === 'fault', null, { timeout: 10_000 })
    expect(await tile.locator('[data-field="ticket"]').textContent()).toBe('显示屏故障 Display fault')
    expect(await tile.locator('[data-field="mismatch"]').textContent()).toBe('应显示 should show B039 · 申请人看不到 applicants cannot see it')
    // The code in words with what to do first, never the code alone.
    const code = (await tile.locator('[data-field="display-fault"]').getAttribute('data-code'))!
    expect(code).toMatch(/^(absent|nack)$/)
    const words = faultWords(code)
    expect(await tile.locator('[data-field="display-fault"]').textContent()).toBe(`显示屏 display: ${words.zh} ${words.en}处理 what to do: ${words.hintZh} ${words.hintEn}`)
    expect(await tile.textContent()).not.toContain('B039号')
    await page.screenshot({ path: docScreenshot('screenshots/dashboard-display-fault.png') })
    // The window's state still holds the call: the tile's number comes from the glass, not from it.
    expect(hall.windows.get('w02')!.running!.window.current.ticket?.number).toBe('B039')
    expect((await fault('none')).status).toBe(200)
    // The display re-sends its picture on its own while faulted; once it answers, the tile shows what it shows.
    await page.waitForFunction(() => document.querySelector('[data-counter="w02"] [data-field="ticket"]')?.textContent === 'B039', null, { timeout: 20_000 })
    expect(await tile.locator('[data-field="mismatch"]').count()).toBe(0)
    expect(hall.windows.get('w02')!.hardware.view().text).toBe('B039')
  }, 40_000)

  it('feed times are hall-local (Asia/Shanghai), not UTC nor the browser\'s zone', async () => {
    const first = page.locator('#feed li time').first()
    const iso = (await first.getAttribute('datetime'))!
    const shanghai = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(iso))
    expect(await first.textContent()).toBe(shanghai)
    expect(shanghai).not.toBe(iso.slice(11, 19))
  })

  it('a live event redraws only its window\'s tile: the other tiles stay the same nodes and the keyboard focus stays where it was', async () => {
    const sync = page.locator('[data-counter="w01"] button[data-action="sync"]')
    await sync.focus()
    await page.evaluate(() => {
      for (const el of Array.from(document.querySelectorAll<HTMLElement>('#tiles article'))) (el as HTMLElement & { mark?: string }).mark = el.dataset.counter
      ;(document.activeElement as HTMLElement & { mark?: string }).mark = 'focused'
    })
    await send('w03', 'call', { ticket: 'C101' })
    await page.waitForFunction(() => document.querySelector('[data-counter="w03"] [data-field="ticket"]')?.textContent === 'C101', null, { timeout: 10_000 })
    const kept = await page.evaluate(() => ({
      focus: (document.activeElement as HTMLElement & { mark?: string }).mark ?? null,
      w01: (document.querySelector('[data-counter="w01"]') as HTMLElement & { mark?: string }).mark ?? null,
      w03: (document.querySelector('[data-counter="w03"]') as HTMLElement & { mark?: string }).mark ?? null,
    }))
    expect(kept).toEqual({ focus: 'focused', w01: 'w01', w03: null })
    // The keyboard goes on from where it was: the next tile's window name (its link to the detail page), then its first button.
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => {
      const a = document.activeElement as HTMLElement
      return a.closest('[data-counter]') === document.querySelector('[data-counter="w01"]')!.nextElementSibling && a.dataset.field === 'detail-link'
    })).toBe(true)
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.action)).toBe('identify')
  })

  it('an offline window: first in the list, its timer stopped, offline in words with the time since; the summary counts it', async () => {
    await send('w01', 'call', { ticket: 'A050' })
    await send('w01', 'start', {})
    await page.waitForFunction(() => /\d+:\d\d/.test(document.querySelector('[data-counter="w01"] [data-field="elapsed"]')?.textContent ?? ''), null, { timeout: 10_000 })
    // w09 of the quarantine test is offline already.
    expect(await page.locator('[data-field="offline-count"]').textContent()).toBe('离线 offline 1')
    await hall.windows.get('w01')!.stop()
    await page.waitForFunction(() => document.querySelector('[data-counter="w01"] [data-field="offline"]') !== null, null, { timeout: 10_000 })
    const tile = page.locator('[data-counter="w01"]')
    expect(await tile.locator('[data-field="online"]').textContent()).toBe('离线 offline')
    expect(await tile.locator('[data-field="offline"]').textContent()).toMatch(/^已关机 shut down · 自 since \d\d:\d\d:\d\d · \d+ 秒 s$/)
    expect(await tile.locator('[data-field="elapsed"]').textContent()).toBe('–')
    expect(await tile.locator('[data-field="mode"]').textContent()).toMatch(/^最后已知 last known: 办理中 serving/)
    expect(await page.locator('#tiles article').first().getAttribute('data-counter')).toBe('w01')
    expect(await page.locator('[data-field="offline-count"]').textContent()).toBe('离线 offline 2')
    expect(await page.locator('[data-field="online-count"]').textContent()).toBe('在线 online 2')
    await page.screenshot({ path: docScreenshot('screenshots/dashboard-offline.png') })
  })

  it('a revoked board says so on its tile, in words, not "connection lost", and counts as out of service, not offline', async () => {
    const offlineBefore = Number((await page.locator('[data-field="offline-count"]').textContent())!.split(' ').pop())
    const entries = await readCredentialFile(hall.credentialsFile)
    await writeCredentialFile(hall.credentialsFile, entries.map((e) => (e.counter === 'w02' && e.role === 'board' ? { ...e, revoked: true } : e)))
    // The hub reloads the file and ends the board's session at once; its tile names the cause.
    await page.waitForFunction(() => document.querySelector('[data-counter="w02"] [data-field="offline"]')?.textContent?.startsWith('已撤销授权，停用；重新开通即可恢复 credentials revoked: out of service; provision it again to bring it back'), null, { timeout: 15_000 })
    expect(await page.locator('[data-counter="w02"] [data-field="online"]').textContent()).toBe('停用 out of service')
    // Taken out of service on purpose: it no longer needs a technician, so it is not among the offline.
    expect(await page.locator('[data-field="revoked-count"]').textContent()).toBe('停用 out of service 1')
    // w02 was online: the offline count is what it was.
    expect(await page.locator('[data-field="offline-count"]').textContent()).toBe(`离线 offline ${offlineBefore}`)
    const metrics = await (await fetch(`http://127.0.0.1:${hall.hub.httpPort}/metrics`)).text()
    expect(metrics).not.toMatch(/counter_edge_window_online\{[^}]*counter="w02"/)
    expect(metrics).toMatch(/counter_edge_window_online\{[^}]*counter="w01"/)
  })
})

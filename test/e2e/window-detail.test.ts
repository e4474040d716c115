/// <reference lib="dom" />
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../support/chromium.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { Probe, command } from '../support/probe.ts'
import { HubTap } from '../support/hub-tap.ts'
import { faultWords } from '../../hub/dashboard/fault-words.ts'
import { untilOnlineAtHub } from '../support/hall-online.ts'
import { docScreenshot } from '../support/doc-screenshot.ts'

const HALL = 'hall-8'
/** Committed screenshots in docs/screenshots are refreshed only on request (UPDATE_DOCS=1); otherwise they are rendered into memory. */
const shot = (name: string) => docScreenshot(`screenshots/${name}.png`)
const OFFICER_ID = '031245'
const OFFICER_NAME = '李娜'

/**
 * A window's detail page (/window/{counter}) and what goes with it on the
 * dashboard, in Debian's Chromium: the pixel screen as applicants see it, a
 * fault in words with what to do, the feed kept across reloads, officer names
 * only after a technician login, a question before acting on a window with
 * an applicant, overtime in words, both languages, a 404 for a window the
 * hall does not have.
 */
describe('window detail page in Chromium', () => {
  let hall: SimHall
  let browser: BrowserContext
  let page: Page
  let central: Probe
  let tap: HubTap
  let profileDir: string
  let url: string
  let password: string

  beforeAll(async () => {
    hall = await startSimHall({ hall: HALL, windows: 2, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, dashboardPort: 0, speed: 20, board: 'sim-window', screenBoard: 'sim-window-matrix', traffic: false, log: silentLogger() })
    url = `http://127.0.0.1:${hall.hub.httpPort}/`
    await untilOnlineAtHub(hall)
    central = await Probe.connect(hall.centralUrl, [`hall/${HALL}/#`])
    // Inside the hub: every command the dashboard sends into the hall passes here.
    tap = await HubTap.attach(hall.hub, `hall/${HALL}/counter/+/cmd/#`)
    password = (await readFile(hall.technician.passwordFile, 'utf8')).trim()
    profileDir = await mkdtemp(join(tmpdir(), 'chromium-profile-'))
    browser = await launchChromium(profileDir, { viewport: { width: 1280, height: 900 }, timezoneId: 'America/New_York' })
    page = await browser.newPage()
    // w02 has the pixel strip: telemetry every 5 s, an officer on duty, a call, and its officer panel unplugged.
    await send('w02', 'config', { settings: { telemetryPeriodS: 5 } })
    await send('w02', 'officer', { action: 'sign-in', officer: OFFICER_ID, officerName: OFFICER_NAME })
    await send('w02', 'call', { ticket: 'A012' })
    const fault = await fetch(`${hall.control.url}/api/windows/w02/faults`, { method: 'POST', body: JSON.stringify({ device: 'officer-panel', fault: 'absent' }), headers: { 'content-type': 'application/json' } })
    expect(fault.status).toBe(200)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await tap?.detach()
    await central?.close()
    await hall?.stop()
    if (profileDir) await rm(profileDir, { recursive: true, force: true })
  })

  async function send(counter: string, name: string, args: Record<string, unknown>) {
    const p = command(args)
    await central.publish(`hall/${HALL}/counter/${counter}/cmd/${name}`, p)
    const reply = await central.waitFor((m) => m.topic === `hall/${HALL}/counter/${counter}/reply` && m.payload.cmd === p.id, 10_000, `reply to ${name}`)
    expect(reply.payload).toMatchObject({ ok: true })
  }

  const text = (selector: string) => page.locator(selector).first().textContent()

  it('shows the pixel screen as drawn, mode, ticket, the fault in words with what to do, link figures and the board, live', async () => {
    await page.goto(`${url}window/w02`)
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN')
    // The board reports its screen once the strip is drawn, which can be after it answered the call: until
    // then the hub (and the page) has the strip as it was before the call.
    await page.waitForFunction(() => document.querySelector('canvas[data-field="screen"]')?.getAttribute('aria-label')?.includes('请A012号'), null, { timeout: 10_000 })
    // The canvas holds the strip's lit pixels (amber), not an empty box.
    const lit = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('canvas[data-field="screen"]')!
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 0; i < d.length; i += 4) if (d[i] === 255 && d[i + 1] === 176) n++
      return { n, width: c.width, height: c.height, label: c.getAttribute('aria-label') }
    })
    expect(lit).toMatchObject({ width: 64, height: 16 })
    expect(lit.n).toBeGreaterThan(20)
    expect(lit.label).toContain('请A012号')
    expect(await text('[data-field="mode"]')).toBe('叫号中calling')
    expect(await text('[data-field="ticket"]')).toBe('A012')
    expect(await text('[data-field="online"]')).toMatch(/^在线online · 自since \d\d:\d\d:\d\d$/)
    await page.waitForSelector('[data-field="fault"]', { timeout: 10_000 })
    const code = (await page.locator('[data-field="fault"]').first().getAttribute('data-code'))!
    const words = faultWords(code)
    const fault = (await text('[data-field="fault"]'))!
    expect(fault).toContain('officer-panel')
    expect(fault).toContain(words.zh)
    expect(fault).toContain(words.en)
    expect(await text('[data-field="fault"] [data-field="hint"]')).toBe(`处理建议：${words.hintZh}What to do: ${words.hintEn}`)
    expect(await text('[data-field="board"]')).toBe('sim-window-matrix')
    expect(await text('[data-field="version"]')).toMatch(/^\d+\.\d+\.\d+/)
    // Telemetry every 5 s: the journal and the link round trip fill in without a reload.
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-field="journal-depth"]')?.textContent ?? ''), null, { timeout: 15_000 })
    expect(await text('[data-field="rtt"]')).toMatch(/^(\d+ ms|–)$/)
    expect(await text('[data-field="devices"]')).toMatch(/\d+ 个正常\d+ ok .*display/)
    // Live: the service starts, the page says so.
    await send('w02', 'start', {})
    await page.waitForFunction(() => document.querySelector('[data-field="mode"]')?.textContent === '办理中serving', null, { timeout: 10_000 })
    await page.waitForFunction(() => /开始办理service started A012/.test(document.getElementById('events')?.textContent ?? ''), null, { timeout: 10_000 })
    // Its time is on the hall's clock (Asia/Shanghai), not the browser's (New York) nor UTC.
    const at = page.locator('#events li time').first()
    const iso = (await at.getAttribute('datetime'))!
    const shanghai = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(iso))
    expect(await at.textContent()).toBe(shanghai)
    expect(shanghai).not.toBe(iso.slice(11, 19))
    // Each heading and the alt-language spans carry their own lang.
    expect(await page.locator('h2').count()).toBeGreaterThanOrEqual(5)
    expect(await page.locator('#h-faults .alt').getAttribute('lang')).toBe('en')
    expect(await lowContrast(page)).toEqual([])
    expect(await unnamed(page)).toEqual([])
    await page.screenshot({ path: shot('window-detail'), fullPage: true })
  })

  it('without a technician login no officer name or id reaches the viewer: not the page, not /api/hall, /api/windows, nor the live stream', async () => {
    await page.goto(`${url}window/w02`)
    await page.waitForSelector('[data-field="officer"]')
    await page.waitForFunction(() => document.querySelector('[data-field="officer"]')?.textContent?.startsWith('已签到'), null, { timeout: 10_000 })
    expect(await page.content()).not.toContain(OFFICER_NAME)
    expect(await page.content()).not.toContain(OFFICER_ID)
    for (const path of ['api/hall', 'api/windows/w02']) {
      const body = await (await fetch(url + path)).text()
      expect(body).toContain('"officerHidden":true')
      expect(body).not.toContain(OFFICER_NAME)
      expect(body).not.toContain(OFFICER_ID)
    }
    await page.goto(url)
    await page.waitForSelector('[data-counter="w02"] [data-field="officer"]')
    expect(await page.locator('[data-counter="w02"]').textContent()).not.toContain(OFFICER_NAME)
    // The live stream: a sync makes w02 publish its state again; the frame an open viewer gets carries no name.
    const open = await streamUntil(url, null, async () => send('w02', 'sync', {}))
    expect(open).toContain('"officerHidden":true')
    expect(open).not.toContain(OFFICER_NAME)
    expect(open).not.toContain(OFFICER_ID)
    // A technician's stream does.
    const cookie = await login(url, hall.technician.username, password)
    const full = await streamUntil(url, cookie, async () => send('w02', 'sync', {}))
    expect(full).toContain(OFFICER_NAME)
    const api = await (await fetch(`${url}api/windows/w02`, { headers: { cookie } })).json()
    expect(api.window.state.officer).toMatchObject({ id: OFFICER_ID, name: OFFICER_NAME })
  })

  it('both languages: ?lang=en, the switch in the header, and the choice kept for the next visit', async () => {
    try {
      await languages()
    } finally {
      // The tests after this one read the page in its default language.
      await page.evaluate(() => localStorage.setItem('counter-edge.lang', 'zh-CN'))
    }
  })

  async function languages() {
    await page.goto(`${url}window/w02?lang=en`)
    await page.waitForSelector('[data-field="mode"]')
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en')
    expect(await text('#h-state')).toBe('State状态')
    expect(await page.locator('#h-state .alt').getAttribute('lang')).toBe('zh-CN')
    expect(await text('[data-field="mode"]')).toBe('serving办理中')
    expect(await text('#lang-switch')).toBe('中文')
    await page.click('#lang-switch')
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN')
    expect(await text('#h-state')).toBe('状态State')
    expect(await page.evaluate(() => localStorage.getItem('counter-edge.lang'))).toBe('zh-CN')
    await page.click('#lang-switch')
    expect(await page.evaluate(() => localStorage.getItem('counter-edge.lang'))).toBe('en')
    // No ?lang: the kept choice.
    await page.goto(`${url}window/w02`)
    await page.waitForSelector('[data-field="mode"]')
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en')
    expect(await text('[data-field="mode"]')).toBe('serving办理中')
    expect(await lowContrast(page)).toEqual([])
    await page.screenshot({ path: shot('window-detail-en'), fullPage: true })
  }

  it('on a phone (375 px wide) the detail page fits the width: nothing to scroll sideways', async () => {
    await page.setViewportSize({ width: 375, height: 800 })
    try {
      await page.goto(`${url}window/w02`)
      await page.waitForSelector('[data-field="journal-depth"]')
      await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-field="journal-depth"]')?.textContent ?? ''), null, { timeout: 15_000 })
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375)
      await page.screenshot({ path: shot('window-detail-phone'), fullPage: true })
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 })
    }
  })

  it('a window the hall does not have: 404, said in Chinese and English', async () => {
    const res = await fetch(`${url}window/w77`)
    expect(res.status).toBe(404)
    const answer = await page.goto(`${url}window/w77`)
    expect(answer!.status()).toBe(404)
    expect(await text('[data-field="not-found"]')).toBe(`大厅 ${HALL} 没有窗口“w77” Hall ${HALL} has no window "w77"`)
    expect(await page.locator('[data-field="not-found"] [lang="en"]').count()).toBe(1)
    expect(await lowContrast(page)).toEqual([])
    expect((await fetch(`${url}window/%E0%A4%A`)).status).toBe(404)
    const api = await fetch(`${url}api/windows/w77`)
    expect(api.status).toBe(404)
    expect((await api.json()).error).toContain('no window "w77"')
  })

  it('/api/feed answers a bad query with a 400 naming what is wrong', async () => {
    const bad = async (query: string) => {
      const r = await fetch(`${url}api/feed?${query}`)
      expect(r.status).toBe(400)
      return ((await r.json()) as { error: string }).error
    }
    expect(await bad('limit=abc')).toContain('limit "abc"')
    expect(await bad('limit=0')).toContain('from 1 to 1000')
    expect(await bad('limit=1001')).toContain('limit "1001"')
    expect(await bad('counter=W%2003')).toContain('counter "W 03" is not a counter id')
    expect(await bad('window=w02')).toContain('unknown query parameter "window"')
    const ok = (await (await fetch(`${url}api/feed?counter=w02&limit=2`)).json()) as { entries: Array<{ counter: string; seq: number }> }
    expect(ok.entries).toHaveLength(2)
    expect(ok.entries.every((e) => e.counter === 'w02')).toBe(true)
    expect(ok.entries[0]!.seq).toBeGreaterThan(ok.entries[1]!.seq)
  })

  it('a reload keeps the feed: the dashboard shows the events from before it, each once', async () => {
    await page.goto(url)
    await page.waitForFunction(() => /called/.test(document.getElementById('feed')?.textContent ?? ''), null, { timeout: 10_000 })
    const before = await page.locator('#feed li').allTextContents()
    expect(before.join('\n')).toContain('A012')
    await page.reload()
    await page.waitForFunction((n) => document.querySelectorAll('#feed li').length >= n, before.length, { timeout: 10_000 })
    expect(await page.locator('#feed li').allTextContents()).toEqual(before)
    // The detail page reads the same history for its window's last events.
    await page.goto(`${url}window/w02`)
    await page.waitForFunction(() => /叫号called A012/.test(document.getElementById('events')?.textContent ?? ''), null, { timeout: 10_000 })
  })

  it('after a technician login the dashboard and the detail page show the officer', async () => {
    await page.goto(url)
    await page.fill('#user', hall.technician.username)
    await page.fill('#pass', password)
    await page.click('#login-btn')
    await page.waitForFunction(() => document.getElementById('who')?.textContent?.includes('technician'), null, { timeout: 5000 })
    // The page opens its stream again as the technician and reloads: the name arrives without a reload.
    await page.waitForFunction((name) => document.querySelector('[data-counter="w02"] [data-field="officer"]')?.textContent?.includes(name), OFFICER_NAME, { timeout: 10_000 })
    await page.goto(`${url}window/w02`)
    await page.waitForFunction((name) => document.querySelector('[data-field="officer"]')?.textContent?.includes(name), OFFICER_NAME, { timeout: 10_000 })
    expect(await text('[data-field="officer"]')).toBe(`${OFFICER_NAME} ${OFFICER_ID}`)
  })

  it('identify on a window with an applicant asks first in a dialog naming window and ticket: Escape or Cancel sends nothing, Confirm sends once', async () => {
    await page.goto(url)
    await page.waitForSelector('[data-counter="w02"] button[data-action="identify"]:not([disabled])')
    const identifies = () => tap.messages.filter((m) => m.topic === `hall/${HALL}/counter/w02/cmd/identify`).length
    const syncs = () => tap.messages.filter((m) => m.topic === `hall/${HALL}/counter/w02/cmd/sync`).length
    /** Barrier: a sync sent from the same tile after the dialog closed, its reply shown: anything sent before it went first. */
    const syncBarrier = async () => {
      const n = syncs()
      await page.evaluate(() => (document.getElementById('toast')!.textContent = ''))
      await page.click('[data-counter="w02"] button[data-action="sync"]')
      await page.waitForFunction(() => document.getElementById('toast')?.textContent === '2号窗口：同步完成 window 2: sync done', null, { timeout: 10_000 })
      expect(syncs()).toBe(n + 1)
    }
    const before = identifies()

    await page.click('[data-counter="w02"] button[data-action="identify"]')
    await page.waitForSelector('#confirm[open]')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('confirm-cancel')
    expect(await text('#confirm-title')).toBe('窗口 W02 有申请人 · Window W02 has an applicant')
    expect(await text('#confirm-text')).toContain('号码 A012')
    expect(await text('#confirm-text')).toContain('ticket A012')
    await page.keyboard.press('Escape')
    await page.waitForFunction(() => !(document.getElementById('confirm') as HTMLDialogElement).open, null, { timeout: 5000 })
    // Focus is back on the button the technician pressed.
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.action)).toBe('identify')
    await syncBarrier()
    expect(identifies()).toBe(before)

    await page.click('[data-counter="w02"] button[data-action="identify"]')
    await page.waitForSelector('#confirm[open]')
    await page.click('#confirm-cancel')
    await page.waitForFunction(() => !(document.getElementById('confirm') as HTMLDialogElement).open, null, { timeout: 5000 })
    await syncBarrier()
    expect(identifies()).toBe(before)

    await page.click('[data-counter="w02"] button[data-action="identify"]')
    await page.waitForSelector('#confirm[open]')
    await page.screenshot({ path: shot('dashboard-confirm') })
    await page.click('#confirm-ok')
    await page.waitForFunction(() => document.getElementById('toast')?.textContent === '2号窗口：识别完成 window 2: identify done', null, { timeout: 10_000 })
    await syncBarrier()
    expect(identifies()).toBe(before + 1)
  })

  it('overtime: a window given a 30 s warning runs past it; the tile and the detail page say so in words', async () => {
    await send('w01', 'config', { settings: { overtimeWarnS: 30, overtimeLimitS: 60 } })
    await send('w01', 'officer', { action: 'sign-in', officer: '031246' })
    await send('w01', 'call', { ticket: 'B007' })
    await send('w01', 'start', {})
    await page.goto(url)
    // The board's own timer, on the real clock: 30 s is the least a warning may be set to.
    await page.waitForFunction(() => /即将超时/.test(document.querySelector('[data-counter="w01"]')?.textContent ?? ''), null, { timeout: 45_000 })
    expect(await page.locator('[data-counter="w01"] [data-field="elapsed"]').getAttribute('class')).toContain('warning')
    await page.goto(`${url}window/w01`)
    await page.waitForSelector('[data-field="overtime"]')
    expect(await text('[data-field="overtime"]')).toBe('即将超时nearly overtime')
    await page.goto(`${url}window/w01?lang=en`)
    await page.waitForFunction(() => document.querySelector('[data-field="overtime"]')?.textContent === 'nearly overtime即将超时', null, { timeout: 10_000 })
  }, 60_000)
})

/** Reads /api/live (as `cookie`'s session, or as anyone) while `act` runs, until a w02 window frame has come; returns what came. */
async function streamUntil(url: string, cookie: string | null, act: () => Promise<void>): Promise<string> {
  const ac = new AbortController()
  const res = await fetch(`${url}api/live`, { headers: cookie ? { cookie } : {}, signal: ac.signal })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let got = ''
  // The stream's first bytes (its retry line) say it is open before the act.
  while (!got.includes('retry:')) got += decoder.decode((await reader.read()).value, { stream: true })
  await act()
  while (!/event: window\ndata: \{"counter":"w02"/.test(got)) {
    const { value, done } = await reader.read()
    if (done) break
    got += decoder.decode(value, { stream: true })
  }
  ac.abort()
  return got
}

async function login(url: string, username: string, password: string): Promise<string> {
  const r = await fetch(`${url}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  expect(r.status).toBe(200)
  return /^(ce_session=[^;]+)/.exec(r.headers.get('set-cookie') ?? '')![1]!
}

/**
 * Every element with text of its own whose colour against the background it sits on is below
 * 4.5:1 (WCAG AA for body text), as "selector-ish: ratio"; the background is the nearest
 * ancestor's that is not transparent.
 */
function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const parse = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number)
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
      return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!)
    }
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor)
        if (c.length === 3 || (c.length === 4 && c[3]! > 0)) return c.slice(0, 3)
      }
      return [255, 255, 255]
    }
    const bad: string[] = []
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      const own = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== '')
      if (!own || (el as HTMLElement).offsetParent === null) continue
      const fg = lum(parse(getComputedStyle(el).color))
      const bg = lum(background(el))
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)
      if (ratio < 4.5) bad.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} "${el.textContent!.trim().slice(0, 30)}": ${ratio.toFixed(2)}`)
    }
    return bad
  })
}

/** Buttons, links and pictures without an accessible name. */
function unnamed(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('button, a, canvas, [role="img"]'))
      .filter((el) => !(el.getAttribute('aria-label') || el.textContent || '').trim())
      .map((el) => el.outerHTML.slice(0, 80)),
  )
}

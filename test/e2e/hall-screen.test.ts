/// <reference lib="dom" />
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../support/chromium.ts'
import mqtt from 'mqtt'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type HubConfig, type RunningHub } from '../../hub/main.ts'
import { startEdge, type RunningEdge } from '../../edge/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { makeEntry, writeCredentialFile } from '../../hub/credentials.ts'
import { topics, type CentralWaiting, type CommandName } from '../../edge/protocol/index.ts'
import { freePort } from '../support/ports.ts'
import { command, eventually } from '../support/probe.ts'
import { HubTap } from '../support/hub-tap.ts'
import { FaultProxy } from '../support/fault-proxy.ts'

// The committed screenshots in docs/screenshots/ are refreshed only on request (UPDATE_DOCS=1), so a test run leaves the tree clean.
const SHOTS = process.env.UPDATE_DOCS ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : join(tmpdir(), `hall-screen-${process.pid}`)
const HALL = 'hall-7'
const COUNTERS = ['w01', 'w02', 'w03']
const NOTICE = '请保管好随身物品，办理业务请携带身份证原件 / Please keep your belongings with you and bring your ID card'

/** The hall screen (/screen) in Debian's Chromium, landscape and portrait, as a TV in the waiting room shows it. */
describe('hall screen in Chromium', () => {
  let dir: string
  let hubConfig: HubConfig
  let hub: RunningHub | null = null
  let tap: HubTap
  const edges: RunningEdge[] = []
  const hardware: SimWindowHardware[] = []
  let context: BrowserContext
  let landscape: Page
  let portrait: Page
  let url: string
  let centralPassword: string
  const latencies: string[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hall-screen-'))
    await mkdir(SHOTS, { recursive: true })
    const credentialsFile = join(dir, 'credentials.json')
    centralPassword = 'pw-central-for-tests'
    await writeCredentialFile(credentialsFile, [
      ...(await Promise.all(COUNTERS.map((c) => makeEntry({ username: `${HALL}-${c}`, role: 'board', hall: HALL, counter: c, password: `pw-${c}-for-tests` })))),
      // Central's own bridge endpoint, publishing into the hall as the bridge role does.
      await makeEntry({ username: `${HALL}-central`, role: 'bridge', hall: HALL, counter: null, password: centralPassword }),
    ])
    hubConfig = {
      hall: HALL, port: await freePort(), credentialsFile, dataDir: join(dir, 'hub'), http: { host: '127.0.0.1', port: await freePort() },
      screen: { title: '天河区政务服务中心', notices: [NOTICE, '午间 12:00–13:30 部分窗口暂停 / Some windows pause 12:00–13:30'], recentCalls: 6 },
    }
    hub = await startHub(hubConfig, silentLogger())
    tap = await HubTap.attach(hub, topics.hallTree(HALL))
    url = `http://127.0.0.1:${hubConfig.http!.port}/screen`
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    for (const c of COUNTERS) {
      const hw = new SimWindowHardware(profile)
      hardware.push(hw)
      edges.push(
        await startEdge(
          { hall: HALL, counter: c, hub: [{ host: '127.0.0.1', port: hubConfig.port }], username: `${HALL}-${c}`, password: `pw-${c}-for-tests`, dataDir: join(dir, c) },
          { profile, gpio: hw.gpio, bus: hw.bus, log: silentLogger() },
        ),
      )
    }
    await eventually(() => edges.every((e) => e.link.connected), 10_000, 'the boards to connect')
    context = await launchChromium(join(dir, 'profile'), { viewport: { width: 1920, height: 1080 } })
    landscape = await context.newPage()
    portrait = await context.newPage()
    await portrait.setViewportSize({ width: 1080, height: 1920 })
  }, 60_000)

  afterAll(async () => {
    if (latencies.length) console.log(`hall screen call latency:\n  ${latencies.join('\n  ')}`)
    await context?.close()
    for (const e of edges) await e.stop()
    for (const h of hardware) await h.stop()
    await hub?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
    if (!process.env.UPDATE_DOCS) await rm(SHOTS, { recursive: true, force: true })
  })

  async function send(counter: string, name: CommandName, args: Record<string, unknown>) {
    const p = command(args)
    const reply = tap.waitFor((m) => m.topic === topics.reply(HALL, counter) && m.payload.cmd === p.id, 10_000, `reply to ${name} at ${counter}`)
    await tap.publish(topics.cmd(HALL, counter, name), p)
    const r = await reply
    expect(r.payload.ok, JSON.stringify(r.payload)).toBe(true)
  }

  const pages = () => [['landscape', landscape], ['portrait', portrait]] as const
  const latestText = (page: Page) => page.locator('#latest-zh').textContent()
  const isLive = (page: Page) => page.evaluate(() => document.body.dataset.live === 'yes' && document.getElementById('conn')!.hidden)

  /** Publishes the call and waits for both screens to show it; returns how long each took, from the command and from the hub having the event. */
  async function callAndMeasure(counter: string, name: 'call' | 'recall', args: Record<string, unknown>, ticket: string, recalls: number) {
    const atHub = tap
      .waitFor((m) => m.topic === topics.event(HALL, counter, name === 'call' ? 'called' : 'recalled') && m.payload.ticket === ticket && (name === 'call' || m.payload.count === recalls), 10_000, `${name} ${ticket} at the hub`)
      .then(() => Date.now())
    const sent = Date.now()
    await send(counter, name, args)
    const hubHad = await atHub
    for (const [layout, page] of pages()) {
      await page.waitForFunction(
        ([t, n]) => {
          const box = document.getElementById('latest')!
          return box.querySelector('.ticket')?.textContent === t && box.dataset.recalls === String(n)
        },
        [ticket, recalls] as const,
        { timeout: 10_000 },
      )
      const shown = Number(await page.evaluate(() => document.getElementById('latest')!.dataset.shownAt))
      latencies.push(`${layout} ${name} ${ticket}: ${shown - sent} ms from the command, ${shown - hubHad} ms from the event at the hub`)
    }
  }

  it('shows every window by its public number and state, the hall-local time and the notices, in Chinese with English beside', async () => {
    for (const [, page] of pages()) {
      await page.goto(url)
      await page.waitForFunction(() => document.querySelectorAll('#window-grid .win').length === 3, null, { timeout: 10_000 })
      await eventually(() => isLive(page), 10_000, 'the screen to go live')
    }
    await send('w01', 'officer', { action: 'sign-in', officer: 'zhao-min', officerName: 'Zhao Min' })
    await send('w02', 'officer', { action: 'sign-in', officer: 'li-na', officerName: 'Li Na' })
    await send('w03', 'officer', { action: 'sign-in', officer: 'sun-yu', officerName: 'Sun Yu' })
    await send('w02', 'pause', { reason: 'break' })
    for (const [, page] of pages()) {
      await page.waitForFunction(() => document.querySelector('[data-key="w02"]')?.getAttribute('data-state') === 'paused' && document.querySelector('[data-key="w01"]')?.getAttribute('data-state') === 'serving', null, { timeout: 10_000 })
      expect(await page.locator('[data-key="w03"] .num').textContent()).toBe('3号窗口')
      expect(await page.locator('[data-key="w02"] .state').textContent()).toBe('暂停服务 Paused')
      expect(await page.locator('#title').textContent()).toBe('天河区政务服务中心')
      expect(await page.locator('#notice-text').textContent()).toContain(NOTICE)
      expect(await page.locator('#time').textContent()).toMatch(/^\d\d:\d\d:\d\d$/)
      // Nothing personal unless the hall turns officer names on.
      expect(await page.locator('body').textContent()).not.toContain('Zhao Min')
      // Central publishes no waiting counts yet: no panel for them.
      expect(await page.locator('#waiting').isHidden()).toBe(true)
    }
    // The clock is the hall's (Asia/Shanghai by default), whatever zone the TV or the test machine runs in.
    const hallHour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', hourCycle: 'h23' }).format(new Date())
    const shown = (await landscape.locator('#time').textContent())!.slice(0, 2)
    expect([hallHour, String((Number(hallHour) + 1) % 24).padStart(2, '0')]).toContain(shown)
    const state = await (await fetch(`${url}/state`)).json()
    expect(JSON.stringify(state)).not.toContain('Zhao Min')
    expect(state.waiting).toBeNull()
  })

  it('a call appears on both screens at once, in very large type: "请 A012 号 到 3号窗口"', async () => {
    await callAndMeasure('w01', 'call', { ticket: 'A011' }, 'A011', 0)
    await callAndMeasure('w03', 'call', { ticket: 'A012' }, 'A012', 0)
    for (const [, page] of pages()) {
      // The latest call comes from the `called` event, sent on at once; w03's tile from its state, sent on with the
      // stream's next batch of tiles: the call can be on the screen before the tile has its ticket.
      await page.waitForFunction(() => document.querySelector('[data-key="w03"] .tk')?.textContent === 'A012', null, { timeout: 10_000 })
      expect(await latestText(page)).toBe('请 A012 号 到 3号窗口')
      expect(await page.locator('#latest-en').textContent()).toBe('Ticket A012, please go to window 3')
      expect(await page.locator('#recent-list li').first().textContent()).toContain('A011')
      expect(await page.locator('[data-key="w03"] .tk').textContent()).toBe('A012')
      const size = await page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('#latest .ticket')!).fontSize))
      // The ticket is the largest thing on the screen: over a tenth of the shorter side.
      expect(size).toBeGreaterThan(100)
    }
    // The glyphs come from a CJK font (fonts-noto-cjk, installed by test/setup/debian-packages.mjs), not from a fallback's boxes.
    const cdp = await landscape.context().newCDPSession(landscape)
    await cdp.send('DOM.enable')
    await cdp.send('CSS.enable')
    const { root } = await cdp.send('DOM.getDocument')
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#latest-zh' })
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId })
    const cjk = fonts.filter((f) => /CJK/.test(f.familyName))
    expect(cjk.length, JSON.stringify(fonts)).toBeGreaterThan(0)
    // Every Chinese character of "请 A012 号 到 3号窗口" (请 号 到 号 窗 口) is drawn by it.
    expect(cjk.reduce((n, f) => n + f.glyphCount, 0)).toBeGreaterThanOrEqual(6)
    await cdp.detach()
  })

  it('waiting counts appear when central publishes them (retained, as the bridge role may)', async () => {
    const central = await mqtt.connectAsync(`mqtt://127.0.0.1:${hubConfig.port}`, { clientId: `${HALL}-central`, username: `${HALL}-central`, password: centralPassword, reconnectPeriod: 0 })
    try {
      const waiting: CentralWaiting = { services: [{ service: 'social-security', name: '社保业务', waiting: 12 }, { service: 'household', name: '户政业务', waiting: 3 }], ts: new Date().toISOString() }
      await central.publishAsync(topics.centralWaiting(HALL), JSON.stringify(waiting), { qos: 1, retain: true })
      for (const [, page] of pages()) {
        await page.waitForFunction(() => document.getElementById('waiting-list')?.textContent?.includes('社保业务 12 人'), null, { timeout: 10_000 })
        expect(await page.locator('#waiting').isVisible()).toBe(true)
      }
      // Counts that break the contract are not shown; the last good ones stay.
      await central.publishAsync(topics.centralWaiting(HALL), JSON.stringify({ services: [{ service: 'x', name: 'X', waiting: -4 }], ts: new Date().toISOString() }), { qos: 1, retain: true })
      await send('w01', 'sync', {}) // a barrier: the hub has taken everything published before it
      expect((await (await fetch(`${url}/state`)).json()).waiting[0]).toEqual({ service: 'social-security', name: '社保业务', waiting: 12 })
      await central.publishAsync(topics.centralWaiting(HALL), JSON.stringify(waiting), { qos: 1, retain: true })
    } finally {
      await central.endAsync()
    }
  })

  it('a recall flashes the latest call again', async () => {
    const before = await Promise.all(pages().map(([, p]) => p.evaluate(() => Number(document.getElementById('latest')!.dataset.flashes))))
    await callAndMeasure('w03', 'recall', {}, 'A012', 1)
    for (const [i, [, page]] of pages().entries()) {
      expect(await page.evaluate(() => Number(document.getElementById('latest')!.dataset.flashes))).toBe(before[i]! + 1)
      expect(await page.locator('#latest').getAttribute('class')).toContain('flash')
      expect(await page.locator('#latest-en').textContent()).toContain('(called again)')
    }
    await landscape.screenshot({ path: join(SHOTS, 'hall-screen-landscape.png') })
    await portrait.screenshot({ path: join(SHOTS, 'hall-screen-portrait.png') })
  })

  it('a link that goes silent (no close, as a pulled cable) shows "重新连接中 reconnecting" once the stream is stale, and recovers when the link returns', async () => {
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hubConfig.http!.port }, name: 'tv-link' })
    const tv = await context.newPage()
    try {
      await tv.goto(`http://127.0.0.1:${proxy.port}/screen`)
      await eventually(() => isLive(tv), 10_000, 'the screen behind the proxy to go live')
      proxy.stall()
      // Nothing closes: only the missing ticks (every 5 s) tell the page its stream is dead.
      await tv.waitForFunction(() => document.body.dataset.live === 'no' && !document.getElementById('conn')!.hidden, null, { timeout: 30_000 })
      expect(await tv.locator('#conn').textContent()).toContain('重新连接中 reconnecting')
      proxy.resume()
      await tv.waitForFunction(() => document.body.dataset.live === 'yes' && document.getElementById('conn')!.hidden, null, { timeout: 20_000 })
      expect(await latestText(tv)).toBe('请 A012 号 到 3号窗口')
    } finally {
      await tv.close()
      await proxy.close()
    }
  }, 60_000)

  it('a hub restart shows "重新连接中 reconnecting", then the screen recovers by itself and follows calls again', async () => {
    await hub!.stop()
    hub = null
    for (const [, page] of pages()) {
      await page.waitForFunction(() => document.body.dataset.live === 'no' && !document.getElementById('conn')!.hidden, null, { timeout: 15_000 })
      expect(await page.locator('#conn').textContent()).toContain('重新连接中 reconnecting')
      // What it showed stays up while it reconnects.
      expect(await latestText(page)).toBe('请 A012 号 到 3号窗口')
    }
    // The hall turns officer names on with the restart: the screen now says who serves where.
    hub = await startHub({ ...hubConfig, screen: { ...hubConfig.screen, officerNames: true } }, silentLogger())
    tap = await HubTap.attach(hub, topics.hallTree(HALL))
    for (const [, page] of pages()) await page.waitForFunction(() => document.body.dataset.live === 'yes' && document.getElementById('conn')!.hidden, null, { timeout: 20_000 })
    await eventually(() => edges.every((e) => e.link.connected), 15_000, 'the boards to reconnect')
    // The retained waiting counts and the windows' retained states come back with the hub (kept in its dataDir).
    for (const [, page] of pages()) {
      await page.waitForFunction(() => document.querySelector('[data-key="w01"] .officer')?.textContent === 'Zhao Min', null, { timeout: 10_000 })
      expect(await page.locator('#waiting-list').textContent()).toContain('户政业务 3 人')
    }
    await send('w01', 'no-show', {}) // A011 never came: w01 is free for the next call
    await callAndMeasure('w01', 'call', { ticket: 'B007' }, 'B007', 0)
    for (const [, page] of pages()) expect(await latestText(page)).toBe('请 B007 号 到 1号窗口')
  })
})

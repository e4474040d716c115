/// <reference lib="dom" />
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { silentLogger } from '../../edge/shared/logger.ts'
import { topics } from '../../edge/protocol/index.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { Probe, command } from '../support/probe.ts'

const CHROMIUM = '/usr/bin/chromium'
const HALL = 'hall-6'

/** The dashboard's "最近播报 Last announcements" in a real browser, fed by the simulated hall's announcer (issue 17). */
describe('hall dashboard: the last announcements', () => {
  let hall: SimHall
  let browser: BrowserContext
  let page: Page
  let central: Probe
  let dir: string

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: npm test installs it as root, or run: sudo apt-get install -y chromium`)
    dir = await mkdtemp(join(tmpdir(), 'dashboard-announcer-'))
    hall = await startSimHall({ hall: HALL, windows: 3, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, dashboardPort: 0, speed: 20, board: 'sim-window', traffic: false, announcer: { dir }, log: silentLogger() })
    central = await Probe.connect(hall.centralUrl, [`hall/${HALL}/#`])
    browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    page = await browser.newPage()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await central?.close()
    await hall?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  async function send(counter: string, name: 'officer' | 'call', args: Record<string, unknown>) {
    const p = command(args)
    await central.publish(topics.cmd(HALL, counter, name), p)
    await central.waitFor((m) => m.topic === topics.reply(HALL, counter) && m.payload.cmd === p.id, 10_000, `reply to ${name}`)
  }

  it('lists a call as the hall hears it, live, with the hall-local time; labels in Chinese with English beside', async () => {
    await page.goto(`http://127.0.0.1:${hall.hub.httpPort}/`)
    await page.waitForSelector('#announcer:not([hidden])')
    await central.waitFor((m) => m.topic === topics.status(HALL, 'w03') && m.payload.online === true, 20_000, 'the birth of w03')
    await central.waitFor((m) => m.topic === topics.hubBridge(HALL) && m.payload.state === 'connected', 20_000, 'the bridge connected')
    await send('w03', 'officer', { action: 'sign-in', officer: 'p3' })
    await send('w03', 'call', { ticket: 'A012' })
    await page.waitForFunction(() => /已播报 said/.test(document.querySelector('#announcements li')?.textContent ?? ''), null, { timeout: 20_000 })
    const item = (await page.locator('#announcements li').first().textContent())!
    expect(item).toMatch(/^\d\d:\d\d:\d\d请A012号到3号窗口办理 已播报 said$/)
    expect(await page.locator('#announcer-problem').isHidden()).toBe(true)
    expect(await page.locator('#announcer h2').textContent()).toBe('最近播报 Last announcements')
  }, 60_000)
})

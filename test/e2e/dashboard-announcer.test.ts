/// <reference lib="dom" />
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../support/chromium.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { topics } from '../../edge/protocol/index.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { Probe, command, eventually } from '../support/probe.ts'
import { referenceRows } from '../support/unifont-reference.ts'
import { clipSequence, wavSamples } from '../support/clip-sequence.ts'
import { VoicePack } from '../../hub/announcer/voice-pack.ts'
import { docScreenshot } from '../support/doc-screenshot.ts'

const HALL = 'hall-6'

/** The dashboard's "最近播报 Last announcements" in a real browser, fed by the simulated hall's announcer (issue 17). */
describe('hall dashboard: the last announcements', () => {
  let hall: SimHall
  let browser: BrowserContext
  let page: Page
  let central: Probe
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashboard-announcer-'))
    hall = await startSimHall({ hall: HALL, windows: 3, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, dashboardPort: 0, speed: 20, board: 'sim-window', traffic: false, announcer: { dir }, log: silentLogger() })
    central = await Probe.connect(hall.centralUrl, [`hall/${HALL}/#`])
    browser = await launchChromium(join(dir, 'profile'))
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

/**
 * Issue 17, done when, all for one call: central calls A012 to window 3; the
 * window's MAX7219 strip holds 请A012号 pixel for pixel as Debian's Unifont
 * draws it; the announcer's WAV is 请 / A / 0 / 1 / 2 / 号 / 到 / 3 / 号窗口 /
 * 办理, read from the audio; and the dashboard's tile draws the same picture,
 * sent by the board as what its display shows (the screen topic).
 */
describe('one call, seen, heard and on the dashboard', () => {
  let hall: SimHall
  let browser: BrowserContext
  let page: Page
  let central: Probe
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'one-call-'))
    hall = await startSimHall({ hall: 'hall-11', windows: 3, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, dashboardPort: 0, speed: 20, board: 'sim-window-matrix', traffic: false, announcer: { dir }, log: silentLogger() })
    central = await Probe.connect(hall.centralUrl, ['hall/hall-11/#'])
    browser = await launchChromium(join(dir, 'profile'), { viewport: { width: 1280, height: 900 } })
    page = await browser.newPage()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await central?.close()
    await hall?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('central calls A012 to window 3: the strip shows 请A012号, the voice says it clip by clip, the tile draws the strip', async () => {
    const H = 'hall-11'
    await central.waitFor((m) => m.topic === topics.status(H, 'w03') && m.payload.online === true, 20_000, 'the birth of w03')
    await central.waitFor((m) => m.topic === topics.hubBridge(H) && m.payload.state === 'connected', 20_000, 'the bridge connected')
    await page.goto(`http://127.0.0.1:${hall.hub.httpPort}/`)
    const w03 = hall.windows.get('w03')!
    expect(w03.hardware.profile.id).toBe('sim-window-matrix')
    for (const [name, args] of [['officer', { action: 'sign-in', officer: 'p3' }], ['call', { ticket: 'A012' }]] as const) {
      const p = command(args)
      await central.publish(topics.cmd(H, 'w03', name), p)
      const reply = await central.waitFor((m) => m.topic === topics.reply(H, 'w03') && m.payload.cmd === p.id, 10_000, `reply to ${name}`)
      expect(reply.payload.ok).toBe(true)
    }

    // Seen: the chips' pixels, read back by the model, are the font file's own drawing.
    const reference = referenceRows([{ text: '请A012号', y: 0, scale: 1 }], 64, 16).join('\n')
    await eventually(() => w03.hardware.view().text === '请A012号', 5_000, 'w03 to read 请A012号')
    await eventually(() => w03.hardware.screenPixels()!.toRows().join('\n') === reference, 5_000, "w03's pixels to equal Debian's Unifont drawing of 请A012号")

    // Heard: the one announcement's audio is these clips of the pack, in this order.
    await eventually(() => hall.hub.announcer!.recent().some((a) => a.ticket === 'A012' && a.status === 'said'), 30_000, 'A012 said')
    const files = (await readdir(join(dir, 'announcements'))).filter((f) => f.endsWith('.wav'))
    expect(files).toHaveLength(1)
    const pack = await VoicePack.load(join(dir, 'voice'), silentLogger())
    const clips = new Map([...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', '请', '号', '到', '号窗口', '办理'].map((n) => [n, pack.clip('zh', n)!]))
    const audio = await wavSamples(join(dir, 'announcements', files[0]!))
    expect(clipSequence(audio.samples, clips).map((c) => c.clip)).toEqual(['请', 'A', '0', '1', '2', '号', '到', '3', '号窗口', '办理'])

    // On the dashboard: the board's report of its glass, drawn on the tile pixel for pixel, and the big number from it.
    const screen = await central.waitFor((m) => m.topic === topics.screen(H, 'w03') && m.payload.ticket === 'A012', 10_000, "w03's screen report of A012")
    expect(screen.payload).toMatchObject({ device: 'display', text: '请A012号', fault: null, picture: { width: 64, height: 16 } })
    const tile = page.locator('article[data-counter="w03"]')
    await tile.locator('canvas[data-field="screen"]').waitFor({ timeout: 10_000 })
    await eventually(async () => (await tile.locator('[data-field="ticket"]').textContent()) === 'A012', 10_000, 'the tile to show A012')
    const drawn = await tile.locator('canvas[data-field="screen"]').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
      return Array.from({ length: c.height }, (_, y) => Array.from({ length: c.width }, (_, x) => (d[(y * c.width + x) * 4]! > 128 ? '#' : '.')).join('')).join('\n')
    })
    expect(drawn).toBe(reference)
    expect(await tile.locator('canvas[data-field="screen"]').getAttribute('aria-label')).toBe('窗口屏 screen: 请A012号')
    // The committed screenshot in docs/ is refreshed only on request (UPDATE_DOCS=1), so a test run leaves the tree clean.
    await page.screenshot({ path: docScreenshot('screenshots/dashboard-pixel-screen.png') })
  }, 90_000)
})

/// <reference lib="dom" />
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../support/chromium.ts'
import { eventually } from '../support/probe.ts'
import { user } from '../hub/support/hub-fixture.ts'
import { BoardStandIn, UpdateTimeline } from '../hub/fleet/board-stand-in.ts'
import { makeRelease, releaseKeys, startFleetHub, type FleetHub, type TestRelease } from '../hub/fleet/fleet-fixture.ts'

const H = 'h24d'
const tech = user('technician', H)
const boardsOf = [1, 2, 3].map((n) => user('board', H, `w0${n}`))

/** The dashboard's updates panel in Chromium: a technician uploads a signed release and updates the hall from the page. */
describe('dashboard: releases and rollouts', () => {
  const keys = releaseKeys()
  let f: FleetHub
  let boards: BoardStandIn[]
  let browser: BrowserContext
  let page: Page
  let dir: string
  let good: TestRelease
  let forged: TestRelease

  async function files(r: TestRelease): Promise<[string, string]> {
    const m = join(dir, `counter-edge-${r.version}-${Math.random().toString(36).slice(2)}.release.json`)
    const p = join(dir, `counter-edge-${r.version}.tar.gz`)
    await writeFile(m, r.json)
    await writeFile(p, r.payload)
    return [m, p]
  }

  async function uploadFromPage(r: TestRelease): Promise<void> {
    const [m, p] = await files(r)
    await page.setInputFiles('#fleet-manifest', m)
    await page.setInputFiles('#fleet-payload', p)
    await page.click('#fleet-upload-btn')
  }

  beforeAll(async () => {
    f = await startFleetHub([tech, ...boardsOf], keys, { hall: H }, { confirmMarginS: 1 })
    const timeline = new UpdateTimeline()
    boards = boardsOf.map((u, i) => new BoardStandIn(f.t.hub.port, u, String(i + 1), { version: '1.0.0', mode: 'idle', timeline }))
    for (const b of boards) await b.start()
    good = await makeRelease('2.0.0', keys.privateKey)
    forged = await makeRelease('6.6.6', releaseKeys().privateKey)
    dir = await mkdtemp(join(tmpdir(), 'dashboard-fleet-'))
    browser = await launchChromium(join(dir, 'profile'), { viewport: { width: 1280, height: 900 } })
    page = await browser.newPage()
    await eventually(() => f.t.hub.hallView.snapshot().windows.filter((w) => w.update).length === boards.length, 10_000, 'every board seen')
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    for (const b of boards ?? []) await b.stop()
    await f?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('hidden until a technician logs in', async () => {
    await page.goto(`${f.base}/`)
    await page.waitForSelector('[data-counter="w03"]')
    expect(await page.locator('#fleet').isHidden()).toBe(true)
    await page.fill('#user', tech.username)
    await page.fill('#pass', tech.password)
    await page.click('#login-btn')
    await page.waitForSelector('#fleet:not([hidden])', { timeout: 10_000 })
    expect(await page.locator('#fleet-title').textContent()).toBe('升级 Updates')
    expect(await page.locator('#fleet-status').textContent()).toBe('没有进行中的升级 no rollout')
  })

  it('a release signed with another key is refused with the hub\'s reason, and not offered', async () => {
    await uploadFromPage(forged)
    await page.waitForFunction(() => /集线器拒绝/.test(document.getElementById('toast')?.textContent ?? ''), null, { timeout: 10_000 })
    expect(await page.locator('#toast').textContent()).toContain('signature does not match the hall release key')
    expect(await page.locator('#fleet-releases').textContent()).not.toContain('6.6.6')
  })

  it('a signed release uploaded from the page updates every board, and the panel follows it to done', async () => {
    await uploadFromPage(good)
    await page.waitForFunction(() => document.getElementById('toast')?.textContent === '已上传 2.0.0 2.0.0 uploaded', null, { timeout: 10_000 })
    const start = page.locator('button[data-fleet-version="2.0.0"]')
    await start.waitFor({ timeout: 10_000 })
    expect(await start.textContent()).toBe('全部升级到 2.0.0 Update all to 2.0.0')
    await page.fill('#fleet-at-a-time', '1')
    await start.click()
    await page.waitForFunction(() => /已完成 done/.test(document.getElementById('fleet-status')?.textContent ?? ''), null, { timeout: 30_000 })
    expect(await page.locator('#fleet-status').textContent()).toMatch(/w01 已确认 confirmed · w02 已确认 confirmed · w03 已确认 confirmed/)
    for (const b of boards) {
      expect(b.version, b.counter).toBe('2.0.0')
      expect(b.received, `${b.counter} got the command once`).toHaveLength(1)
    }
    // One board at a time, as asked: three waves.
    expect(await page.locator('#fleet-status').textContent()).toContain('第 3 批 wave 3')
    // The tiles show the version the boards run now.
    await page.waitForFunction(() => document.querySelector('[data-counter="w02"] [data-field="version"]')?.textContent?.startsWith('版本 version: 2.0.0'), null, { timeout: 10_000 })
  }, 60_000)
})

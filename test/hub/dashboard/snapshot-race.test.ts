import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import type { APIResponse, BrowserContext, Route } from 'playwright-core'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { user, writeUsers, connectAs, publishOutcome, closeAll, statusMessage, CapturedLog } from '../support/hub-fixture.ts'
import { launchChromium } from '../../support/chromium.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')

/**
 * The dashboard reads the hall's snapshot once its live stream is open (hub/dashboard/page.ts load).
 * A snapshot taken before a change that the page has already drawn from the stream must not undo it:
 * here the hub's answer to GET /api/hall is held back until the page has drawn w01 going offline from
 * its stream, then delivered, stale (w01 online). The tile must still say offline.
 */
describe('the dashboard snapshot and the live stream', () => {
  let dir: string | null = null
  let hub: RunningHub | null = null
  let browser: BrowserContext | null = null
  const clients: MqttClient[] = []
  afterEach(async () => {
    await browser?.close()
    browser = null
    await closeAll(clients.splice(0))
    await hub?.stop()
    hub = null
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('a change drawn from the stream while the snapshot was on its way stays drawn', async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapshot-race-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01])
    hub = await startHub({ hall: H, port: 0, credentialsFile, http: { port: 0 } }, new CapturedLog().logger)
    const board = await connectAs(hub.port, w01)
    clients.push(board)
    expect(await publishOutcome(board, `hall/${H}/counter/w01/status`, JSON.stringify(statusMessage('n1', 0, true)), { retain: true })).toBe('acked')

    browser = await launchChromium(join(dir, 'profile'))
    const page = await browser.newPage()
    let held!: (v: { route: Route; response: APIResponse }) => void
    const snapshotTaken = new Promise<{ route: Route; response: APIResponse }>((r) => (held = r))
    let first = true
    await page.route('**/api/hall', async (route) => {
      if (!first) return route.continue()
      first = false
      // The hub answers now (w01 online); the page gets that answer only once released below.
      held({ route, response: await route.fetch() })
    })
    await page.goto(`http://127.0.0.1:${hub.httpPort}/`)
    const { route, response } = await snapshotTaken
    expect(((await response.json()) as { windows: Array<{ counter: string; online: boolean }> }).windows.find((w) => w.counter === 'w01')?.online).toBe(true)

    expect(await publishOutcome(board, `hall/${H}/counter/w01/status`, JSON.stringify(statusMessage('n1', 1, false)), { retain: true })).toBe('acked')
    const pillOf = 'article[data-counter="w01"] [data-field="online"]'
    const pill = page.locator(pillOf)
    await page.waitForFunction((sel) => document.querySelector(sel)?.classList.contains('bad') === true, pillOf, { timeout: 10_000 })

    await route.fulfill({ response })
    await page.waitForFunction(() => document.documentElement.dataset.snapshotAt !== undefined, undefined, { timeout: 10_000 })
    expect(await pill.getAttribute('class')).toContain('bad')
    expect(await page.locator('article[data-counter="w01"] [data-field="offline"]').count()).toBe(1)
  })
})

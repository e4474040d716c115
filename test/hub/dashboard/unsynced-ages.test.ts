import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import type { BrowserContext } from 'playwright-core'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { user, writeUsers, connectAs, publishOutcome, closeAll, statusMessage, boardEvent, CapturedLog } from '../support/hub-fixture.ts'
import { launchChromium } from '../../support/chromium.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02')

/**
 * A board whose clock is not set (1970 before NTP) stamps its messages so and says so (`synced: false`).
 * The tile's "help asked … ago" and "offline since … ago" counted from those stamps and read decades.
 */
describe("the dashboard's ages of an unsynced board", () => {
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

  it("counts help asked and offline since from when the hub had them", async () => {
    dir = await mkdtemp(join(tmpdir(), 'unsynced-ages-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01, w02])
    hub = await startHub({ hall: H, port: 0, credentialsFile, http: { port: 0 } }, new CapturedLog().logger)
    const unset = { ts: new Date(60_000).toISOString(), synced: false }
    const before = Date.now()
    const one = await connectAs(hub.port, w01)
    const two = await connectAs(hub.port, w02)
    clients.push(one, two)
    expect(await publishOutcome(one, `hall/${H}/counter/w01/status`, JSON.stringify({ ...statusMessage('n1', 0, true), ...unset }), { retain: true })).toBe('acked')
    expect(await publishOutcome(one, `hall/${H}/counter/w01/event/help-requested`, JSON.stringify(boardEvent('help-requested', 'n1', 1, unset)), {})).toBe('acked')
    expect(await publishOutcome(two, `hall/${H}/counter/w02/status`, JSON.stringify({ ...statusMessage('n2', 0, false), reason: 'stop', ...unset }), { retain: true })).toBe('acked')

    browser = await launchChromium(join(dir, 'profile'))
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${hub.httpPort}/`)
    const help = page.locator('article[data-counter="w01"] [data-field="help"] [data-since]')
    const offline = page.locator('article[data-counter="w02"] [data-field="offline"] [data-since]')
    await help.waitFor({ timeout: 10_000 })
    await offline.waitFor({ timeout: 10_000 })
    for (const since of [await help.getAttribute('data-since'), await offline.getAttribute('data-since')]) {
      expect(Date.parse(since ?? '')).toBeGreaterThanOrEqual(before)
      expect(Date.parse(since ?? '')).toBeLessThanOrEqual(Date.now())
    }
  })
})

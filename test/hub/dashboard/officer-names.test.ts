import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { eventExamples, messageExamples } from '../../../edge/protocol/index.ts'
import { user, writeUsers, connectAs, publishOutcome, closeAll, statusMessage, CapturedLog } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')

/**
 * Officer names on the open dashboard API: left out of the data by default
 * (docs/operations.md, "Who sees officer names"), there when the hub config's
 * http.officerNames says the hall publishes them.
 */
describe('officer names for viewers without a login', () => {
  let dir: string | null = null
  let hub: RunningHub | null = null
  const open: MqttClient[] = []
  afterEach(async () => {
    await closeAll(open.splice(0))
    await hub?.stop()
    hub = null
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** A hub with w01 on duty (Li Wei, P10482) and a bad rating there; what /api/hall and /api/windows/w01 answer without a session. */
  async function answers(officerNames: boolean | undefined): Promise<{ hall: string; window: string }> {
    dir = await mkdtemp(join(tmpdir(), 'officer-names-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01])
    hub = await startHub({ hall: H, port: 0, credentialsFile, http: { port: 0, ...(officerNames === undefined ? {} : { officerNames }) } }, new CapturedLog().logger)
    const board = await connectAs(hub.port, w01)
    open.push(board)
    const boot = 'n1'
    expect(await publishOutcome(board, `hall/${H}/counter/w01/status`, JSON.stringify(statusMessage(boot, 0, true)), { retain: true })).toBe('acked')
    expect(await publishOutcome(board, `hall/${H}/counter/w01/state`, JSON.stringify({ ...messageExamples.state, id: `${boot}-1`, boot, seq: 1 }), { retain: true })).toBe('acked')
    expect(await publishOutcome(board, `hall/${H}/counter/w01/event/rating-alert`, JSON.stringify({ ...eventExamples['rating-alert'], id: `${boot}-2`, boot, seq: 2 }))).toBe('acked')
    const base = `http://127.0.0.1:${hub.httpPort}`
    await eventually(async () => ((await (await fetch(`${base}/api/windows/w01`)).json()) as { window: { alerts: unknown[] } }).window.alerts.length === 1, 5000, 'the alert in the hall view')
    return { hall: await (await fetch(`${base}/api/hall`)).text(), window: await (await fetch(`${base}/api/windows/w01`)).text() }
  }

  it('by default neither the name nor the id is in what the open API sends, and the window says someone is on duty', async () => {
    const { hall, window } = await answers(undefined)
    for (const body of [hall, window]) {
      expect(body).not.toContain('Li Wei')
      expect(body).not.toContain('P10482')
      expect(body).toContain('"officerHidden":true')
      expect(body).toContain('"officer":null')
    }
  })

  it('with http.officerNames the hall shows them to everyone', async () => {
    const { hall, window } = await answers(true)
    for (const body of [hall, window]) {
      expect(body).toContain('"name":"Li Wei"')
      expect(body).toContain('"officer":"P10482"')
      expect(body).toContain('"officerHidden":false')
    }
  })
})

import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { messageExamples, topics } from '../../../edge/protocol/index.ts'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { user, writeUsers, connectAs, publishOutcome, subscribeOutcome, closeAll, statusMessage, CapturedLog } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02')
const tech = user('technician', H)

/**
 * A technician's buttons on the dashboard (POST /api/windows/{counter}/{action}): a window the hall
 * never had is said so at once, in both languages, rather than after the wait for its reply;
 * a self-test with an applicant at the window asks the board for the display and keys only.
 */
describe('window actions from the dashboard', () => {
  let dir: string
  let hub: RunningHub
  let board: MqttClient
  let cookie: string
  const clients: MqttClient[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'window-actions-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01, w02, tech])
    hub = await startHub({ hall: H, port: 0, credentialsFile, http: { port: 0 } }, new CapturedLog().logger)
    board = await connectAs(hub.port, w01)
    clients.push(board)
    // The board answers every command it is sent, ok, with what it was asked for.
    expect(await subscribeOutcome(board, topics.counterCommands(H, 'w01'))).toBe('granted')
    board.on('message', (topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { id: string; tests?: string[] }
      const name = topic.split('/').pop()!
      const reply = { v: 1, id: `n1-r-${cmd.id}`, boot: 'n1', seq: 100, ts: new Date().toISOString(), synced: true, cmd: cmd.id, name, ok: true, result: { asked: cmd.tests ?? null } }
      board.publish(topics.reply(H, 'w01'), JSON.stringify(reply), { qos: 1 })
    })
    expect(await publishOutcome(board, topics.status(H, 'w01'), JSON.stringify(statusMessage('n1', 0, true)), { retain: true })).toBe('acked')
    const login = await fetch(`http://127.0.0.1:${hub.httpPort}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: tech.username, password: tech.password }) })
    expect(login.status).toBe(200)
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
    await eventually(() => hub.hallView.window('w01')?.online, 5000, 'w01 online at the hub')
  })
  afterAll(async () => {
    await closeAll(clients)
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const act = async (counter: string, action: string) => {
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/windows/${counter}/${action}`, { method: 'POST', headers: { cookie } })
    return { status: res.status, body: (await res.json()) as { error?: string; ok?: boolean; result?: { asked: string[] | null } } }
  }

  it('a window the hall never had: 404 at once, naming it', async () => {
    expect(await act('w99', 'identify')).toEqual({ status: 404, body: { error: '窗口 w99 不存在 / no window "w99" in hall h1' } })
  })

  it('a window provisioned but offline: still sent (a cluster node\'s view can lag), and the timeout says it was offline', async () => {
    expect(await act('w02', 'sync')).toEqual({
      status: 504,
      body: { error: '窗口 w02 离线，10 秒内没有回复；命令已过期，上线后也不会执行 / window w02 is offline and did not reply within 10 s; the command has expired, so it will not act on it when it is back' },
    })
  }, 20_000)

  it('a bad counter id or an unknown action: refused in both languages', async () => {
    expect(await act('W01', 'identify')).toEqual({ status: 400, body: { error: '"W01" 不是窗口编号 / "W01" is not a counter id' } })
    expect((await act('w01', 'identfy')).body.error).toBe('没有操作 "identfy"，可用：identify、self-test、sync / unknown action "identfy"; actions: identify, self-test, sync')
  })

  it('self-test: every test with nobody at the window, display and keys only with an applicant there', async () => {
    expect(await act('w01', 'self-test')).toMatchObject({ status: 200, body: { ok: true, result: { asked: null } } })
    const serving = { ...messageExamples.state, id: 'n1-1', boot: 'n1', seq: 1, ts: new Date().toISOString() }
    expect(await publishOutcome(board, topics.state(H, 'w01'), JSON.stringify(serving), { retain: true })).toBe('acked')
    await eventually(() => hub.hallView.window('w01')?.state?.mode === 'serving', 5000, 'w01 serving at the hub')
    expect(await act('w01', 'self-test')).toMatchObject({ status: 200, body: { ok: true, result: { asked: ['display', 'keys'] } } })
  })
})

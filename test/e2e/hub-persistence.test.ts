import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { messageExamples } from '../../edge/protocol/index.ts'
import { user, writeUsers, connectAs, publishOutcome, subscribeOutcome, closeAll, statusMessage, CapturedLog } from '../hub/support/hub-fixture.ts'
import { eventually, command } from '../support/probe.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')
const tech = user('technician', H)

/** Sessions, queued commands and retained state live in the data directory and survive a restart. */
describe('hub restart on the same data directory', () => {
  let dir: string
  const hubs: RunningHub[] = []
  const open: MqttClient[] = []

  afterAll(async () => {
    await closeAll(open)
    for (const h of hubs) await h.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('keeps a board\'s session, its queued commands and the hall\'s retained state', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-restart-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01, tech])
    const config = { hall: H, port: 0, credentialsFile, dataDir: join(dir, 'data') }

    const first = await startHub(config, new CapturedLog().logger)
    hubs.push(first)
    const board = await connectAs(first.port, w01, { clean: false })
    expect(await subscribeOutcome(board, `hall/${H}/counter/w01/cmd/+`)).toBe('granted')
    const state = { ...messageExamples.state, id: 'r1-1', boot: 'r1', seq: 1 }
    expect(await publishOutcome(board, `hall/${H}/counter/w01/status`, JSON.stringify(statusMessage('r1', 0, true)), { retain: true })).toBe('acked')
    expect(await publishOutcome(board, `hall/${H}/counter/w01/state`, JSON.stringify(state), { retain: true })).toBe('acked')
    await board.endAsync() // a clean disconnect: no will
    const technician = await connectAs(first.port, tech, { clientId: `${tech.username}-r` })
    expect(await publishOutcome(technician, `hall/${H}/counter/w01/cmd/identify`, JSON.stringify(command({ seconds: 5 }, { id: 'while-away' })))).toBe('acked')
    await technician.endAsync()
    await first.stop()
    hubs.pop()

    const second = await startHub(config, new CapturedLog().logger)
    hubs.push(second)
    // The hall view starts from the retained messages, before any board reconnects.
    expect(second.hallView.window('w01')).toMatchObject({ online: true, boot: 'r1', connected: false })
    expect(second.hallView.window('w01')?.state?.id).toBe('r1-1')

    const back = await connectAs(second.port, w01, { clean: false })
    open.push(back)
    expect(back.options.clean).toBe(false)
    const got: string[] = []
    back.on('message', (_t, payload) => got.push(JSON.parse(payload.toString()).id))
    await eventually(() => got.includes('while-away'), 3000, 'the command queued before the restart')
  })
})

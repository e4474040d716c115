import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { eventExamples } from '../../../edge/protocol/index.ts'
import { user, writeUsers, connectAs, publishOutcome, closeAll, CapturedLog } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')

/**
 * A window's 最近评价 is the rating given last, not the one that reached the hub last: after a link
 * outage the board's journal drains its backlog while live ratings go on (docs/architecture.md §4),
 * so an older rating can arrive after a newer one.
 */
describe("a window's last rating, when its board's backlog arrives after a newer rating", () => {
  let dir: string
  const hubs: RunningHub[] = []
  const open: MqttClient[] = []

  afterAll(async () => {
    await closeAll(open)
    for (const h of hubs) await h.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const windowOf = async (hub: RunningHub) =>
    ((await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/windows/w01`)).json()) as { window: { lastRating: { ticket: string; score: string } | null } }).window
  const feedTickets = async (hub: RunningHub) => ((await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/feed?counter=w01`)).json()) as { entries: Array<{ ticket: string | null }> }).entries.map((e) => e.ticket)

  const rating = (boot: string, seq: number, ticket: string, score: string, ts: string) => ({
    ...eventExamples.evaluated, id: `${boot}-${seq}`, boot, seq, ts, ticket, score, record: `w01-${boot}-${ticket}`,
  })

  it('stays the one given last, by seq within a boot and by time across boots, live and after a restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'last-rating-order-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01])
    const config = { hall: H, port: 0, credentialsFile, dataDir: join(dir, 'data'), http: { port: 0 } }
    const first = await startHub(config, new CapturedLog().logger)
    hubs.push(first)
    const board = await connectAs(first.port, w01)
    const send = async (e: ReturnType<typeof rating>) => expect(await publishOutcome(board, `hall/${H}/counter/w01/event/evaluated`, JSON.stringify(e))).toBe('acked')

    // Live, after the link came back: the rating given at 10:20.
    await send(rating('b2', 40, 'A040', 'satisfied', '2026-12-06T02:20:00.000Z'))
    await eventually(async () => (await windowOf(first)).lastRating?.ticket === 'A040', 5000, 'the live rating on the tile')
    // The journal's backlog of the same boot, given during the outage, arriving after it.
    await send(rating('b2', 31, 'A031', 'dissatisfied', '2026-12-06T02:10:00.000Z'))
    // A backlog of an earlier boot of the board (restarted during the outage), older still.
    await send(rating('b1', 90, 'A090', 'neutral', '2026-12-06T01:50:00.000Z'))
    await eventually(async () => (await feedTickets(first)).includes('A090'), 5000, 'the backlog in the feed')
    expect((await windowOf(first)).lastRating).toMatchObject({ ticket: 'A040', score: 'satisfied' })

    // A rating given after all of them still takes the tile.
    await send(rating('b2', 41, 'A041', 'neutral', '2026-12-06T02:25:00.000Z'))
    await eventually(async () => (await windowOf(first)).lastRating?.ticket === 'A041', 5000, 'the newer rating on the tile')
    // And one more of the backlog after it, then the restart: the feed lists it last, the tile keeps A041.
    await send(rating('b2', 35, 'A035', 'dissatisfied', '2026-12-06T02:15:00.000Z'))
    await eventually(async () => (await feedTickets(first))[0] === 'A035', 5000, 'the late backlog rating in the feed')
    expect((await windowOf(first)).lastRating).toMatchObject({ ticket: 'A041' })
    await board.endAsync()
    await first.stop()
    hubs.pop()

    const second = await startHub(config, new CapturedLog().logger)
    hubs.push(second)
    expect((await windowOf(second)).lastRating).toMatchObject({ ticket: 'A041', score: 'neutral' })
  })
})

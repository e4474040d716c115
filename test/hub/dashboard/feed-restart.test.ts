import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { eventExamples } from '../../../edge/protocol/index.ts'
import { user, writeUsers, connectAs, publishOutcome, closeAll, CapturedLog } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')

interface Feed {
  entries: Array<{ seq: number; counter: string; type: string; ticket: string | null }>
}

/** The dashboard's feed, kept in the hub's data dir: a hub restarted on it still shows what happened before. */
describe('feed history across a hub restart', () => {
  let dir: string
  const hubs: RunningHub[] = []
  const open: MqttClient[] = []

  afterAll(async () => {
    await closeAll(open)
    for (const h of hubs) await h.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const feed = async (hub: RunningHub, query = '') => (await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/feed${query}`)).json()) as Feed

  it('a board event reaches /api/feed and feed.jsonl, and is there again after the restart, numbered on from it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'feed-restart-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01])
    const config = { hall: H, port: 0, credentialsFile, dataDir: join(dir, 'data'), http: { port: 0 } }

    const first = await startHub(config, new CapturedLog().logger)
    hubs.push(first)
    const board = await connectAs(first.port, w01)
    for (const [i, ticket] of ['A101', 'A102'].entries()) {
      const e = { ...eventExamples.called, id: `feed-${i}`, ticket }
      expect(await publishOutcome(board, `hall/${H}/counter/w01/event/called`, JSON.stringify(e))).toBe('acked')
    }
    await eventually(async () => (await feed(first)).entries.length === 2, 5000, 'both events in the feed')
    expect((await feed(first, '?counter=w01&limit=1')).entries).toMatchObject([{ seq: 2, counter: 'w01', type: 'called', ticket: 'A102' }])
    await board.endAsync()
    await first.stop()
    hubs.pop()
    expect((await readFile(join(dir, 'data', 'feed.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(2)

    const second = await startHub(config, new CapturedLog().logger)
    hubs.push(second)
    expect((await feed(second)).entries.map((e) => e.ticket)).toEqual(['A102', 'A101'])
    const again = await connectAs(second.port, w01)
    open.push(again)
    expect(await publishOutcome(again, `hall/${H}/counter/w01/event/called`, JSON.stringify({ ...eventExamples.called, id: 'feed-after', ticket: 'A103' }))).toBe('acked')
    await eventually(async () => (await feed(second)).entries[0]?.ticket === 'A103', 5000, 'the new event in the feed')
    expect((await feed(second)).entries[0]!.seq).toBe(3)
  })
  it("a window's last rating is on its tile again after the restart, as the feed has it", async () => {
    // A hub restarted on its data dir showed 最近评价 – on every tile while the feed under them listed the ratings.
    const ratingsDir = await mkdtemp(join(tmpdir(), 'feed-restart-rating-'))
    try {
      const credentialsFile = join(ratingsDir, 'credentials.json')
      await writeUsers(credentialsFile, [w01])
      const config = { hall: H, port: 0, credentialsFile, dataDir: join(ratingsDir, 'data'), http: { port: 0 } }
      const windowOf = async (hub: RunningHub) =>
        ((await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/windows/w01`)).json()) as { window: { lastRating: { ticket: string; score: string } | null } }).window

      const first = await startHub(config, new CapturedLog().logger)
      hubs.push(first)
      const board = await connectAs(first.port, w01)
      for (const [i, [ticket, score]] of [['A201', 'satisfied'], ['A202', 'neutral']].entries()) {
        const e = { ...eventExamples.evaluated, id: `rated-${i}`, ticket, score, record: `w01-r-${i}` }
        expect(await publishOutcome(board, `hall/${H}/counter/w01/event/evaluated`, JSON.stringify(e))).toBe('acked')
      }
      await eventually(async () => (await windowOf(first)).lastRating?.ticket === 'A202', 5000, 'the last rating on the first hub')
      await board.endAsync()
      await first.stop()
      hubs.pop()

      const second = await startHub(config, new CapturedLog().logger)
      hubs.push(second)
      expect((await windowOf(second)).lastRating).toMatchObject({ ticket: 'A202', score: 'neutral' })
    } finally {
      await rm(ratingsDir, { recursive: true, force: true })
    }
  })
})

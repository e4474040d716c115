import { describe, it, expect, afterEach } from 'vitest'
import type { MqttClient } from 'mqtt'
import { messageExamples, topics } from '../../../edge/protocol/index.ts'
import { user, startTestHub, connectAs, publishOutcome, closeAll, statusMessage, type TestHub } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'
import { SseReader } from '../../support/sse-reader.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02')

interface Tile {
  key: string
  ticket: string | null
}

function tilesOf(reader: SseReader): Tile[] {
  return [...reader.utf8().matchAll(/event: window\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!) as Tile)
}

/**
 * The hall screen works a window's tile out once per batch of frames, and not
 * at all while no screen watches (hub/dashboard/hall-screen-feed.ts flushTiles):
 * a screen that opens later must still get a tile that changed back to what an
 * earlier screen was last sent.
 */
describe('hall screen tiles', () => {
  let t: TestHub | null = null
  const clients: MqttClient[] = []
  const readers: SseReader[] = []
  afterEach(async () => {
    for (const r of readers.splice(0)) r.socket.destroy()
    await closeAll(clients.splice(0))
    await t?.stop()
    t = null
  })

  it('a tile that changed while no screen watched is sent again once one does, even back to what was last sent', async () => {
    t = await startTestHub([w01, w02], { hall: H, http: { port: 0 } })
    const hub = t.hub
    const b1 = await connectAs(hub.port, w01)
    const b2 = await connectAs(hub.port, w02)
    clients.push(b1, b2)
    let seq = 1
    const serving = (ticket: string) => {
      seq++
      return JSON.stringify({ ...messageExamples.state, id: `n1-${seq}`, boot: 'n1', seq, ts: new Date().toISOString(), ticket: { ...messageExamples.state.ticket!, number: ticket } })
    }
    const openStreams = async () => {
      const m = await (await fetch(`http://127.0.0.1:${hub.httpPort}/metrics`)).text()
      const v = Number(/^counter_edge_screen_streams_open(?:{[^}]*})? (\d+)/m.exec(m)?.[1] ?? Number.NaN)
      if (Number.isNaN(v)) throw new Error(`no screen stream gauge in /metrics: ${m.split("\n").filter((l) => l.includes("stream")).join(" / ")}`)
      return v
    }
    expect(await publishOutcome(b1, topics.status(H, 'w01'), JSON.stringify(statusMessage('n1', 0, true)), { retain: true })).toBe('acked')
    expect(await publishOutcome(b2, topics.status(H, 'w02'), JSON.stringify(statusMessage('m1', 0, true)), { retain: true })).toBe('acked')

    const first = await SseReader.open(hub.httpPort!, '127.0.0.1', '/screen/live')
    readers.push(first)
    expect(await publishOutcome(b1, topics.state(H, 'w01'), serving('A001'), { retain: true })).toBe('acked')
    await eventually(() => tilesOf(first).some((t) => t.key === 'w01' && t.ticket === 'A001'), 5000, 'A001 on the first screen')
    first.socket.destroy()
    await eventually(async () => (await openStreams()) === 0, 5000, 'the first screen closed at the hub')

    // Unwatched: the tile changes and nothing is sent.
    expect(await publishOutcome(b1, topics.state(H, 'w01'), serving('B002'), { retain: true })).toBe('acked')
    const second = await SseReader.open(hub.httpPort!, '127.0.0.1', '/screen/live')
    readers.push(second)
    // Back to what the first screen was last sent: the second screen has B002 from its snapshot and must see A001.
    expect(await publishOutcome(b1, topics.state(H, 'w01'), serving('A001'), { retain: true })).toBe('acked')
    // The barrier: a later change of another window, whose tile goes out in the same batch or after.
    expect(await publishOutcome(b2, topics.state(H, 'w02'), JSON.stringify({ ...messageExamples.state, id: 'm1-5', boot: 'm1', seq: 5, ts: new Date().toISOString() }), { retain: true })).toBe('acked')
    await eventually(() => tilesOf(second).some((t) => t.key === 'w02'), 5000, 'w02 on the second screen')
    expect(tilesOf(second).filter((t) => t.key === 'w01').map((t) => t.ticket)).toEqual(['A001'])
  })
})

import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { user, writeUsers, connectAs, publishOutcome, closeAll, statusMessage, boardEvent, CapturedLog } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'
import { SseReader } from '../../support/sse-reader.ts'

const H = 'h1'
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02')

interface Frame {
  event: string
  data: { counter?: string; type?: string; lastRating?: { ticket: string; score: string } | null; recentEvents?: Array<{ id: string }>; id?: string }
}

function framesOf(reader: SseReader): Frame[] {
  return reader
    .utf8()
    .split('\n\n')
    .flatMap((block) => {
      const event = /^event: (.+)$/m.exec(block)?.[1]
      const data = /^data: (.+)$/m.exec(block)?.[1]
      return event && data ? [{ event, data: JSON.parse(data) as Frame['data'] }] : []
    })
}

/**
 * The dashboard's live stream sends a window's frame once per batch of frames
 * (hub/dashboard/http-server.ts windowChanged): a rating changes the window twice in one turn,
 * in the hall view and in its stats, and the viewer gets one frame, already with the rating.
 */
describe('window frames on the live stream', () => {
  let dir: string | null = null
  let hub: RunningHub | null = null
  const clients: MqttClient[] = []
  const readers: SseReader[] = []
  afterEach(async () => {
    for (const r of readers.splice(0)) r.socket.destroy()
    await closeAll(clients.splice(0))
    await hub?.stop()
    hub = null
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('a rating sends its window once, with the rating in it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'window-frames-'))
    const credentialsFile = join(dir, 'credentials.json')
    await writeUsers(credentialsFile, [w01, w02])
    hub = await startHub({ hall: H, port: 0, credentialsFile, http: { port: 0 } }, new CapturedLog().logger)
    const b1 = await connectAs(hub.port, w01)
    const b2 = await connectAs(hub.port, w02)
    clients.push(b1, b2)
    expect(await publishOutcome(b1, `hall/${H}/counter/w01/status`, JSON.stringify(statusMessage('n1', 0, true)), { retain: true })).toBe('acked')
    // The answer's head comes once the hub holds the stream (hub/dashboard/live-streams.ts open).
    const live = await SseReader.open(hub.httpPort!, '127.0.0.1')
    readers.push(live)
    // A first message of w01 with the stream open: its frame marks where the rating's begin.
    expect(await publishOutcome(b1, `hall/${H}/counter/w01/event/called`, JSON.stringify(boardEvent('called', 'n1', 1)))).toBe('acked')
    await eventually(() => framesOf(live).some((f) => f.event === 'window' && f.data.counter === 'w01'), 5000, 'w01 on the stream')
    const before = framesOf(live).length

    const rating = boardEvent('evaluated', 'n1', 2, { score: 'satisfied' })
    expect(await publishOutcome(b1, `hall/${H}/counter/w01/event/evaluated`, JSON.stringify(rating))).toBe('acked')
    // The barrier: a later message of another window, whose frame comes after anything the rating caused.
    expect(await publishOutcome(b2, `hall/${H}/counter/w02/status`, JSON.stringify(statusMessage('m1', 0, true)), { retain: true })).toBe('acked')
    await eventually(() => framesOf(live).some((f) => f.event === 'window' && f.data.counter === 'w02'), 5000, 'w02 on the stream')

    const after = framesOf(live).slice(before)
    expect(after.some((f) => f.event === 'event' && f.data.counter === 'w01' && f.data.type === 'evaluated')).toBe(true)
    const w01Frames = after.filter((f) => f.event === 'window' && f.data.counter === 'w01')
    expect(w01Frames).toHaveLength(1)
    expect(w01Frames[0]!.data.lastRating).toMatchObject({ ticket: rating.ticket, score: 'satisfied' })
    expect(w01Frames[0]!.data.recentEvents?.[0]?.id).toBe(rating.id)
  })
})

import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { MqttClient } from 'mqtt'
import { topics } from '../../edge/protocol/index.ts'
import { startTestHub, user, connectAs, boardEvent, type TestHub } from './support/hub-fixture.ts'
import { SseReader } from '../support/sse-reader.ts'
import { eventually } from '../support/probe.ts'

const H = 'hall-9'
const w03 = user('board', H, 'w03')
const central = user('bridge', H)

/** What the screen's stream and snapshot carry, against a real hub with a board and central's bridge account publishing into it. */
describe('hall screen feed (/screen/state, /screen/live)', () => {
  let t: TestHub
  let board: MqttClient
  let bridge: MqttClient
  let stream: SseReader
  let base: string

  beforeAll(async () => {
    t = await startTestHub([w03, central], { hall: H, http: { host: '127.0.0.1', port: 0 } })
    base = `http://127.0.0.1:${t.hub.httpPort}`
    board = await connectAs(t.hub.port, w03)
    bridge = await connectAs(t.hub.port, central)
    stream = await SseReader.open(t.hub.httpPort!, '127.0.0.1', '/screen/live')
  })

  afterAll(async () => {
    stream?.socket.destroy()
    await board?.endAsync()
    await bridge?.endAsync()
    await t?.stop()
  })

  const state = async () => (await fetch(`${base}/screen/state`)).json()
  // The stream is chunked: chunk sizes stand between frames, so frames are picked out by their own lines.
  const callFrames = () => [...stream.utf8().matchAll(/event: call\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!))

  it('serves the page open to all, in Chinese', async () => {
    const r = await fetch(`${base}/screen`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/html')
    const html = await r.text()
    expect(html).toContain('lang="zh-CN"')
    expect(html).toContain('重新连接中')
    expect(stream.status).toBe(200)
  })

  it('a call goes out once however many copies the at-least-once chain delivers, with the public window and nothing else about the board', async () => {
    const called = boardEvent('called', 'bt1', 1, { ticket: 'C031', window: { number: '3', name: '3号窗口' } })
    await board.publishAsync(topics.event(H, 'w03', 'called'), JSON.stringify(called), { qos: 1 })
    await board.publishAsync(topics.event(H, 'w03', 'called'), JSON.stringify(called), { qos: 1 })
    // Barrier: a later call on the same lane; once its frame is out, a frame for the copy would be too.
    await board.publishAsync(topics.event(H, 'w03', 'recalled'), JSON.stringify(boardEvent('recalled', 'bt1', 2, { ticket: 'C031', count: 1, window: { number: '3', name: '3号窗口' } })), { qos: 1 })
    await eventually(() => callFrames().length >= 2, 5000, 'the call and the recall on the stream')
    const frames = callFrames()
    expect(frames.map((f) => [f.type, f.ticket, f.recalls])).toEqual([['called', 'C031', 0], ['recalled', 'C031', 1]])
    expect(Object.keys(frames[0]).sort()).toEqual(['at', 'id', 'recalls', 'ticket', 'type', 'window'])
    const s = await state()
    // The recall replaced the call in the list: one line per ticket and window.
    expect(s.calls.map((c: { ticket: string; recalls: number }) => [c.ticket, c.recalls])).toEqual([['C031', 1]])
  })

  it('a board before the public window gets its number from the counter id', async () => {
    const { window: _dropped, ...old } = boardEvent('called', 'bt1', 3, { ticket: 'C032' })
    await board.publishAsync(topics.event(H, 'w03', 'called'), JSON.stringify(old), { qos: 1 })
    await eventually(() => callFrames().some((f) => f.ticket === 'C032'), 5000, 'the old board\'s call')
    expect(callFrames().find((f) => f.ticket === 'C032').window).toEqual({ number: '3', name: '3号窗口' })
  })

  it('waiting counts: none until central publishes them, then live; counts that break the contract change nothing', async () => {
    expect((await state()).waiting).toBeNull()
    const waiting = { services: [{ service: 'tax', name: '税务业务', waiting: 7 }], ts: new Date().toISOString() }
    await bridge.publishAsync(topics.centralWaiting(H), JSON.stringify(waiting), { qos: 1, retain: true })
    await eventually(() => stream.utf8().includes('event: waiting\ndata: {"services":[{"service":"tax","name":"税务业务","waiting":7}]}'), 5000, 'the waiting frame')
    await bridge.publishAsync(topics.centralWaiting(H), JSON.stringify({ services: [{ service: 'tax', name: '税务业务', waiting: 'many' }], ts: 'now' }), { qos: 1, retain: true })
    // Barrier: central's next good counts come after the bad ones on the same session.
    await bridge.publishAsync(topics.centralWaiting(H), JSON.stringify({ ...waiting, services: [{ ...waiting.services[0], waiting: 8 }] }), { qos: 1, retain: true })
    await eventually(() => stream.utf8().includes('"waiting":8'), 5000, 'the next good counts')
    expect(stream.utf8()).not.toContain('many')
    expect((await state()).waiting).toEqual([{ service: 'tax', name: '税务业务', waiting: 8 }])
  })

  it('central deleting its retained counts (an empty payload) takes them off the screen, as a contract message, not a break', async () => {
    expect((await state()).waiting).not.toBeNull()
    await bridge.publishAsync(topics.centralWaiting(H), Buffer.alloc(0), { qos: 1, retain: true })
    // Before, the screen kept showing the last counts (12 people waiting for a queue central had closed) and the hub logged a bad-json refusal.
    await eventually(() => stream.utf8().includes('event: waiting\ndata: {"services":null}'), 5000, 'the frame taking the counts off')
    expect((await state()).waiting).toBeNull()
    expect(t.log.lines.filter((l) => l.msg === 'ignored waiting counts that break the contract' && l.refusal === 'bad-json')).toEqual([])
  })
})

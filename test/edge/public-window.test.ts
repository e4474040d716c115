import { describe, expect, it } from 'vitest'
import { defaultPublicWindow, parseMessage } from '../../edge/protocol/index.ts'
import { boardFileSchema, publicWindowOf } from '../../edge/config.ts'
import { harnessPerTest } from '../support/edge-harness.ts'

const perTest = harnessPerTest()

describe('the public window (issue 17)', () => {
  it('defaults from the counter id: its last digits without leading zeros, or its letters', () => {
    expect(defaultPublicWindow('w03')).toEqual({ number: '3', name: '3号窗口' })
    expect(defaultPublicWindow('w12')).toEqual({ number: '12', name: '12号窗口' })
    expect(defaultPublicWindow('hall-2-w07')).toEqual({ number: '7', name: '7号窗口' })
    expect(defaultPublicWindow('w00')).toEqual({ number: '0', name: '0号窗口' })
    expect(defaultPublicWindow('passport')).toEqual({ number: 'PASSPORT', name: 'PASSPORT号窗口' })
    // Every default is a valid window on the wire.
    for (const id of ['w03', 'passport', 'a-b-c', 'x1234567890123'])
      expect(parseMessage('hall/h1/counter/w01/event/recalled', JSON.stringify({ v: 1, id: 'e1', boot: 'b', seq: 1, ts: '2025-03-04T09:15:02.120Z', synced: true, type: 'recalled', ticket: 'A1', count: 1, window: defaultPublicWindow(id) })).ok).toBe(true)
  })

  it('takes the board file\'s number and name, the name defaulting to "<number>号窗口"; refuses a number the voice cannot say', () => {
    expect(publicWindowOf('w03', { number: '8' })).toEqual({ number: '8', name: '8号窗口' })
    expect(publicWindowOf('w03', { number: '8', name: '护照窗口' })).toEqual({ number: '8', name: '护照窗口' })
    const base = { hall: 'h1', counter: 'w03', board: 'sim-window', hub: ['mqtt://127.0.0.1:1883'], username: 'u', password: 'p' }
    expect(boardFileSchema.safeParse({ ...base, window: { number: '3', name: '3号窗口' } }).success).toBe(true)
    const bad = boardFileSchema.safeParse({ ...base, window: { number: '3号' } })
    expect(bad.success).toBe(false)
    expect(bad.error!.issues[0]!.path).toEqual(['window', 'number'])
  })

  it('is in every state and every call event the board sends, from its config', async () => {
    const h = await perTest.start({ counter: 'w03', window: { number: '3' } })
    const from = h.publishes.length
    await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))
    await h.reply(h.command('call', { ticket: 'A012' }))
    await h.reply(h.command('recall', { ticket: 'A012' }))
    await h.reply(h.command('start', {}))
    await h.sync()
    const window = { number: '3', name: '3号窗口' }
    expect(h.of('event', 'called', from)[0]!.message).toMatchObject({ ticket: 'A012', window })
    expect(h.of('event', 'recalled', from)[0]!.message).toMatchObject({ ticket: 'A012', window })
    expect(h.of('event', 'service-started', from)[0]!.message).not.toHaveProperty('window')
    const states = h.of('state', undefined, 0)
    expect(states.length).toBeGreaterThan(3)
    for (const s of states) expect(s.message.window).toEqual(window)
  })

  it('defaults to the counter id when the config names none', async () => {
    const h = await perTest.start({ counter: 'w07' })
    await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))
    await h.reply(h.command('call', { ticket: 'B2' }))
    expect(h.of('event', 'called', 0)[0]!.message).toMatchObject({ window: { number: '7', name: '7号窗口' } })
  })
})

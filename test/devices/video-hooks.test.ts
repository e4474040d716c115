import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { VideoHooks, videoConfigSchema } from '../../edge/devices/video-hooks.ts'
import { formatLocal } from '../../edge/devices/local-time.ts'
import { DeviceHealthTracker } from '../../edge/devices/device-health.ts'
import { eventExamples } from '../../edge/protocol/index.ts'
import { eventually } from '../support/probe.ts'

/** What an NVR's text insertion receives: one line per marked moment, each with its own word. */
describe('video hooks: the NVR text line', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c()
  })

  async function nvr(): Promise<{ port: number; lines: string[] }> {
    const lines: string[] = []
    let buf = ''
    const server: Server = createServer((sock) =>
      sock.on('data', (d) => {
        buf += d.toString()
        const parts = buf.split('\r\n')
        buf = parts.pop() ?? ''
        lines.push(...parts)
      }),
    )
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    cleanup.push(() => new Promise((r) => server.close(() => r())))
    return { port: (server.address() as { port: number }).port, lines }
  }

  it('a bad rating is marked BAD-RATING right after its RATING; a good one only RATING; never an officer', async () => {
    const { port, lines } = await nvr()
    const hooks = new VideoHooks({
      counter: 'w03',
      config: { relay: 'hold', textLine: { host: '127.0.0.1', port, template: '{counter} {ticket} {action} {score} {officer}' } },
      log: silentLogger(),
      now: () => Date.parse('2026-11-22T08:00:00Z'),
      health: new DeviceHealthTracker(),
    })
    cleanup.unshift(() => hooks.stop())
    hooks.start()
    const { v: _v, id: _id, boot: _b, seq: _s, ts: _t, synced: _y, type: _ty, ...alert } = eventExamples['rating-alert']
    const { v: _v2, id: _id2, boot: _b2, seq: _s2, ts: _t2, synced: _y2, type: _ty2, ...rating } = eventExamples.evaluated
    hooks.event('evaluated', { ...rating, ticket: 'A012', score: 'satisfied' })
    hooks.event('evaluated', { ...rating, ticket: 'A013', score: 'dissatisfied' })
    hooks.event('rating-alert', { ...alert, ticket: 'A013' })
    await eventually(() => lines.length === 3, 5000, 'three lines at the NVR')
    expect(lines).toEqual(['W03 A012 RATING satisfied -', 'W03 A013 RATING dissatisfied -', 'W03 A013 BAD-RATING dissatisfied -'])
  })

  it('marks every moment a supervisor looks for, stamped in the hall\'s time zone with the offset written', async () => {
    const { port, lines } = await nvr()
    const at = Date.parse('2026-11-22T08:00:05.700Z')
    const hooks = new VideoHooks({
      counter: 'w03',
      config: { relay: 'hold', timeZone: 'Asia/Shanghai', textLine: { host: '127.0.0.1', port, template: '{counter} {ticket} {action} {ts}' } },
      log: silentLogger(),
      now: () => at,
      health: new DeviceHealthTracker(),
    })
    cleanup.unshift(() => hooks.stop())
    hooks.start()
    const marked = ['called', 'no-show', 'call-unanswered', 'evaluation-missed', 'paused', 'pause-overtime', 'rating-alert', 'service-transferred', 'service-parked'] as const
    for (const type of marked) hooks.event(type, { ticket: 'A012' })
    await eventually(() => lines.length === marked.length, 5000, 'a line per mark')
    expect(lines.map((l) => l.split(' ')[2])).toEqual(['CALL', 'NO-SHOW', 'NO-SHOW-PROMPT', 'NO-RATING', 'PAUSE', 'PAUSE-OVER', 'BAD-RATING', 'TRANSFER', 'PARK'])
    expect(lines[0]).toBe('W03 A012 CALL 2026-11-22T16:00:05+08:00')
  })

  it('writes the offset of the zone it is given, and refuses a zone that does not exist', () => {
    expect(formatLocal(Date.parse('2026-07-01T12:00:00Z'), 'Europe/Berlin')).toBe('2026-07-01T14:00:00+02:00')
    expect(formatLocal(Date.parse('2026-01-01T12:00:00Z'), 'America/New_York')).toBe('2026-01-01T07:00:00-05:00')
    expect(formatLocal(Date.parse('2026-01-01T12:00:00Z'), 'UTC')).toBe('2026-01-01T12:00:00+00:00')
    const bad = videoConfigSchema.safeParse({ timeZone: 'Mars/Olympus' })
    expect(bad.success).toBe(false)
    expect(videoConfigSchema.parse({ timeZone: 'Asia/Shanghai' }).timeZone).toBe('Asia/Shanghai')
  })
})

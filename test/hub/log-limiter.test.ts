import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import { LogLimiter } from '../../hub/log-limiter.ts'
import { CapturedLog } from './support/hub-fixture.ts'

describe('refusal log lines, limited per kind and per address', () => {
  let log: CapturedLog
  let lines: LogLimiter
  beforeEach(() => {
    vi.useFakeTimers()
    log = new CapturedLog()
    lines = new LogLimiter({ log: log.logger, linesPerKind: 5, linesPerKey: 2, windowMs: 10_000 })
  })
  afterEach(() => {
    lines.stop()
    vi.useRealTimers()
  })

  const refusals = (kind: string) => log.lines.filter((l) => l.refusal === kind)
  const summaries = (kind: string) => log.lines.filter((l) => l.refusalsNotLogged === kind)

  it('a storm from one address writes that address its lines, then one summary with the exact count of the rest', () => {
    for (let i = 0; i < 1_000; i++) lines.warn('connection-rate', '10.0.0.9', { refusal: 'connection-rate', address: '10.0.0.9', i }, 'refused connection')
    expect(refusals('connection-rate').map((l) => l.i)).toEqual([0, 1])
    expect(summaries('connection-rate')).toEqual([])
    vi.advanceTimersByTime(10_000)
    const [summary, ...more] = summaries('connection-rate')
    expect(more).toEqual([])
    expect(summary).toMatchObject({ count: 998, logged: 2, windowS: 10, level: 40 })
    expect(summary!.msg).toBe('998 more refused (connection-rate) in the last 10 s, not logged one by one; /metrics counts every one')
  })

  it('many addresses share their kind\'s lines; another kind has its own; a new window starts afresh', () => {
    for (let a = 0; a < 50; a++) lines.warn('bad-credentials', `10.0.1.${a}`, { refusal: 'bad-credentials', a }, 'refused connect')
    lines.warn('tls-handshake', '10.0.2.1', { refusal: 'tls-handshake' }, 'TLS handshake failed')
    expect(refusals('bad-credentials')).toHaveLength(5)
    expect(refusals('tls-handshake')).toHaveLength(1)
    expect(lines.suppressed('bad-credentials')).toBe(45)
    vi.advanceTimersByTime(10_000)
    expect(summaries('bad-credentials').map((l) => l.count)).toEqual([45])
    expect(summaries('tls-handshake')).toEqual([]) // nothing held back, nothing to sum up
    lines.warn('bad-credentials', '10.0.1.0', { refusal: 'bad-credentials', a: 'again' }, 'refused connect')
    expect(refusals('bad-credentials').at(-1)?.a).toBe('again')
  })

  it('lines without a key count only against their kind; stop() writes the pending summary', () => {
    for (let i = 0; i < 8; i++) lines.warn('offline-queue-full', null, { refusal: 'offline-queue-full', i }, 'dropped')
    expect(refusals('offline-queue-full')).toHaveLength(5)
    lines.stop()
    expect(summaries('offline-queue-full').map((l) => l.count)).toEqual([3])
  })

  it('a scan of more addresses than it tracks leaves the map bounded and still limits', () => {
    for (let a = 0; a < 20_000; a++) lines.warn('connection-cap', `a${a}`, { refusal: 'connection-cap' }, 'refused')
    expect(refusals('connection-cap')).toHaveLength(5)
    expect(lines.suppressed('connection-cap')).toBe(19_995)
  })
})

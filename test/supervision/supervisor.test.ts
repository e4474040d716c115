import { describe, it, expect, afterEach, vi } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { Journal, MemoryStorage } from '../../edge/link/journal.ts'
import { BoardLink } from '../../edge/link/board-link.ts'
import { EnvelopeStamper } from '../../edge/link/envelope-stamper.ts'
import { Supervisor } from '../../edge/supervision/supervisor.ts'
import { watchdogIntervalMs, type Notifier } from '../../edge/supervision/sd-notify.ts'
import { letTimePass } from '../support/pace.ts'

const log = silentLogger()

/** The service manager's side of sd_notify: what it was told, in order. */
class RecordingManager implements Notifier {
  readonly sent: string[][] = []
  async notify(assignments: string[]): Promise<boolean> {
    this.sent.push(assignments)
    return true
  }
  count(key: string): number {
    return this.sent.filter((a) => a.includes(key)).length
  }
}

let supervisor: Supervisor | null = null
afterEach(() => {
  supervisor?.stop()
  supervisor = null
  vi.useRealTimers()
})

async function offlineLink(now: () => number) {
  const journal = new Journal({ storage: new MemoryStorage(), log })
  await journal.open()
  const stamper = new EnvelopeStamper('w01', 'b00t', { now, synced: () => true })
  return new BoardLink({ hall: 'h1', counter: 'w01', addresses: [{ host: '127.0.0.1', port: 1 }], username: 'h1-w01', password: 'x', stamper, birth: { version: '0', board: 'sim', capabilities: [] }, log, journal, now })
}

describe('supervisor', () => {
  it('says READY once, then feeds the watchdog while healthy, and stops feeding it when the link has made no progress for too long', async () => {
    let t = 1_000_000
    const now = () => t
    const link = await offlineLink(now)
    // Fake interval timers and loop clock: the watchdog's beats come exactly on time, so the counts are exact.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    const manager = new RecordingManager()
    supervisor = new Supervisor({ notifier: manager, watchdogMs: 20, link, log, linkStallLimitMs: 60_000 })
    await supervisor.ready()
    expect(manager.sent[0]![0]).toBe('READY=1')
    expect(manager.sent[0]![1]).toMatch(/^STATUS=hub not connected; journal 0 waiting$/)
    supervisor.start()
    await vi.advanceTimersByTimeAsync(100)
    const fed = manager.count('WATCHDOG=1')
    expect(fed).toBe(5) // every 20 ms

    link.publish('event', { type: 'help-requested', ticket: null, officer: null })
    t += 61_000 // the hub has been unreachable for longer than the limit
    await vi.advanceTimersByTimeAsync(100)
    expect(manager.count('WATCHDOG=1')).toBe(fed)
    const last = manager.sent[manager.sent.length - 1]!
    expect(last[0]).toMatch(/^STATUS=unhealthy: hub unreachable for 61 s with 1 waiting/)
    await supervisor.stopping()
    expect(manager.sent[manager.sent.length - 1]).toEqual(['STOPPING=1'])
  })

  it('a wall-clock step is not a stall: the link times progress on its monotonic clock', async () => {
    // A board without a real-time clock boots with an old time and is set days forward once it syncs.
    const journal = new Journal({ storage: new MemoryStorage(), log })
    await journal.open()
    let wall = Date.UTC(2020, 0, 1)
    const stamper = new EnvelopeStamper('w01', 'b00t', { now: () => wall, synced: () => false })
    const link = new BoardLink({ hall: 'h1', counter: 'w01', addresses: [{ host: '127.0.0.1', port: 1 }], username: 'h1-w01', password: 'x', stamper, birth: { version: '0', board: 'sim', capabilities: [] }, log, journal })
    const now = vi.spyOn(Date, 'now').mockImplementation(() => wall)
    try {
      supervisor = new Supervisor({ notifier: null, watchdogMs: null, link, log, linkStallLimitMs: 60_000 })
      expect(supervisor.check().healthy).toBe(true)
      wall += 3 * 24 * 3600_000
      const verdict = supervisor.check()
      expect(verdict.reasons).toEqual([])
      expect(link.linkHealth().stalledMs).toBeLessThan(60_000)
    } finally {
      now.mockRestore()
    }
  })

  it('fails the self-check when the event loop was blocked longer than the limit', async () => {
    const link = await offlineLink(Date.now)
    supervisor = new Supervisor({ notifier: null, watchdogMs: null, link, log, loopLagLimitMs: 150 })
    supervisor.start()
    expect(supervisor.check().healthy).toBe(true)
    const until = Date.now() + 400
    while (Date.now() < until) {
      // a synchronous stall, as a blocking call would cause
    }
    // No wait: the check beats the lag clock itself, so it sees the stall however soon it runs.
    const v = supervisor.check()
    expect(v.healthy).toBe(false)
    expect(v.reasons.join()).toMatch(/event loop lagged \d+ ms/)
    // The lag is measured per interval: once the loop runs freely again, the check passes.
    await letTimePass(150, 'the loop runs freely past a lag beat, on real timers (the stall above is real)')
    expect(supervisor.check().healthy).toBe(true)
  })

  it('pings at half of WatchdogSec, and only for the process systemd meant', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000)
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000)
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeNull()
    expect(watchdogIntervalMs({}, 42)).toBeNull()
  })
})

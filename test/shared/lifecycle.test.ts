import { describe, it, expect, afterEach, vi } from 'vitest'
import { pino } from 'pino'
import { Lifecycle } from '../../edge/shared/lifecycle.ts'

function capturedLog() {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) })
  return { logger, lines }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Lifecycle', () => {
  it('stops the parts in reverse order of starting', async () => {
    const { logger } = capturedLog()
    const life = new Lifecycle({ log: logger })
    const order: string[] = []
    for (const name of ['a', 'b', 'c']) life.add(name, () => void order.push(name))
    await life.stop()
    expect(order).toEqual(['c', 'b', 'a'])
  })

  it('starts a part with a start/stop pair and adds its stop only once it has started', async () => {
    const { logger } = capturedLog()
    const life = new Lifecycle({ log: logger })
    const calls: string[] = []
    const part = { start: async () => void calls.push('start'), stop: async () => void calls.push('stop') }
    expect(await life.start('part', part)).toBe(part)
    const broken = { start: async () => Promise.reject(new Error('no')), stop: async () => void calls.push('broken stop') }
    await expect(life.start('broken', broken)).rejects.toThrow('no')
    await life.stop()
    expect(calls).toEqual(['start', 'stop'])
  })

  it('isolates a failing step: it is logged by name and the others still run', async () => {
    const { logger, lines } = capturedLog()
    const life = new Lifecycle({ log: logger })
    const order: string[] = []
    life.add('first', () => void order.push('first'))
    life.add('sync-throw', () => {
      throw new Error('boom')
    })
    life.add('rejects', async () => Promise.reject(new Error('bang')))
    life.add('last', () => void order.push('last'))
    await life.stop()
    expect(order).toEqual(['last', 'first'])
    const errors = lines.filter((l) => l.msg === 'a stop step failed; stopping the rest')
    expect(errors.map((l) => [l.step, l.err])).toEqual([
      ['rejects', 'bang'],
      ['sync-throw', 'boom'],
    ])
  })

  it('leaves a hanging step behind at the deadline, and gives each later step its grace', async () => {
    vi.useFakeTimers()
    const { logger, lines } = capturedLog()
    const life = new Lifecycle({ log: logger, deadlineMs: 8_000, graceMs: 200 })
    const order: string[] = []
    life.add('quick', () => void order.push('quick'))
    life.add('also-hangs', () => new Promise(() => order.push('also-hangs started')))
    life.add('hangs', () => new Promise(() => order.push('hangs started')))
    let done = false
    const stopping = life.stop().then(() => (done = true))
    await vi.advanceTimersByTimeAsync(7_999)
    expect(done).toBe(false)
    expect(order).toEqual(['hangs started'])
    await vi.advanceTimersByTimeAsync(1)
    // Past the deadline, the next hanging step still gets its 200 ms, not nothing.
    expect(order).toEqual(['hangs started', 'also-hangs started'])
    await vi.advanceTimersByTimeAsync(199)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await stopping
    expect(order).toEqual(['hangs started', 'also-hangs started', 'quick'])
    expect(lines.filter((l) => l.msg === 'a stop step did not finish in time; going on without it').map((l) => l.step)).toEqual(['hangs', 'also-hangs'])
  })

  it('is idempotent: a second stop runs nothing again and waits for the first', async () => {
    const { logger } = capturedLog()
    const life = new Lifecycle({ log: logger })
    let stops = 0
    let release!: () => void
    life.add('slow', () => new Promise<void>((r) => ((release = r), stops++)))
    const first = life.stop()
    const second = life.stop()
    expect(second).toBe(first)
    expect(life.stopped).toBe(true)
    await new Promise((r) => setImmediate(r))
    release()
    await Promise.all([first, second])
    await life.stop()
    expect(stops).toBe(1)
  })

  it('a failed start stops what had already started, in reverse, and rethrows', async () => {
    const { logger } = capturedLog()
    const life = new Lifecycle({ log: logger })
    const order: string[] = []
    const failure = new Error('third part would not start')
    await expect(
      life.build(async () => {
        life.add('one', () => void order.push('one'))
        life.add('two', () => void order.push('two'))
        throw failure
      }),
    ).rejects.toBe(failure)
    expect(order).toEqual(['two', 'one'])
    expect(life.stopped).toBe(true)
  })

  it('a part added after stop is stopped at once, not left running', async () => {
    const { logger } = capturedLog()
    const life = new Lifecycle({ log: logger })
    await life.stop()
    const stopped = new Promise<string>((resolve) => life.add('late', () => resolve('late')))
    expect(await stopped).toBe('late')
  })
})

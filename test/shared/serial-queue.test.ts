import { describe, it, expect } from 'vitest'
import { SerialQueue } from '../../edge/shared/serial-queue.ts'

/** A promise the test settles by hand. */
function gate<T = void>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

describe('SerialQueue', () => {
  it('runs tasks one at a time, in the order they were queued, each caller getting its own result', async () => {
    const q = new SerialQueue()
    const log: string[] = []
    const first = gate<string>()
    const a = q.run(async () => {
      log.push('a start')
      const v = await first.promise
      log.push('a end')
      return v
    })
    const b = q.run(() => {
      log.push('b')
      return 42
    })
    await Promise.resolve()
    await Promise.resolve()
    expect(log).toEqual(['a start'])
    expect(q.pending).toBe(2)
    first.resolve('A')
    expect(await a).toBe('A')
    expect(await b).toBe(42)
    expect(log).toEqual(['a start', 'a end', 'b'])
    await q.drain()
    expect(q.pending).toBe(0)
  })

  it('a failing task rejects only its own promise; the next still runs', async () => {
    const q = new SerialQueue()
    const failing = q.run(async () => {
      throw new Error('bus gone')
    })
    const throwing = q.run(() => {
      throw new Error('sync')
    })
    const after = q.run(() => 'ran')
    await expect(failing).rejects.toThrow('bus gone')
    await expect(throwing).rejects.toThrow('sync')
    expect(await after).toBe('ran')
  })

  it('drain waits for everything queued so far, not for what is queued later, and never rejects', async () => {
    const q = new SerialQueue()
    const one = gate()
    const two = gate()
    const done: string[] = []
    void q.run(() => one.promise).then(() => done.push('one'))
    void q.run(() => two.promise).catch(() => done.push('two failed'))
    let drained = false
    const drain = q.drain().then(() => (drained = true))
    const three = gate()
    void q.run(() => three.promise)
    one.resolve()
    await Promise.resolve()
    expect(drained).toBe(false)
    two.reject(new Error('x'))
    await drain
    expect(done).toEqual(['one', 'two failed'])
    expect(q.pending).toBe(1)
    three.resolve()
    await q.drain()
    expect(q.pending).toBe(0)
  })
})

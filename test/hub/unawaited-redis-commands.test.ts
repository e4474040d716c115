import { describe, it, expect, afterEach } from 'vitest'
import { Redis } from 'ioredis'
import { noUnhandledRejections } from '../../hub/unawaited-redis-commands.ts'
import { freePort } from '../support/ports.ts'

/**
 * mqemitter-redis quits its bus connections without awaiting QUIT: on a connection already broken,
 * the rejection went unhandled and a hub node's clean SIGTERM exited 1 (seen in CI, hub-cluster.test.ts).
 */
describe('Redis commands a library sends without awaiting them', () => {
  const seen: unknown[] = []
  const onUnhandled = (reason: unknown) => seen.push(reason)
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled)
    seen.length = 0
  })

  it('QUIT on a broken connection: its rejection is handled, and a caller that awaits it still sees it', async () => {
    process.on('unhandledRejection', onUnhandled)
    // Nothing listens there: the connection is closed before QUIT is sent, as a bus connection after EPIPE.
    const r = new Redis(`redis://127.0.0.1:${await freePort()}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    r.on('error', () => {})
    await r.connect().catch(() => {})
    noUnhandledRejections(r, ['quit'])
    const awaited = r.quit()
    void r.quit() // as mqemitter-redis's close() does
    await expect(awaited).rejects.toThrow('Connection is closed')
    // Barrier: Node reports an unhandled rejection once the microtasks of the turn it happened in have run.
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen).toEqual([])
  })
})

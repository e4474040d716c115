import { describe, it, expect, afterAll } from 'vitest'
import { startTestHub, user, connectAs, type TestHub } from './support/hub-fixture.ts'

/**
 * A login whose password check outlasted what the client waits for is
 * answered "server unavailable" rather than accepted (a storm of first logins
 * queued for scrypt): the client has usually gone, perhaps to another node of
 * a cluster. The password was right, so the retry is remembered and instant.
 */
describe('stale logins', () => {
  let t: TestHub
  afterAll(async () => {
    await t?.stop()
  })

  it('refuses a login whose check took too long with CONNACK 3, not as a failed login, and lets the retry in at once', async () => {
    const w01 = user('board', 'h1', 'w01')
    // scrypt takes tens of ms; a remembered password microseconds.
    t = await startTestHub([w01], { hall: 'h1', limits: { staleLoginMs: 5 } })
    const first = await connectAs(t.hub.port, w01).then(
      () => 'accepted',
      (err: Error & { code?: number }) => err.code ?? err.message,
    )
    expect(first).toBe(3)
    expect(t.log.refusals('stale-login')).toHaveLength(1)
    expect(t.hub.counters.authFailures).toBe(0)
    const again = await connectAs(t.hub.port, w01)
    expect(again.connected).toBe(true)
    await again.endAsync()
  })
})

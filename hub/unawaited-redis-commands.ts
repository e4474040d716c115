import type { Redis } from 'ioredis'

/**
 * Libraries that send Redis commands without awaiting them: with the connection gone, the rejection
 * went unhandled and ended the node.
 * - aedes-persistence-redis 12 sends some list updates that way (LREM and RPUSH of the will list in
 *   putWill and delWill, LREM of a stale key), seen when Redis was killed under traffic (issue 26);
 *   they only leave a stale list entry, which the library skips when it reads the key.
 * - mqemitter-redis's close() calls QUIT on both bus connections unawaited: a bus connection already
 *   broken when the node stops (EPIPE) rejected it with "Connection is closed", and a clean SIGTERM
 *   exited 1 (seen in CI, hub-cluster.test.ts).
 * The promise is still returned, so a caller that awaits it sees the error.
 */
export function noUnhandledRejections(r: Redis, names: ReadonlyArray<'lrem' | 'rpush' | 'quit'>): Redis {
  for (const name of names) {
    const original = (r[name] as (...args: unknown[]) => Promise<unknown>).bind(r)
    ;(r as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const p = original(...args)
      p.catch(() => {})
      return p
    }
  }
  return r
}

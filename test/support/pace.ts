/**
 * The one place a test lets real time pass on purpose, as part of what it
 * stages: pacing fault injection, holding a key down, letting a lease run past
 * its lifetime, the interval between two polls of a condition.
 *
 * Never use it to wait for something to happen (wait for that thing: a
 * message, `eventually`, a process exit) nor before a negative assertion (use a
 * barrier from test/support/barrier.ts): a fixed wait there is both slow and
 * too short on a busy machine. test/architecture/no-fixed-sleeps.test.ts
 * fails on any raw sleep elsewhere under test/, so each one is here, with the
 * reason it is one.
 */
export function letTimePass(ms: number, why: string): Promise<void> {
  if (!why.trim()) throw new TypeError('letTimePass needs the reason real time must pass')
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

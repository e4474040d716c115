/**
 * One time base for every process of a run: milliseconds since the epoch at
 * sub-millisecond resolution. performance.timeOrigin is taken from the wall
 * clock when a process starts, so two processes on one machine agree to within
 * microseconds; the bench checks the offset of every worker it starts.
 */
export const epochNow = (): number => performance.timeOrigin + performance.now()

import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A board's wall clock that a test can step while the board runs, the way
 * NTP catching up or a board without an RTC steps it: libfaketime (Debian
 * package `faketime`, test/setup/debian-packages.mjs) preloaded into the
 * board's process reads the offset from a file on every clock read
 * (FAKETIME_NO_CACHE), so a running process sees the step at once. Only
 * CLOCK_REALTIME moves (FAKETIME_DONT_FAKE_MONOTONIC): Node's timers and
 * performance.now() keep running on the real monotonic clock, as they do on a
 * board whose wall clock steps. Nothing in the board's code knows.
 */

/** libfaketime's multi-threaded build (Node runs threads), wherever this machine's multiarch put it. */
export function libfaketimePath(): string | null {
  for (const base of ['/usr/lib', '/usr/lib64']) {
    if (!existsSync(base)) continue
    for (const dir of [join(base, 'faketime'), ...readdirSync(base).map((d) => join(base, d, 'faketime'))]) {
      const lib = join(dir, 'libfaketimeMT.so.1')
      if (existsSync(lib)) return lib
    }
  }
  return null
}

export class SteppedWallClock {
  /** Where the board's wall clock stands against the real one. */
  offsetMs = 0
  /** Steps made, each as the change it made (negative: backwards). */
  readonly steps: number[] = []

  private constructor(
    private readonly lib: string,
    private readonly file: string,
  ) {
    this.write(0)
  }

  /** A clock file in `dir`; throws with the install command when libfaketime is missing. */
  static in(dir: string): SteppedWallClock {
    const lib = libfaketimePath()
    if (!lib) throw new Error('libfaketime is not installed: apt-get install -y faketime (test/setup/debian-packages.mjs does it for npm test)')
    return new SteppedWallClock(lib, join(dir, 'faketime-offset'))
  }

  /** The environment that puts a process on this clock. */
  env(): NodeJS.ProcessEnv {
    return { LD_PRELOAD: this.lib, FAKETIME_TIMESTAMP_FILE: this.file, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' }
  }

  /** Sets the offset from the real clock; the processes on this clock see the step with their next read. */
  stepTo(offsetMs: number): void {
    const to = Math.round(offsetMs / 1000) * 1000
    if (to === this.offsetMs) return
    this.steps.push(to - this.offsetMs)
    this.write(to)
  }

  private write(offsetMs: number): void {
    this.offsetMs = offsetMs
    // Written aside and renamed in, so a clock read never sees half a line.
    const tmp = `${this.file}.tmp`
    writeFileSync(tmp, `${offsetMs >= 0 ? '+' : '-'}${Math.abs(offsetMs / 1000)}\n`)
    renameSync(tmp, this.file)
  }
}

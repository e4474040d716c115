/**
 * Every output line of a board profile driven to its inactive level and
 * released: the relay open, triggers and lamps off, a MAX7219's LOAD high.
 *
 * sysfs keeps a line exported and driven after the process that drove it is
 * gone (docs/hardware.md §1), so an NVR relay or a capture trigger held when
 * the runtime crashed, or was killed by the watchdog, stays held until
 * something drives it again. Two things do: the unit's ExecStopPost
 * (`counter-edge outputs-off`, edge/supervision/counter-edge.service), which
 * runs after every stop, clean or not; and the `edge` command, which calls
 * this before anything else at start, so a start that fails half-way
 * (a key line busy, the hub unreachable) cannot leave a relay closed while
 * systemd restarts it over and over.
 *
 * Each line is done on its own: one that cannot be opened is reported and
 * the others are still released.
 */
import type { Logger } from 'pino'
import { profileLines, type ProfileLineSource } from '../../boards/profile-lines.ts'
import type { GpioBackend, Level } from './gpio-port.ts'
import { lineSpecFor } from './profile-line-spec.ts'

export interface OutputOffReport {
  /** Role name ('nvr-relay'). */
  name: string
  /** Where the profile declares it ('outputs.nvrRelay'). */
  path: string
  /** The logical level it was left at (0 for everything but a MAX7219's LOAD). */
  level: Level
  /** Why it could not be driven; undefined when it was. */
  error?: string
}

export async function driveOutputsInactive(profile: ProfileLineSource, gpio: GpioBackend, log?: Logger): Promise<OutputOffReport[]> {
  const reports: OutputOffReport[] = []
  for (const line of profileLines(profile)) {
    if (line.direction !== 'out') continue
    const spec = lineSpecFor(line)
    const level: Level = spec.initial ?? 0
    try {
      const handle = await gpio.open(spec)
      try {
        // Opening sets the level too, but a line left exported by a dead process is written again to be sure.
        await handle.write(level)
      } finally {
        await handle.close()
      }
      reports.push({ name: line.name, path: line.path, level })
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err)
      log?.error({ line: line.name, err: error }, 'could not drive output inactive')
      reports.push({ name: line.name, path: line.path, level, error })
    }
  }
  return reports
}

import { readFileSync } from 'node:fs'

/**
 * A reading of the machine's own monotonic clock, with the boot it belongs to. Node's hrtime is
 * CLOCK_MONOTONIC on Linux: it counts from the machine's boot, the same in every process, and no
 * step of the wall clock moves it. Two readings of one machine boot give the time between them
 * exactly, even across a restart of the runtime; across a reboot they give nothing.
 */
export interface MachineReading {
  boot: string
  ms: number
}

/** The machine's boot id on Linux (a new one each boot); null elsewhere, where readings are not kept. */
export function machineBootId(path = '/proc/sys/kernel/random/boot_id'): string | null {
  try {
    const id = readFileSync(path, 'utf8').trim()
    return id === '' ? null : id
  } catch {
    return null
  }
}

/** A reader of the machine's monotonic clock, or null on a machine that cannot name its boot. */
export function machineClock(boot: string | null = machineBootId()): (() => MachineReading) | null {
  if (boot === null) return null
  return () => ({ boot, ms: Number(process.hrtime.bigint() / 1_000_000n) })
}

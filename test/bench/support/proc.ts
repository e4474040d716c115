/**
 * What the kernel says about a process: CPU time and resident memory from
 * /proc, so the bench can measure children (hub, Mosquitto, an edge runtime)
 * the same way it measures itself.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let clkTck: number | undefined

function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clkTck = 100
    }
  }
  return clkTck
}

/** User + system CPU seconds the process has used so far (its threads included). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  return (utime + stime) / ticksPerSecond()
}

export interface Memory {
  /** Resident set now, MB. */
  rssMb: number
  /** Peak resident set, MB. */
  hwmMb: number
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 }
}

/** Busy and steal CPU seconds of the whole machine so far (/proc/stat), over all cores. */
export function machineCpuSeconds(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, _idle = 0, _iowait = 0, irq = 0, softirq = 0, steal = 0] = line
  const hz = ticksPerSecond()
  return { busy: (user + nice + system + irq + softirq) / hz, steal: steal / hz }
}

/**
 * CPU used by a set of processes between start() and stop(), as a share of
 * one core; plus the whole machine's, so what other tenants of a shared box
 * took in the same window ("others") is on record next to every figure.
 */
export class CpuMeter {
  private readonly start: Map<number, number>
  private readonly machine0 = machineCpuSeconds()
  private readonly t0 = performance.now()

  constructor(private readonly pids: Record<string, number>) {
    this.start = new Map(Object.values(pids).map((pid) => [pid, safeCpu(pid)]))
  }

  /** Per name: cores used on average (1.0 = one core busy the whole time) and CPU seconds; then 'others' and 'steal'. */
  stop(): Record<string, { cores: number; cpuS: number }> {
    const wallS = (performance.now() - this.t0) / 1000
    const out: Record<string, { cores: number; cpuS: number }> = {}
    let ours = 0
    const r = (x: number) => Math.round(x * 1000) / 1000
    for (const [name, pid] of Object.entries(this.pids)) {
      const cpuS = safeCpu(pid) - (this.start.get(pid) ?? 0)
      ours += Number.isFinite(cpuS) ? cpuS : 0
      out[name] = { cores: r(cpuS / wallS), cpuS: r(cpuS) }
    }
    const m = machineCpuSeconds()
    // Kernel work on behalf of our sockets (softirq) lands in "others" too; on loopback it is part of the cost.
    const others = Math.max(0, m.busy - this.machine0.busy - ours)
    out.others = { cores: r(others / wallS), cpuS: r(others) }
    out.steal = { cores: r((m.steal - this.machine0.steal) / wallS), cpuS: r(m.steal - this.machine0.steal) }
    return out
  }
}

function safeCpu(pid: number): number {
  try {
    return cpuSeconds(pid)
  } catch {
    return Number.NaN
  }
}

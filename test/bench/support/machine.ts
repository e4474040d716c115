/**
 * The machine a run was made on, and how its disk and CPU behaved at the time:
 * figures from a shared 2-core box mean little without the load it carried.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { summarize, type Summary } from './stats.ts'

export interface MachineInfo {
  cpu: string
  cores: number
  memoryGb: number
  kernel: string
  node: string
  mosquitto: string
  commit: string
  /** Filesystem holding the hub's data directories in this run. */
  dataFs: string
  loadAverageAtStart: number[]
  /** One 256-byte write + fdatasync, as the custody log does per group commit. */
  fsyncMs: Summary
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  } catch (err) {
    // `mosquitto -h` prints its version and exits 3.
    const out = (err as { stdout?: string }).stdout
    return typeof out === 'string' ? out.trim() : 'unknown'
  }
}

export function fsyncProbe(dir: string, rounds: number): Summary {
  const file = join(dir, `fsync-probe-${process.pid}`)
  const fd = openSync(file, 'w')
  const block = Buffer.alloc(256, 7)
  const samples: number[] = []
  try {
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now()
      writeSync(fd, block)
      fdatasyncSync(fd)
      samples.push(performance.now() - t0)
    }
  } finally {
    closeSync(fd)
    rmSync(file, { force: true })
  }
  return summarize(samples)
}

export function describeMachine(dataDir: string, fsyncRounds: number): MachineInfo {
  const c = cpus()
  const df = run('df', ['-T', dataDir]).split('\n')[1]?.split(/\s+/) ?? []
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    mosquitto: run('/usr/sbin/mosquitto', ['-h']).split('\n')[0] ?? 'unknown',
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    dataFs: df.length > 1 ? `${df[1]} (${df[0]})` : 'unknown',
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    fsyncMs: fsyncProbe(dataDir, fsyncRounds),
  }
}

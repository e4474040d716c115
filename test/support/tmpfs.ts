import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A small tmpfs of its own for a data directory, so a test can fill it to the
 * last byte and watch the writer get a real ENOSPC. Mounting needs root (CI
 * runs as root); canMountTmpfs() tells whether this machine allows it.
 */

export function canMountTmpfs(): boolean {
  const probe = join(tmpdir(), `tmpfs-probe-${process.pid}-${Date.now()}`)
  try {
    mkdirSync(probe, { recursive: true })
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}

export function mountTmpfs(dir: string, sizeMb: number): void {
  mkdirSync(dir, { recursive: true })
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir])
}

export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' })
  } catch {
    // not mounted (any more)
  }
}

/** Writes a ballast file until the filesystem has not one byte left; returns its path (delete it to free the space). */
export function fillUp(dir: string): string {
  const path = join(dir, 'ballast')
  const fd = openSync(path, 'w')
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size)
      try {
        for (;;) writeSync(fd, chunk)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      }
    }
  } finally {
    closeSync(fd)
  }
  return path
}

import { readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'

/**
 * Ports for servers the tests start, taken below the kernel's ephemeral range.
 * A port the kernel hands out for `listen(0)` comes from the same range as the
 * source ports of outgoing connections, so between closing it and a child
 * process binding it, any connection made in that gap can take it (CI saw
 * `EADDRINUSE` on a hub's port that way). Below the range only listeners
 * compete, and each vitest worker gets its own slice, so parallel files do not
 * pick the same one either. Two test runs side by side (two vitest processes,
 * or npm test beside a soak) have workers with the same numbers: the slice is
 * offset by the run's own process id and the walk through it starts at random,
 * so they do not walk the same ports in step (a rig whose proxy reached the
 * other run's hub saw that run's events as invented).
 */
const FIRST = 10_000
const SLICE = 1_000
let next = Math.floor(Math.random() * SLICE)
const handedOut = new Set<number>()

function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768
  } catch {
    return 32_768
  }
}

function sliceOf(): { from: number; size: number } | null {
  const end = ephemeralStart()
  const slices = Math.floor((end - FIRST) / SLICE)
  if (slices < 1) return null
  const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 0) || process.pid
  // A vitest run's workers share their parent (the run's main process); another run has another.
  return { from: FIRST + ((worker + process.ppid) % slices) * SLICE, size: SLICE }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

/** A port nothing listens on now and no other test worker will be given. */
export async function freePort(): Promise<number> {
  const slice = sliceOf()
  if (!slice) return kernelPort()
  for (let tries = 0; tries < slice.size; tries++) {
    const port = slice.from + (next++ % slice.size)
    if (handedOut.has(port)) continue
    if (await bindable(port)) {
      handedOut.add(port)
      if (handedOut.size > slice.size / 2) handedOut.clear()
      return port
    }
  }
  return kernelPort()
}

/** Whether something accepts TCP connections on 127.0.0.1:port now: how the tests see a child server is up. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

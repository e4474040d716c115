import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, canConnect } from './ports.ts'
import { eventually, GiveUp } from './probe.ts'
import { settlesWithin } from './deadline.ts'

export interface RunningRedis {
  port: number
  url: string
  readonly alive: boolean
  /** SIGKILL: Redis crashes; what it acknowledged is in its AOF. */
  kill(): Promise<void>
  /** Starts it again after kill(), on the same port and directory. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/**
 * A real redis-server (Debian's package) on a free loopback port, durable as
 * the hub cluster requires (hub/redis-durability.ts: AOF, fsync on every
 * write), in a directory of its own: a replica's sync writes an RDB file, and
 * a server started where one lies would load it. `volatile` starts it with no
 * persistence at all; `restart()` starts it again on the same port and
 * directory, so it reloads its AOF as after a crash.
 */
export async function startRedis(extraArgs: string[] = [], opts: { volatile?: boolean } = {}): Promise<RunningRedis> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'redis-'))
  const persistence = opts.volatile ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always']
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, ...extraArgs]
  let child = await spawnRedis(args, port)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get alive() {
      return child.exitCode === null && child.signalCode === null
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      child.kill('SIGKILL')
      await exited
    },
    async restart() {
      child = await spawnRedis(args, port)
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        child.kill('SIGTERM')
        await settlesWithin(exited, 3000)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function spawnRedis(args: string[], port: number): Promise<ChildProcess> {
  const child: ChildProcess = spawn('/usr/bin/redis-server', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new GiveUp(`redis-server exited at start (code ${child.exitCode}): ${output}`)
        return canConnect(port)
      },
      10_000,
      `redis-server to listen on ${port}`,
    )
  } catch (err) {
    child.kill('SIGKILL')
    throw err instanceof GiveUp ? err : new Error(`redis-server did not listen on ${port} within 10 s: ${output}`)
  }
  return child
}

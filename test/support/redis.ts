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
  stop(): Promise<void>
}

/**
 * A real redis-server (Debian's package) on a free loopback port, with no
 * persistence, in a directory of its own: a replica's sync writes an RDB
 * file, and a server started where one lies would load it.
 */
export async function startRedis(extraArgs: string[] = []): Promise<RunningRedis> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'redis-'))
  const child: ChildProcess = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
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
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await settlesWithin(exited, 3000)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}


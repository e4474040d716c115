import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, canConnect } from './ports.ts'

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
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start (code ${child.exitCode}): ${output}`)
    if (await canConnect(port)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server did not listen on ${port} within 10 s: ${output}`)
    }
    await new Promise((r) => setTimeout(r, 30))
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}


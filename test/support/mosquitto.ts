import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, canConnect } from './ports.ts'
import { eventually, GiveUp } from './probe.ts'
import { settlesWithin } from './deadline.ts'

export interface RunningMosquitto {
  port: number
  url: string
  stop(): Promise<void>
}

/** A real Mosquitto (Debian's package) on a free loopback port, as the central broker. */
export async function startMosquitto(): Promise<RunningMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'mosquitto-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  await writeFile(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'))
  const child: ChildProcess = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new GiveUp(`mosquitto exited at start (code ${child.exitCode}): ${stderr}`)
        return canConnect(port)
      },
      10_000,
      `mosquitto to listen on ${port}`,
    )
  } catch (err) {
    child.kill('SIGKILL')
    throw err instanceof GiveUp ? err : new Error(`mosquitto did not listen on ${port} within 10 s: ${stderr}`)
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await settlesWithin(exited, 3000)
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}


/**
 * A real Mosquitto (Debian's 2.0.11) for the benches: as central, or as the
 * broker a hall would run instead of our hub (password_file + acl_file).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../support/ports.ts'
import { canConnect } from './net.ts'

export interface BenchMosquittoOptions {
  /** TCP_NODELAY on client sockets (Mosquitto's default is off). */
  nodelay?: boolean
  /** Logins and an ACL; without it anonymous clients may do anything. */
  auth?: { users: Array<{ username: string; password: string }>; acl: string }
  /**
   * Mosquitto's own bridge to this broker at QoS 1: everything under `topic`
   * out to it (default), in from it (a hall's commands from central), or both.
   */
  bridge?: { port: number; topic: string; direction?: 'out' | 'in' | 'both' }
}

export interface BenchMosquitto {
  readonly port: number
  readonly url: string
  readonly pid: number
  stop(): Promise<void>
}

export const MOSQUITTO = '/usr/sbin/mosquitto'
const PASSWD = '/usr/bin/mosquitto_passwd'

export function mosquittoPasswdAvailable(): boolean {
  return existsSync(PASSWD)
}

export async function startBenchMosquitto(opts: BenchMosquittoOptions = {}): Promise<BenchMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-mosquitto-'))
  // Started as root, Mosquitto drops to its own user, which must still read its files.
  await chmod(dir, 0o755)
  const port = await freePort()
  const lines = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    // A benchmark subscriber that falls behind must slow the run, not lose messages silently.
    'max_queued_messages 0',
    'max_inflight_messages 0',
    `set_tcp_nodelay ${opts.nodelay === false ? 'false' : 'true'}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
  ]
  if (opts.auth) {
    if (!mosquittoPasswdAvailable()) throw new Error('a password_file needs mosquitto_passwd (Debian package mosquitto) to hash it')
    const pwFile = join(dir, 'passwords')
    const aclFile = join(dir, 'acl')
    await writeFile(pwFile, opts.auth.users.map((u) => `${u.username}:${u.password}`).join('\n') + '\n', { mode: 0o644 })
    // -U hashes every plain-text password in place (PBKDF2-SHA512 in 2.0).
    execFileSync(PASSWD, ['-U', pwFile], { stdio: ['ignore', 'ignore', 'pipe'] })
    await chmod(pwFile, 0o644)
    await writeFile(aclFile, opts.auth.acl, { mode: 0o644 })
    lines.push('allow_anonymous false', `password_file ${pwFile}`, `acl_file ${aclFile}`)
  } else {
    lines.push('allow_anonymous true')
  }
  if (opts.bridge) {
    lines.push(
      'connection bench-bridge',
      `address 127.0.0.1:${opts.bridge.port}`,
      `topic ${opts.bridge.topic} ${opts.bridge.direction ?? 'out'} 1`,
      'cleansession true',
      `remote_clientid bench-bridge-${port}`,
    )
  }
  const conf = join(dir, 'mosquitto.conf')
  await writeFile(conf, lines.join('\n') + '\n', { mode: 0o644 })
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited at start (code ${child.exitCode}): ${stderr}`)
    if (await canConnect(port)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`mosquitto did not listen on ${port} within 10 s: ${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 30))
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}

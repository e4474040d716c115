import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile, rm, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, canConnect } from '../../support/ports.ts'
import { eventually, GiveUp } from '../../support/probe.ts'
import { settlesWithin } from '../../support/deadline.ts'

/**
 * A real Mosquitto as central that can be stopped and started again on the
 * same port with its sessions kept (persistence on), so a test can take
 * central away and bring it back as an operator would.
 */
export class Central {
  private child: ChildProcess | null = null
  private stderr = ''

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly tls: boolean,
  ) {}

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`
  }

  /**
   * With tls, central listens for MQTT over TLS only, with these PEM files (readable by the mosquitto user).
   * Mosquitto otherwise saves its sessions only on a clean stop. With saveEveryChange it also saves at the
   * end of every loop turn that changed something, so a SIGKILL loses only what that turn acknowledged
   * (its time-based autosave compares whole seconds: `1` saves every one to two seconds, and a SIGKILL lost
   * up to that much in CI). Saving per turn to a disk costs an fsync each, which slows central down twofold
   * here; so the database then lives in /dev/shm where there is one: a SIGKILL keeps the page cache either
   * way, and no test here cuts central's power.
   */
  static async start(opts: { tls?: { ca: string; cert: string; key: string }; saveEveryChange?: boolean } = {}): Promise<Central> {
    const inMemory = opts.saveEveryChange === true && existsSync('/dev/shm')
    const dir = await mkdtemp(join(inMemory ? '/dev/shm' : tmpdir(), 'central-'))
    // Started as root, Mosquitto drops to its own user, which must still be able to save its database here.
    await chmod(dir, 0o777)
    const c = new Central(await freePort(), dir, Boolean(opts.tls))
    await writeFile(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${c.port} 127.0.0.1`,
        ...(opts.tls ? [`cafile ${opts.tls.ca}`, `certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`] : []),
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${dir}/`,
        ...(opts.saveEveryChange ? ['autosave_interval 1', 'autosave_on_changes true'] : []),
        'max_queued_messages 100000',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    )
    await c.startProcess()
    return c
  }

  async startProcess(): Promise<void> {
    const child = spawn('/usr/sbin/mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.child = child
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new GiveUp(`mosquitto exited at start (code ${child.exitCode}): ${this.stderr}`)
        return canConnect(this.port)
      },
      10_000,
      `mosquitto to listen on ${this.port}`,
    )
  }

  /** SIGSTOP freezes central (a hung server: sockets open, nothing answered); SIGCONT thaws it. */
  freeze(frozen: boolean): void {
    this.child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT')
  }

  /** SIGTERM: Mosquitto saves its sessions and queued messages on the way out. */
  async stopProcess(): Promise<void> {
    const child = this.child
    this.child = null
    if (!child || child.exitCode !== null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    await settlesWithin(exited, 5_000)
    if (child.exitCode === null) child.kill('SIGKILL')
    if (/Error saving/.test(this.stderr)) throw new Error(`mosquitto could not save its sessions: ${this.stderr}`)
  }

  /** SIGKILL: a crash or power cut of central's broker; it saves nothing on the way out. */
  async kill(): Promise<void> {
    const child = this.child
    this.child = null
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGKILL')
    await exited
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null
  }

  async dispose(): Promise<void> {
    await this.stopProcess()
    await rm(this.dir, { recursive: true, force: true })
  }
}


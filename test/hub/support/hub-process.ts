import { spawn, type ChildProcess } from 'node:child_process'
import { canConnect } from '../../support/ports.ts'

const CLI = new URL('../../../cli/counter-edge.mjs', import.meta.url).pathname

/** `counter-edge hub --config …` as a child process, so a test can SIGKILL it like a power cut. */
export class HubProcess {
  output = ''

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()))
  }

  static async start(configPath: string, port: number): Promise<HubProcess> {
    const child = spawn(process.execPath, [CLI, 'hub', '--config', configPath], {
      env: { ...process.env, LOG_LEVEL: process.env.HUB_LOG_LEVEL ?? 'warn', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const hub = new HubProcess(child)
    const deadline = Date.now() + 15_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`hub exited at start (code ${child.exitCode}): ${hub.output}`)
      if (await canConnect(port)) return hub
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`hub did not listen on ${port}: ${hub.output}`)
      }
      await new Promise((r) => setTimeout(r, 30))
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Sends a signal and resolves with how the process ended. */
  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.alive) return { code: this.child.exitCode, signal: this.child.signalCode }
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => this.child.once('exit', (code, sig) => r({ code, signal: sig })))
    this.child.kill(signal)
    return ended
  }
}


import { spawn, type ChildProcess } from 'node:child_process'
import { canConnect } from '../../support/ports.ts'
import { eventually, GiveUp } from '../../support/probe.ts'

const CLI = new URL('../../../cli/counter-edge.mjs', import.meta.url).pathname

/** `counter-edge hub --config …` as a child process, so a test can SIGKILL it like a power cut. */
export class HubProcess {
  output = ''

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()))
  }

  static async start(configPath: string, port: number, timeoutMs = 15_000): Promise<HubProcess> {
    const child = spawn(process.execPath, [CLI, 'hub', '--config', configPath], {
      env: { ...process.env, LOG_LEVEL: process.env.HUB_LOG_LEVEL ?? 'warn', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const hub = new HubProcess(child)
    try {
      await eventually(
        async () => {
          if (child.exitCode !== null) throw new GiveUp(`hub exited at start (code ${child.exitCode}): ${hub.output}`)
          return canConnect(port)
        },
        timeoutMs,
        `the hub to listen on ${port}`,
      )
    } catch (err) {
      child.kill('SIGKILL')
      throw err instanceof GiveUp ? err : new Error(`hub did not listen on ${port}: ${hub.output}`)
    }
    return hub
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


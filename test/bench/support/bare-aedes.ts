/**
 * Starts support/bare-aedes-entry.ts in a process of its own, as the hub
 * runs in one: the yardstick that says how much of the hub's cost is Node,
 * Aedes and mqtt.js themselves.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { freePort } from '../../support/ports.ts'
import { REPO } from './bench-hub.ts'

export interface BareAedes {
  readonly port: number
  readonly pid: number
  stop(): Promise<void>
}

const ENTRY = new URL('./bare-aedes-entry.ts', import.meta.url).pathname

export async function startBareAedes(o: { centralPort: number; hall: string }): Promise<BareAedes> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx/esm', ENTRY, String(o.centralPort), String(port), o.hall], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(child, 'exit')
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bare Aedes relay did not start within 30 s')), 30_000)
    child.once('exit', (code) => reject(new Error(`the bare Aedes relay exited at start (code ${code})`)))
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return {
    port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await exited
    },
  }
}

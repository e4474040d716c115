import { describe, it, expect, afterEach } from 'vitest'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { SystemdNotifier } from '../../edge/supervision/sd-notify.ts'
import { eventually } from '../support/probe.ts'

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

// Node cannot open a unix datagram socket, so the service manager's end is a few lines of Python.
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`

let dir: string | null = null
let receiver: ChildProcess | null = null
afterEach(async () => {
  receiver?.kill()
  receiver = null
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = null
})

describe('sd_notify through systemd-notify', () => {
  it.skipIf(!has('systemd-notify') || !has('python3'))('delivers READY, WATCHDOG and STATUS to NOTIFY_SOCKET', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sd-notify-'))
    const socket = join(dir, 'notify.sock')
    let out = ''
    receiver = spawn('python3', ['-c', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] })
    receiver.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    await eventually(() => out.includes('ready'), 5000, 'the receiver')
    const notifier = SystemdNotifier.fromEnv({ log: silentLogger(), env: { ...process.env, NOTIFY_SOCKET: socket } })!
    expect(await notifier.notify(['READY=1', 'STATUS=hub connected; journal 0 waiting'])).toBe(true)
    expect(await notifier.notify(['WATCHDOG=1'])).toBe(true)
    await eventually(() => out.includes('WATCHDOG=1'), 5000, 'the watchdog ping')
    expect(out).toContain('READY=1|STATUS=hub connected; journal 0 waiting')
  })

  it('is absent when not run under systemd, and gives up (once, loudly) when systemd-notify is missing', async () => {
    expect(SystemdNotifier.fromEnv({ log: silentLogger(), env: {} })).toBeNull()
    const n = SystemdNotifier.fromEnv({ log: silentLogger(), env: { NOTIFY_SOCKET: '/run/nothing' }, command: '/nonexistent/systemd-notify' })!
    expect(await n.notify(['READY=1'])).toBe(false)
    expect(await n.notify(['WATCHDOG=1'])).toBe(false)
  })
})

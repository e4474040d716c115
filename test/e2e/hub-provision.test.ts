import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import mqtt, { type MqttClient } from 'mqtt'
import { startTestHub, user, publishOutcome, subscribeOutcome, closeAll, statusMessage, type TestHub } from '../hub/support/hub-fixture.ts'
import { eventually } from '../support/probe.ts'

const run = promisify(execFile)
const CLI = new URL('../../cli/counter-edge.mjs', import.meta.url).pathname
const H = 'h1'

/** `counter-edge provision` adds a window that can connect at once, without restarting the hub. */
describe('provisioning a window into a running hub', () => {
  let t: TestHub
  const open: MqttClient[] = []
  let revokedConfig: Record<string, unknown> | null = null

  beforeAll(async () => {
    // Attempts before the reload are failed logins; they must not put loopback into backoff here.
    t = await startTestHub([user('board', H, 'w01')], { hall: H, limits: { freeLoginFailures: 1_000 } })
  })
  afterAll(async () => {
    await closeAll(open)
    await t?.stop()
  })

  it('a provisioned board connects with the printed config; revoking it drops its session', async () => {
    const hubUrl = `mqtt://127.0.0.1:${t.hub.port}`
    const { stdout, stderr } = await run(process.execPath, [CLI, 'provision', '--credentials', t.credentialsFile, '--hall', H, '--counter', 'w09', '--hub', hubUrl])
    const config = JSON.parse(stdout) as { hall: string; counter: string; hub: string[]; username: string; password: string }
    expect(config).toMatchObject({ hall: H, counter: 'w09', hub: [hubUrl], username: `${H}-w09` })
    expect(stderr).toContain('shown only now')

    // No restart: the hub reloads the credentials file on its own.
    const board = await eventually(
      () => mqtt.connectAsync(config.hub[0]!, { clientId: config.username, username: config.username, password: config.password, reconnectPeriod: 0 }),
      5_000,
      'the new window to be accepted',
    )
    open.push(board)
    expect(await subscribeOutcome(board, `hall/${H}/counter/w09/cmd/+`)).toBe('granted')
    expect(await publishOutcome(board, `hall/${H}/counter/w09/status`, JSON.stringify(statusMessage('p1', 0, true)), { retain: true })).toBe('acked')
    // Its credentials bind it to its own window.
    expect(await publishOutcome(board, `hall/${H}/counter/w01/status`, JSON.stringify(statusMessage('p1', 1, true)), { retain: true })).toBe('closed')
    expect(t.log.text()).not.toContain(config.password)

    const live = await mqtt.connectAsync(config.hub[0]!, { clientId: config.username, username: config.username, password: config.password, reconnectPeriod: 0 })
    const dropped = new Promise<void>((r) => live.once('close', () => r()))
    await run(process.execPath, [CLI, 'provision', '--credentials', t.credentialsFile, '--hall', H, '--counter', 'w09', '--revoke'])
    await dropped
    await expect(mqtt.connectAsync(config.hub[0]!, { clientId: config.username, username: config.username, password: config.password, reconnectPeriod: 0 })).rejects.toThrow(
      /Bad username or password/,
    )
    revokedConfig = config
  })

  it('a board running with revoked credentials says to re-provision it, instead of only retrying', async () => {
    expect(revokedConfig).not.toBeNull()
    const dir = await mkdtemp(join(tmpdir(), 'revoked-board-'))
    const file = join(dir, 'w09.json')
    await writeFile(file, JSON.stringify(revokedConfig), { mode: 0o600 })
    const child = spawn(process.execPath, [CLI, 'edge', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_FORMAT: 'json' } })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    try {
      await eventually(() => out.includes('re-provision it (counter-edge provision --replace)'), 20_000, `the re-provision hint (output: ${out.slice(-1500)})`)
      const line = JSON.parse(out.split('\n').find((l) => l.includes('re-provision it'))!) as { level: number; msg: string }
      expect(line.level).toBe(50)
      expect(line.msg).toMatch(/^集线器拒绝了本板的凭据.* \/ the hub refuses this board's credentials \(revoked or replaced\)/)
    } finally {
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      child.kill('SIGTERM')
      await exited
      await rm(dir, { recursive: true, force: true })
    }
  }, 40_000)

  it('at a terminal, a board with revoked credentials prints readable lines, stops retrying and says to re-provision', async () => {
    expect(revokedConfig).not.toBeNull()
    const dir = await mkdtemp(join(tmpdir(), 'revoked-tty-'))
    const file = join(dir, 'w09.json')
    await writeFile(file, JSON.stringify(revokedConfig), { mode: 0o600 })
    // script(1) runs the command on a pseudo-terminal, as a technician's shell would; -e: its exit code.
    const env: Record<string, string | undefined> = { ...process.env }
    delete env.LOG_FORMAT
    const child = spawn('script', ['-qefc', `'${process.execPath}' '${CLI}' edge --config '${file}'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    try {
      // 'close', not 'exit': what it printed last can still be in the pipe when it has exited.
      const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)))
      const text = out.replace(/\x1b\[[0-9;]*m/g, '')
      expect(code, text.slice(-2000)).toBe(1)
      expect(text).toMatch(/集线器连续 3 次拒绝本板的凭据，已停止重试：请用 counter-edge provision --replace 为 w09 重新发放，并用新配置再运行 \/ the hub refused this board's credentials 3 times in a row \(revoked or replaced\); stopped retrying: re-provision w09/)
      // pino-pretty's lines (time, level in words), not JSON.
      expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] FATAL/m)
      expect(text).not.toMatch(/\{"level":/)
      expect(text).not.toContain(String(revokedConfig!.password))
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM')
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

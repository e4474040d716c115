import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile, spawn, spawnSync } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import mqtt, { type MqttClient } from 'mqtt'
import { startTestHub, user, publishOutcome, subscribeOutcome, closeAll, statusMessage, type TestHub } from '../hub/support/hub-fixture.ts'
import { eventually } from '../support/probe.ts'
import { freePort } from '../support/ports.ts'

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

/**
 * The hall's layout from docs/operations.md: /etc/counter-edge is root's, group of the hub's service
 * user, mode 750; the hub reads the credentials file through that group; the technician provisions
 * with sudo. The hub here runs as nobody:nogroup, standing in for counter-edge:counter-edge.
 */
/**
 * The hub runs as nobody from this checkout: it can only where nobody may read it. A clone inside a
 * folder only root may enter (mktemp -d makes them 700) cannot host that hub, whatever the product does.
 */
const nobodyReadsCheckout =
  process.getuid?.() === 0 && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', `require('node:fs').accessSync(${JSON.stringify(CLI)})`], { stdio: 'ignore' }).status === 0
if (process.getuid?.() === 0 && !nobodyReadsCheckout) console.warn(`hub-provision: the user nobody cannot read ${CLI} (a folder above it is closed to others), so the hub-as-service-user test does not run here`)

describe.runIf(nobodyReadsCheckout)('provisioning as root into the folder a hub reads as its service user', () => {
  const NOGROUP = 65534
  let dir = ''
  let hub: ReturnType<typeof spawn> | null = null

  afterAll(async () => {
    if (hub && hub.exitCode === null) {
      const exited = new Promise<void>((r) => hub!.once('exit', () => r()))
      hub.kill('SIGTERM')
      await exited
    }
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('keeps the file readable by the hub, so the new board gets in; a user who may not write it is told so in both languages', async () => {
    dir = await mkdtemp(join(tmpdir(), 'etc-counter-edge-'))
    const etc = join(dir, 'etc')
    await mkdir(etc)
    await chown(etc, 0, NOGROUP)
    await chmod(etc, 0o750)
    await chmod(dir, 0o755)
    const creds = join(etc, 'credentials.json')
    // The first account, made as the install does it: sudo, into the group's folder.
    const first = await run(process.execPath, [CLI, 'provision', '--credentials', creds, '--hall', H, '--counter', 'w01', '--out', join(dir, 'w01.json')])
    expect(first.stderr).toContain('added h1-w01')
    expect(await stat(creds)).toMatchObject({ uid: 0, gid: NOGROUP })
    expect((await stat(creds)).mode & 0o777).toBe(0o640)

    const port = await freePort()
    hub = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'hub', '--hall', H, '--credentials', creds, '--host', '127.0.0.1', '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_FORMAT: 'json' },
    })
    let log = ''
    hub.stdout!.on('data', (d: Buffer) => (log += d.toString()))
    hub.stderr!.on('data', (d: Buffer) => (log += d.toString()))
    await eventually(() => log.includes('hub listening'), 20_000, `the hub, as nobody, listening (log: ${log.slice(-1000)})`)

    // With the hall open: a new window, provisioned with sudo while the hub runs.
    await run(process.execPath, [CLI, 'provision', '--credentials', creds, '--hall', H, '--counter', 'w13', '--hub', `mqtt://127.0.0.1:${port}`, '--out', join(dir, 'w13.json')])
    expect(await stat(creds)).toMatchObject({ uid: 0, gid: NOGROUP })
    expect((await stat(creds)).mode & 0o777).toBe(0o640)
    const config = JSON.parse(await readFile(join(dir, 'w13.json'), 'utf8')) as { username: string; password: string }
    const board = await eventually(
      () => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: config.username, username: config.username, password: config.password, reconnectPeriod: 0 }),
      10_000,
      `the new window to be accepted by the hub reading as its service user (hub log: ${log.slice(-600)})`,
    )
    await board.endAsync()

    // The same command without sudo: refused in both languages, the file unchanged.
    const before = await readFile(creds, 'utf8')
    const denied = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'provision', '--credentials', creds, '--hall', H, '--counter', 'w14', '--out', join(tmpdir(), `w14-${process.pid}.json`)], { stdio: ['ignore', 'ignore', 'pipe'] })
      let err = ''
      c.stderr!.on('data', (d: Buffer) => (err += d.toString()))
      c.once('exit', (code) => resolve({ code, err }))
    })
    expect(denied.code).toBe(1)
    expect(denied.err).toContain(`无法写入凭据文件 ${creds}：没有写权限（凭据文件属 root 管理，请用 sudo 运行），文件未改动 / cannot write credentials file ${creds}: EACCES`)
    expect(denied.err).toContain('run this with sudo')
    expect(await readFile(creds, 'utf8')).toBe(before)
  }, 60_000)
})

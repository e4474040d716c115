import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { makeTestPki, type TestPki } from '../hub/support/certs.ts'
import { HubTap, writeBoardCredentials, type BoardLogin } from '../support/hub-tap.ts'
import { freePort } from '../support/ports.ts'
import { eventually } from '../support/probe.ts'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))
const HALL = 'hall-t'

/** The board's side of the hub's TLS listener: the hall's CA, and a client certificate where the hub asks for one. */
describe('a board on the hub over TLS with a client certificate', () => {
  let dir: string
  let pki: TestPki
  let hub: RunningHub
  let tap: HubTap
  let board: BoardLogin

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'board-tls-'))
    const creds = await writeBoardCredentials(dir, HALL, 'w01')
    board = creds.board
    pki = makeTestPki(dir, [board.username, `${HALL}-w09`])
    hub = await startHub(
      { hall: HALL, port: 0, credentialsFile: creds.credentialsFile, tls: { port: await freePort(), certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.ca, requestCert: true } },
      silentLogger(),
    )
    tap = await HubTap.attach(hub, `hall/${HALL}/counter/w01/status`)
  })
  afterAll(async () => {
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  function run(name: string, tls: Record<string, string> | undefined) {
    const config = join(dir, `${name}.json`)
    const body = { hall: HALL, counter: 'w01', board: 'sim-window', hub: [`mqtts://127.0.0.1:${hub.tlsPort}`], username: board.username, password: board.password, ...(tls ? { tls } : {}) }
    return writeFile(config, JSON.stringify(body)).then(() => {
      const child = spawn(process.execPath, [CLI, 'edge', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_FORMAT: 'json' } })
      let output = ''
      child.stdout.on('data', (d: Buffer) => (output += d.toString()))
      child.stderr.on('data', (d: Buffer) => (output += d.toString()))
      // 'close', not 'exit': what it printed last (why it stopped) can still be in the pipe when it has exited.
      const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)))
      return { child, exited, output: () => output }
    })
  }

  it('comes online with the CA, its own certificate and its password', async () => {
    const p = await run('good', { ca: pki.ca, cert: pki.clients[board.username]!.cert, key: pki.clients[board.username]!.key })
    try {
      const birth = await tap.waitFor((m) => m.payload.online === true, 30_000, 'the board online over TLS')
      expect(birth.payload).toMatchObject({ board: 'sim-window' })
    } finally {
      p.child.kill('SIGTERM')
    }
    expect(await p.exited, p.output()).toBe(0)
  })

  it('does not get in with another window\'s certificate, nor without the hall\'s CA, and says why', async () => {
    tap.messages.length = 0
    const other = await run('other-cert', { ca: pki.ca, cert: pki.clients[`${HALL}-w09`]!.cert, key: pki.clients[`${HALL}-w09`]!.key })
    const noCa = await run('no-ca', undefined)
    // Each was turned away (its own words): a connection refused never announces the board.
    await eventually(() => /Not authorized|not authori[sz]ed|Bad username or password|refused/i.test(other.output()), 20_000, 'the other-cert board refused')
    await eventually(() => /self[- ]signed|unable to verify|certificate/i.test(noCa.output()), 20_000, 'the no-CA board refused')
    for (const p of [other, noCa]) p.child.kill('SIGTERM')
    await Promise.all([other.exited, noCa.exited])
    expect(tap.messages.filter((m) => m.payload.online === true)).toHaveLength(0)
    expect(other.output()).toMatch(/Not authorized|not authori[sz]ed|Bad username or password|refused/i)
    expect(noCa.output()).toMatch(/self[- ]signed|unable to verify|certificate/i)
  })

  it('names the file when a PEM file in the config cannot be read', async () => {
    const p = await run('missing', { ca: join(dir, 'nope.crt') })
    expect(await p.exited).not.toBe(0)
    expect(p.output()).toMatch(/tls\.ca：无法读取 .*nope\.crt，文件不存在 \/ cannot read .*nope\.crt: the file does not exist/)
  })
})

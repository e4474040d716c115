import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import { nativeVersions, packRelease, type BuiltRelease } from '../../../cli/build/release.ts'
import { parseCommand, type CommandOf } from '../../../edge/protocol/index.ts'
import { silentLogger } from '../../../edge/shared/logger.ts'
import { BoardRoot } from '../../../edge/update/board-root.ts'
import { Installer, type UpdateFields } from '../../../edge/update/installer.ts'
import { eventually } from '../../support/probe.ts'
import { writeFakeRelease } from './fake-releases.ts'

/**
 * The installer against a small real HTTP server with Basic auth serving a
 * real signed release (packed and signed by cli/build/release.ts).
 */
const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const USER = 'hall-1-w01'
const PASS = 'board-secret'

let dir: string
let server: Server
let base: string
let release: BuiltRelease
let other: BuiltRelease
let corrupt = false
/** Transfers still to be cut halfway, as a hub killed mid-download cuts them; and the payload requests seen. */
let cuts = 0
let payloadRequests = 0
const keys = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { priv: privateKey.export({ type: 'pkcs8', format: 'pem' }), pub: publicKey.export({ type: 'spki', format: 'pem' }) }
}
const hall = keys()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'installer-'))
  const stage = join(dir, 'stage')
  await writeFakeRelease(new BoardRoot(join(dir, 'stage-root')), '0.2.0', 'healthy')
  await cp(join(dir, 'stage-root/releases/0.2.0'), stage, { recursive: true })
  await mkdir(join(stage, 'boards'))
  await writeFile(join(stage, 'boards', 'sim-window.json'), '{}')
  release = await packRelease({ stage, version: '0.2.0', node: '>=20.19', native: await nativeVersions(REPO), privateKeyPem: hall.priv, out: join(dir, 'out') })
  other = await packRelease({ stage, version: '0.2.1', node: '>=20.19', native: await nativeVersions(REPO), privateKeyPem: keys().priv, out: join(dir, 'out') })
  server = createServer((req, res) => {
    req.socket.setNoDelay(true)
    if (req.headers.authorization !== `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`) {
      res.writeHead(401).end()
      return
    }
    const file = join(dir, 'out', (req.url ?? '').split('/').pop() ?? '')
    if (!existsSync(file)) {
      res.writeHead(404).end()
      return
    }
    payloadRequests++
    void readFile(file).then((bytes) => {
      if (corrupt) bytes[bytes.length >> 1] = 0xff - bytes[bytes.length >> 1]!
      if (cuts > 0) {
        cuts--
        res.writeHead(200, { 'content-length': bytes.length })
        res.write(bytes.subarray(0, bytes.length >> 1), () => res.socket?.destroy())
        return
      }
      res.writeHead(200, { 'content-length': bytes.length }).end(bytes)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases`
})

// A test that failed halfway must not leave cuts for the next one.
afterEach(() => {
  cuts = 0
})

afterAll(async () => {
  await new Promise((r) => server.close(r))
  await rm(dir, { recursive: true, force: true })
})

/** A board root with 0.1.0 installed, the hall key, the checkout's node_modules, and a data folder outside it. */
async function board(name: string, free?: () => boolean, downloadRetryMs?: number[]) {
  const root = new BoardRoot(join(dir, name, 'opt'))
  await writeFakeRelease(root, '0.1.0', 'healthy')
  await root.point('current', '0.1.0')
  await mkdir(join(root.dir, 'keys'))
  await writeFile(root.publicKey, hall.pub)
  await symlink(join(REPO, 'node_modules'), root.nodeModules)
  const data = join(dir, name, 'var')
  await mkdir(join(data, 'journal'), { recursive: true })
  await writeFile(join(data, 'state.json'), '{"mode":"idle"}')
  await writeFile(join(data, 'journal', '000001.seg'), 'records')
  const reports: UpdateFields[] = []
  const restarts: number[] = []
  const installer = new Installer({
    root,
    running: '0.1.0',
    credentials: { username: USER, password: name === 'wrong' ? 'not-the-password' : PASS },
    report: (f) => reports.push(f),
    restart: async () => {
      restarts.push(Date.now())
    },
    log: silentLogger(),
    ...(free ? { hold: async () => free(), freeCheckMs: 20 } : {}),
    ...(downloadRetryMs ? { downloadRetryMs } : {}),
  })
  const dataFiles = async () => Promise.all(['state.json', 'journal/000001.seg'].map((f) => readFile(join(data, f), 'utf8')))
  return { root, installer, reports, restarts, dataFiles }
}

function updateCmd(r: BuiltRelease, url = `${base}/${r.manifest.payload.file}`): CommandOf<'update'> {
  const parsed = parseCommand('update', JSON.stringify({ id: `u-${r.version}`, expires: new Date(Date.now() + 60_000).toISOString(), release: r.signed, url, confirmWithinS: 30 }))
  if (!parsed.ok) throw new Error(parsed.message)
  return parsed.command as CommandOf<'update'>
}

describe('installer', () => {
  it('good: downloads with the board\'s credentials, verifies, unpacks beside the running version, swaps current and restarts; data untouched', async () => {
    const b = await board('good')
    const before = await b.dataFiles()
    expect(await b.installer.begin(updateCmd(release))).toEqual({ ok: true, result: { version: '0.2.0', size: release.manifest.payload.size } })
    await eventually(() => b.restarts.length === 1, 10_000, 'the restart')
    expect([...new Set(b.reports.map((r) => r.state))]).toEqual(['downloading', 'verifying', 'installing', 'restarting'])
    // Nobody at the window: no report says the restart waits.
    expect(b.reports.filter((r) => r.waitingFor !== undefined)).toEqual([])
    expect(b.reports.at(-1)).toMatchObject({ running: '0.1.0', target: '0.2.0', previous: '0.1.0', cmd: 'u-0.2.0', reason: null })
    expect(b.reports.filter((r) => r.state === 'downloading').at(-1)!.progress).toEqual({ bytes: release.manifest.payload.size, total: release.manifest.payload.size })
    expect(await b.root.versionOf('current')).toBe('0.2.0')
    expect(await b.root.versionOf('previous')).toBe('0.1.0')
    const j = await b.root.readJournal()
    expect(j).toMatchObject({ trying: '0.2.0', previous: '0.1.0', cmd: 'u-0.2.0', rolledBack: null })
    expect(Date.parse(j.deadline!)).toBeGreaterThan(Date.now())
    expect((await readdir(b.root.releases)).sort()).toEqual(['0.1.0', '0.2.0'])
    expect(await readFile(join(b.root.releaseDir('0.2.0'), 'package.json'), 'utf8')).toMatch(/"version": "0.2.0"/)
    expect(await b.dataFiles()).toEqual(before)
  })

  it('a call that came while it downloaded: the switch and the restart wait until nobody is at the window', async () => {
    let applicant = true
    const b = await board('applicant', () => !applicant)
    expect((await b.installer.begin(updateCmd(release))).ok).toBe(true)
    await eventually(() => b.reports.some((r) => r.state === 'installing'), 10_000, 'installed')
    // Installed beside the running version; current untouched while the applicant is served.
    await eventually(async () => (await readdir(b.root.releases)).includes('0.2.0'), 10_000, 'unpacked')
    expect(b.restarts).toEqual([])
    expect(await b.root.versionOf('current')).toBe('0.1.0')
    expect((await b.root.readJournal()).trying).toBeNull()
    // Central tells this wait from a stuck install: the contract's waitingFor, on the retained report, and only there.
    const waiting = await eventually(() => b.reports.find((r) => r.waitingFor !== undefined), 10_000, 'the report that it waits')
    expect(waiting).toMatchObject({ state: 'installing', target: '0.2.0', waitingFor: 'applicant', reason: null })
    expect(b.reports.at(-1)).toBe(waiting)
    applicant = false
    await eventually(() => b.restarts.length === 1, 10_000, 'the restart once the window is free')
    expect(await b.root.versionOf('current')).toBe('0.2.0')
    expect(b.reports.at(-1)).toMatchObject({ state: 'restarting' })
    expect(b.reports.at(-1)!.waitingFor).toBeUndefined()
    expect(b.reports.filter((r) => r.waitingFor !== undefined)).toHaveLength(1)
  })

  it('old releases: only the running version and the rollback target stay, at start and once an update is confirmed', async () => {
    const b = await board('prune')
    for (const v of ['0.0.7', '0.0.8', '0.0.9']) await writeFakeRelease(b.root, v, 'healthy')
    await b.root.point('previous', '0.0.9')
    // What power cuts left: an unpack, a download, a delete cut short.
    await mkdir(join(b.root.releases, '0.0.6.partial', 'dist'), { recursive: true })
    await writeFile(join(b.root.releases, '0.0.6.tar.gz.part'), 'half')
    await mkdir(join(b.root.releases, '.0.0.5.deleting'))
    await b.installer.reportStart()
    await eventually(async () => (await readdir(b.root.releases)).length === 2, 10_000, 'the cleanup at start')
    expect((await readdir(b.root.releases)).sort()).toEqual(['0.0.9', '0.1.0'])
    // An update to 0.2.0, confirmed by the launcher: 0.1.0 is now the way back, 0.0.9 goes.
    expect((await b.installer.begin(updateCmd(release))).ok).toBe(true)
    await eventually(() => b.restarts.length === 1, 10_000, 'the restart')
    expect((await readdir(b.root.releases)).sort()).toEqual(['0.0.9', '0.1.0', '0.2.0'])
    await b.root.writeJournal({ ...(await b.root.readJournal()), trying: null, deadline: null })
    const next = new Installer({ root: b.root, running: '0.2.0', credentials: { username: USER, password: PASS }, report: () => undefined, restart: async () => undefined, log: silentLogger() })
    await next.confirmed()
    expect((await readdir(b.root.releases)).sort()).toEqual(['0.1.0', '0.2.0'])
    expect(await b.root.versionOf('current')).toBe('0.2.0')
    expect(await b.root.versionOf('previous')).toBe('0.1.0')
  })

  it('old releases are not touched mid-install: a confirmation while a release waits for the window keeps it', async () => {
    let applicant = true
    const b = await board('prune-mid', () => !applicant)
    await writeFakeRelease(b.root, '0.0.9', 'healthy')
    expect((await b.installer.begin(updateCmd(release))).ok).toBe(true)
    await eventually(async () => (await readdir(b.root.releases)).includes('0.2.0'), 10_000, 'unpacked')
    await b.installer.confirmed()
    await b.installer.reportStart()
    expect((await readdir(b.root.releases)).sort()).toEqual(['0.0.9', '0.1.0', '0.2.0'])
    applicant = false
    await eventually(() => b.restarts.length === 1, 10_000, 'the restart once the window is free')
    expect(await b.root.versionOf('current')).toBe('0.2.0')
    expect(await readFile(join(b.root.releaseDir('0.2.0'), 'package.json'), 'utf8')).toMatch(/"version": "0.2.0"/)
  })

  it('wrong password: failed with the reason, the running version stays current, nothing left behind', async () => {
    const b = await board('wrong')
    expect((await b.installer.begin(updateCmd(release))).ok).toBe(true)
    const failed = await eventually(() => b.reports.find((r) => r.state === 'failed'), 10_000, 'failed')
    expect(failed?.reason).toMatch(/^下载失败 \/ downloading: HTTP 401 .*集线器拒绝本板凭据 \/ the hub refused this board's credentials$/)
    // A refusal is not tried again (the board's default tries would otherwise still be waiting).
    expect(b.reports.filter((r) => r.state === 'downloading' && r.progress?.bytes === 0)).toHaveLength(1)
    expect(await b.root.versionOf('current')).toBe('0.1.0')
    expect(await readdir(b.root.releases)).toEqual(['0.1.0'])
    expect(b.restarts).toEqual([])
    expect((await b.root.readJournal()).trying).toBeNull()
  })

  it('a download the hub cut (killed or restarted mid-transfer) is tried again and installed; one cut too many fails with the reason', async () => {
    cuts = 2
    payloadRequests = 0
    const b = await board('cut', undefined, [20, 20])
    expect((await b.installer.begin(updateCmd(release))).ok).toBe(true)
    await eventually(() => b.restarts.length === 1, 10_000, 'the restart after the third try')
    expect(payloadRequests).toBe(3)
    expect(b.reports.some((r) => r.state === 'failed')).toBe(false)
    expect(await b.root.versionOf('current')).toBe('0.2.0')

    cuts = 3
    payloadRequests = 0
    const c = await board('cut-thrice', undefined, [20, 20])
    expect((await c.installer.begin(updateCmd(release))).ok).toBe(true)
    const failed = await eventually(() => c.reports.find((r) => r.state === 'failed'), 10_000, 'failed')
    expect(failed?.reason).toMatch(/^下载失败 \/ downloading: 下载中断 \/ download cut short after \d+ bytes/)
    expect(payloadRequests).toBe(3)
    expect(await c.root.versionOf('current')).toBe('0.1.0')
    expect(await readdir(c.root.releases)).toEqual(['0.1.0'])
  })

  it('bad hash: a payload changed on the way is refused at verifying', async () => {
    const b = await board('corrupt')
    corrupt = true
    try {
      expect((await b.installer.begin(updateCmd(release))).ok).toBe(true)
      const failed = await eventually(() => b.reports.find((r) => r.state === 'failed'), 10_000, 'failed')
      expect(failed?.reason).toMatch(/^校验失败 \/ verifying: SHA-256 不符，下载内容已损坏 \/ payload SHA-256 .* differs from the signed manifest/)
    } finally {
      corrupt = false
    }
    expect(await b.root.versionOf('current')).toBe('0.1.0')
    expect(await readdir(b.root.releases)).toEqual(['0.1.0'])
  })

  it('refused before any download: another key, the running version, native packages that differ, Node range not met, no key', async () => {
    const b = await board('refusals')
    expect(await b.installer.begin(updateCmd(other))).toMatchObject({ ok: false, code: 'bad-payload', message: expect.stringMatching(/^发布包签名不符，拒绝 \/ release refused: .*signature does not match the hall release key/) })
    const same = await packRelease({ stage: join(dir, 'stage'), version: '0.1.0', node: '>=20.19', native: {}, privateKeyPem: hall.priv, out: join(dir, 'same') })
    expect(await b.installer.begin(updateCmd(same))).toMatchObject({ ok: false, code: 'bad-payload', message: '版本 0.1.0 已在运行 / version 0.1.0 is already running' })
    const native = await packRelease({ stage: join(dir, 'stage'), version: '0.2.2', node: '>=20.19', native: { 'i2c-bus': '0.0.1' }, privateKeyPem: hall.priv, out: join(dir, 'native') })
    expect(await b.installer.begin(updateCmd(native))).toMatchObject({ ok: false, code: 'unsupported', message: expect.stringMatching(/^须先运行 counter-edge install 更新原生包 \/ release 0\.2\.2 needs `counter-edge install` of i2c-bus 0\.0\.1 \(board has \d/) })
    const node = await packRelease({ stage: join(dir, 'stage'), version: '0.2.3', node: '>=99', native: {}, privateKeyPem: hall.priv, out: join(dir, 'node') })
    expect(await b.installer.begin(updateCmd(node))).toMatchObject({ ok: false, code: 'unsupported', message: expect.stringMatching(/^本板 Node\.js 版本不符 \/ release 0\.2\.3 needs Node\.js >=99; this board has 2\d\./) })
    await rm(b.root.publicKey)
    expect(await b.installer.begin(updateCmd(release))).toMatchObject({ ok: false, code: 'unsupported', message: expect.stringMatching(/^本板没有大厅发布公钥 \/ no hall release key on this board/) })
    expect(b.reports).toEqual([])
  })

  it('at start, reports what update.json says: confirming a trial, then confirmed; or the rollback and why', async () => {
    const b = await board('start')
    await b.root.writeJournal({ trying: '0.1.0', previous: '0.0.9', cmd: 'u-7', deadline: new Date(Date.now() + 60_000).toISOString(), rolledBack: null })
    await b.installer.reportStart()
    await b.installer.confirmed()
    expect(b.reports.map((r) => [r.state, r.target, r.cmd])).toEqual([['confirming', '0.1.0', 'u-7'], ['confirmed', '0.1.0', 'u-7']])
    await b.root.writeJournal({ trying: null, previous: '0.1.0', cmd: 'u-8', deadline: null, rolledBack: { from: '0.2.0', to: '0.1.0', reason: '0.2.0 exited 3 times before it was online: Error: boom', at: new Date().toISOString() } })
    await b.installer.reportStart()
    expect(b.reports.at(-1)).toMatchObject({ running: '0.1.0', state: 'rolled-back', target: '0.2.0', cmd: 'u-8', reason: '0.2.0 exited 3 times before it was online: Error: boom' })
  })
})

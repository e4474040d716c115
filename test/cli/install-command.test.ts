import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { chmod, cp, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { nativeVersions, packRelease, type BuiltRelease } from '../../cli/build/release.ts'
import { privilegedCommands, unprivilegedAdvice } from '../../cli/install-command.ts'
import { BoardRoot } from '../../edge/update/board-root.ts'
import { writeFakeRelease } from '../edge/update/fake-releases.ts'

/** `counter-edge install --dry-run` in a temp folder, unprivileged: what a technician runs on a new board. */
const run = promisify(execFile)
const REPO = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(REPO, 'cli/counter-edge.mjs')

let dir: string
let release: BuiltRelease
let pub: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'install-'))
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  pub = join(dir, 'hall-release.pub')
  await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }))
  await writeFakeRelease(new BoardRoot(join(dir, 'stage-root')), '0.3.0', 'healthy')
  const stage = join(dir, 'stage-root/releases/0.3.0')
  await cp(join(REPO, 'boards'), join(stage, 'boards'), { recursive: true })
  release = await packRelease({ stage, version: '0.3.0', node: '>=20.19', native: await nativeVersions(REPO), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }), out: join(dir, 'out') })
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function board(name: string, profile: string) {
  const b = join(dir, name)
  await mkdir(b)
  const config = join(b, 'bundle.json')
  await writeFile(config, JSON.stringify({ hall: 'hall-1', counter: 'w05', board: profile, hub: ['mqtt://10.20.0.2:1883'], username: 'hall-1-w05', password: 'pw-from-provision' }))
  const args = ['install', '--dry-run', '--release', release.manifestFile, '--config', config, '--key', pub, '--root', join(b, 'opt'), '--etc', join(b, 'etc'), '--var', join(b, 'var'), '--unit-dir', join(b, 'systemd'), '--node-modules', join(REPO, 'node_modules'), '--sys', join(b, 'sys'), '--dev', join(b, 'dev')]
  return { b, args }
}

/** Whether a user other than the owner can reach and read `file`: every folder above it searchable, the file readable. */
async function othersCanRun(file: string): Promise<boolean> {
  if (((await stat(file)).mode & 0o004) === 0) return false
  for (let d = dirname(file); ; d = dirname(d)) {
    if (((await stat(d)).mode & 0o001) === 0) return false
    if (d === dirname(d)) return true
  }
}

const cli = (args: string[], opts: { uid?: number; gid?: number } = {}) => run(process.execPath, [CLI, ...args], opts).then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e)

describe('counter-edge install', () => {
  it('without root and without --dry-run: prints the exact commands and exits non-zero', async () => {
    const { args } = await board('noroot', 'sim-window')
    const advice = unprivilegedAdvice(privilegedCommands('/opt/counter-edge', '/etc/counter-edge', '/etc/systemd/system')).join('\n')
    expect(advice).toMatch(/needs root/)
    expect(advice).toMatch(/sudo useradd --system --no-create-home --shell \/usr\/sbin\/nologin --groups gpio,i2c counter-edge/)
    // The process itself says it: run as nobody when the suite runs as root (a container), which needs a checkout nobody may read.
    const asRoot = process.getuid?.() === 0
    if (asRoot && !(await othersCanRun(CLI))) return
    const asNobody = asRoot ? { uid: 65534, gid: 65534 } : {}
    if (asRoot) for (const d of [dir, join(dir, 'noroot')]) await chmod(d, 0o755)
    for (const f of [release.manifestFile, release.payload, pub, join(dir, 'noroot/bundle.json')]) await chmod(f, 0o644)
    await chmod(join(dir, 'out'), 0o755)
    const r = await cli(args.filter((a) => a !== '--dry-run'), asNobody)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/needs root/)
    expect(r.stderr).toMatch(/sudo useradd --system --no-create-home --shell \/usr\/sbin\/nologin --groups gpio,i2c counter-edge/)
  })

  it('--dry-run in a temp folder: release unpacked and current pointed at it, launcher copy, key, config with dataDir, unit for these folders', async () => {
    const { b, args } = await board('sim', 'sim-window')
    const r = await cli(args)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/board checked/)
    const root = new BoardRoot(join(b, 'opt'))
    expect(await root.versionOf('current')).toBe('0.3.0')
    expect(await readFile(join(root.releaseDir('0.3.0'), 'package.json'), 'utf8')).toMatch(/0\.3\.0/)
    expect(await readFile(join(b, 'opt/launcher/dist/counter-edge.js'), 'utf8')).toMatch(/healthy/)
    expect(await readFile(root.publicKey, 'utf8')).toBe(await readFile(pub, 'utf8'))
    expect((await lstat(root.nodeModules)).isSymbolicLink()).toBe(true)
    const cfg = JSON.parse(await readFile(join(b, 'etc/board.json'), 'utf8')) as Record<string, unknown>
    expect(cfg).toMatchObject({ counter: 'w05', password: 'pw-from-provision', dataDir: join(b, 'var') })
    expect((await stat(join(b, 'etc/board.json'))).mode & 0o777).toBe(0o640)
    const unit = await readFile(join(b, 'systemd/counter-edge.service'), 'utf8')
    expect(unit).toContain(`ExecStart=/usr/bin/node ${join(b, 'opt')}/launcher/dist/counter-edge.js launch --root ${join(b, 'opt')} `)
    expect(unit).toContain(`-- edge --config ${join(b, 'etc')}/board.json`)
    expect(unit).not.toContain('/opt/counter-edge')
    expect(r.stdout).toMatch(/would run: systemctl enable --now counter-edge.service/)
    expect(await readlink(root.current)).toBe('releases/0.3.0')
  })

  it('checks the board: a wrong GPIO chip and a missing I2C bus are named with what to do, exit 1', async () => {
    const { b, args } = await board('pi', 'rpi4-ht16k33')
    const chip = join(b, 'sys/class/gpio/gpiochip0')
    await mkdir(chip, { recursive: true })
    await writeFile(join(chip, 'label'), 'sunxi-pinctrl\n')
    await writeFile(join(chip, 'base'), '0\n')
    await writeFile(join(chip, 'ngpio'), '224\n')
    await mkdir(join(b, 'dev'))
    const r = await cli(args)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/没有标签为 "pinctrl-bcm2711" 的 GPIO 芯片 \/ no GPIO chip labelled "pinctrl-bcm2711" \(this board has: sunxi-pinctrl\)/)
    expect(r.stdout).toMatch(/I2C bus 1 is missing/)
    expect(r.stdout).toMatch(/raspi-config nonint do_i2c 0/)
  })

  it('a release signed with another key is refused before anything is written', async () => {
    const { b, args } = await board('otherkey', 'sim-window')
    const other = join(b, 'other.pub')
    await writeFile(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }))
    const r = await cli(args.map((a) => (a === pub ? other : a)))
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/release refused: signature does not match/)
    await expect(stat(join(b, 'opt'))).rejects.toThrow()
  })

  it('a --key or --release that cannot be read is named with why, in Chinese and English, not Node\'s ENOENT text', async () => {
    const { b, args } = await board('nokey', 'sim-window')
    const missing = await cli(args.map((a) => (a === pub ? join(b, 'nonexistent.pub') : a)))
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain(`--key ${join(b, 'nonexistent.pub')}: 无法读取，文件不存在 / cannot read: the file does not exist`)
    expect(missing.stderr).not.toMatch(/ENOENT/)
    const folder = await cli(args.map((a) => (a === release.manifestFile ? b : a)))
    expect(folder.code).toBe(2)
    expect(folder.stderr).toContain(`--release ${b}: 无法读取，这是一个文件夹，不是文件 / cannot read: it is a folder, not a file`)
    await expect(stat(join(b, 'opt'))).rejects.toThrow()
  })
})

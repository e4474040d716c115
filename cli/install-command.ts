import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, copyFile, cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { PACKAGE_ROOT } from '../edge/shared/package-root.ts'
import { readFailureEn, readFailureZh } from '../edge/shared/read-failure.ts'
import { promisify } from 'node:util'
import { createHash } from 'node:crypto'
import { boardFileSchema } from '../edge/config.ts'
import { loadProfileNamed } from './board-profile.ts'
import { verifySignedManifest } from '../edge/shared/release-signature.ts'
import { BoardRoot, DEFAULT_ROOT } from '../edge/update/board-root.ts'
import { unpackRelease } from '../edge/update/unpack.ts'
import { checkBoard } from '../edge/update/board-check.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

const run = promisify(execFile)
/** In a checkout, the repository's file; in a release, the copy the build puts beside the bundle (cli/build/release.ts). */
const UNIT_TEMPLATES = [join(PACKAGE_ROOT, 'edge/systemd/counter-edge.service'), join(PACKAGE_ROOT, 'dist/counter-edge.service')]
const USER = 'counter-edge'

/** The unit with this install's folders in place of the defaults the template names. */
export function unitFor(template: string, root: string, etc: string): string {
  return template.replaceAll('/opt/counter-edge', root).replaceAll('/etc/counter-edge', etc)
}

/** What needs root, as the commands a technician runs (printed when not root, run when root). */
export function privilegedCommands(root: string, etc: string, unitDir: string): string[][] {
  return [
    ['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--groups', 'gpio,i2c', USER],
    ['install', '-d', '-m', '0755', '-o', USER, '-g', USER, root],
    ['install', '-d', '-m', '0750', '-o', 'root', '-g', USER, etc],
    ['systemctl', 'daemon-reload'],
    ['systemctl', 'enable', '--now', basename(join(unitDir, 'counter-edge.service'))],
  ]
}

const show = (cmd: string[]) => cmd.map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' ')

/** What `install` says to a technician who ran it without root: the exact commands, then how to try it without them. */
export function unprivilegedAdvice(privileged: string[][]): string[] {
  return [
    '需要 root 权限 / counter-edge install needs root. Run it with sudo, or run these first and again with sudo:',
    ...privileged.slice(0, 3).map((c) => `  sudo ${show(c)}`),
    '(--dry-run writes the files without them, e.g. into a temp folder with --root/--etc/--var/--unit-dir)',
  ]
}

/** What each required flag is, for the message when it is missing. */
const INSTALL_FLAG_ZH = { release: '版本的 .release.json', config: '设备配置文件（provision --out 写出的）', key: '大厅的版本签名公钥 hall-release.pub' }
const INSTALL_FLAG_EN = { release: "the release's .release.json", config: "the board's config (as provision --out wrote it)", key: "the hall's release public key, hall-release.pub" }

export const installCommand: Subcommand = {
  name: 'install',
  summary: COMMAND_SUMMARIES.install,
  usage: 'sudo counter-edge install --release counter-edge-1.2.3.release.json --config board.json --key hall-release.pub [--root /opt/counter-edge] [--etc /etc/counter-edge] [--var /var/lib/counter-edge] [--dry-run]',
  options: {
    release: { type: 'string', description: '版本的 .release.json（其 .tar.gz 放在旁边） / the release\'s .release.json (its .tar.gz beside it)' },
    config: { type: 'string', description: '设备配置文件，即 `counter-edge provision --out` 写出的那份 / the board\'s config as `counter-edge provision --out` wrote it' },
    key: { type: 'string', description: '大厅的版本签名公钥（hall-release.pub） / the hall\'s release public key (hall-release.pub)' },
    root: { type: 'string', default: DEFAULT_ROOT, description: '设备根目录：releases、current、previous / the board root: releases, current, previous' },
    etc: { type: 'string', default: '/etc/counter-edge', description: 'board.json 存放的目录 / where board.json goes' },
    var: { type: 'string', default: '/var/lib/counter-edge', description: '窗口状态和日志（journal）的目录（dataDir） / the window\'s state and journal (dataDir)' },
    'unit-dir': { type: 'string', default: '/etc/systemd/system', description: 'systemd 服务单元存放的目录 / where the systemd unit goes' },
    'node-modules': { type: 'string', description: '本设备上执行过 `npm ci --omit=dev` 的检出目录中的 node_modules，链接为 <root>/node_modules（首次安装必需） / the node_modules of a checkout on this board after `npm ci --omit=dev`, linked as <root>/node_modules (required on the first install)' },
    sys: { type: 'string', default: '/sys', description: 'sysfs，用于检查 GPIO 芯片 / sysfs, for the GPIO chip check' },
    dev: { type: 'string', default: '/dev', description: '设备节点目录，用于检查 I2C / device nodes, for the I2C check' },
    'dry-run': { type: 'boolean', default: false, description: '只写文件，不建用户、不运行 systemctl、不探测总线：用于临时目录中的测试，或看看会做什么 / write the files but create no user, run no systemctl, probe no bus: for a test in a temp folder, or to see what it would do' },
  },
  async run(v) {
    for (const f of ['release', 'config', 'key'] as const) if (!v[f]) throw new UsageError(`缺少 --${f}：${INSTALL_FLAG_ZH[f]} / --${f} is required: ${INSTALL_FLAG_EN[f]}`)
    const dry = v['dry-run'] === true
    const root = new BoardRoot(resolve(v.root as string))
    const etc = resolve(v.etc as string)
    const varDir = resolve(v.var as string)
    const unitDir = resolve(v['unit-dir'] as string)
    const privileged = privilegedCommands(root.dir, etc, unitDir)
    const isRoot = process.getuid?.() === 0
    if (!isRoot && !dry) {
      for (const line of unprivilegedAdvice(privileged)) console.error(line)
      return 1
    }
    // 1. The release: signature against the hall key, then the payload's size and hash, before anything is written.
    const releasePath = v.release as string
    const pub = await readFile(v.key as string).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`--key ${String(v.key)}: 无法读取，${readFailureZh(e.code)} / cannot read: ${readFailureEn(e)}`)
    })
    const signed = JSON.parse(await readFile(releasePath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`--release ${releasePath}: 无法读取，${readFailureZh(e.code)} / cannot read: ${readFailureEn(e)}`)
    })) as unknown
    const checked = verifySignedManifest(signed, pub)
    if (!checked.ok) throw new UsageError(`--release ${releasePath}: 发布被拒绝 / release refused: ${checked.reason}`)
    const m = checked.manifest
    const payload = join(dirname(releasePath), m.payload.file)
    const bytes = await readFile(payload).catch((e: Error) => {
      throw new UsageError(`${payload}: 找不到发布包 / the release's payload is not beside its manifest: ${e.message}`)
    })
    if (bytes.length !== m.payload.size || createHash('sha256').update(bytes).digest('hex') !== m.payload.sha256) {
      throw new UsageError(`${payload}: 与签名清单不符 / does not match the signed manifest (size or SHA-256): copy it again`)
    }
    // The native packages are built on the board from a checkout (packages/gpio-ioctl is a file: dependency a release does not carry).
    if (!existsSync(root.nodeModules) && !v['node-modules']) {
      throw new UsageError(
        `${root.nodeModules} 不存在 / ${root.nodeModules} does not exist: pass --node-modules <checkout>/node_modules after \`npm ci --omit=dev\` in a checkout on this board (docs/operations.md, "Installing a new board")`,
      )
    }
    // 2. The board's config, from the provisioning bundle; its dataDir is --var unless it names one.
    const config = boardFileSchema.parse(JSON.parse(await readFile(v.config as string, 'utf8')))
    const rawConfig = JSON.parse(await readFile(v.config as string, 'utf8')) as Record<string, unknown>

    if (isRoot && !dry) {
      for (const c of privileged.slice(0, 3)) {
        if (c[0] === 'useradd' && (await run('id', ['-u', USER]).then(() => true, () => false))) continue
        await run(c[0]!, c.slice(1))
      }
    }
    const said: string[] = []
    await mkdir(root.releases, { recursive: true })
    await mkdir(join(root.dir, 'keys'), { recursive: true })
    await mkdir(etc, { recursive: true })
    await mkdir(varDir, { recursive: true, mode: 0o700 })
    await unpackRelease(payload, root.releases, m.version)
    await root.point('current', m.version)
    said.push(`发布 release ${m.version} → ${root.releaseDir(m.version)}; current → releases/${m.version}`)
    // The launcher runs from its own copy: an update switches current, never the process that judges it.
    await rm(join(root.dir, 'launcher'), { recursive: true, force: true })
    await cp(root.releaseDir(m.version), join(root.dir, 'launcher'), { recursive: true })
    await copyFile(v.key as string, root.publicKey)
    await chmod(root.publicKey, 0o644)
    said.push(`公钥 hall key → ${root.publicKey}`)
    const boardJson = join(etc, 'board.json')
    await writeFile(boardJson, JSON.stringify({ ...rawConfig, dataDir: config.dataDir ?? varDir }, null, 2) + '\n', { mode: 0o640 })
    await chmod(boardJson, 0o640)
    said.push(`配置 config → ${boardJson} (dataDir ${config.dataDir ?? varDir})`)
    // 3. The packages every release loads from the root: a checkout's, built on this board once.
    if (!existsSync(root.nodeModules)) {
      if (v['node-modules']) {
        await symlink(resolve(v['node-modules'] as string), root.nodeModules)
        said.push(`node_modules → ${resolve(v['node-modules'] as string)}`)
      }
    }
    // 4. The unit.
    await mkdir(unitDir, { recursive: true })
    const unitPath = join(unitDir, 'counter-edge.service')
    await writeFile(unitPath, unitFor(await readFile(UNIT_TEMPLATES.find((f) => existsSync(f)) ?? UNIT_TEMPLATES[0]!, 'utf8'), root.dir, etc))
    said.push(`服务 unit → ${unitPath}`)
    if (isRoot && !dry) {
      await run('chown', ['-R', `${USER}:${USER}`, root.dir, varDir])
      await run('chown', [`root:${USER}`, boardJson])
      for (const c of privileged.slice(3)) await run(c[0]!, c.slice(1))
      said.push('systemctl enable --now counter-edge.service')
    } else {
      for (const c of privileged) said.push(`would run: ${show(c)}`)
    }
    for (const line of said) console.log(line)
    // 5. The hardware the config's profile names.
    const profile = await loadProfileNamed(config.board, join(root.releaseDir(m.version), 'boards'), `${String(v.config)}: board`)
    const problems = await checkBoard({ profile, sys: v.sys as string, dev: v.dev as string, probeDisplay: !dry })
    const natives = Object.entries(m.native).filter(([pkg, want]) => {
      try {
        return (JSON.parse(readFileSync(join(root.nodeModules, pkg, 'package.json'), 'utf8')) as { version: string }).version !== want
      } catch {
        return !dry
      }
    })
    for (const [pkg, want] of natives) problems.push({ what: `本机包 ${pkg} 不是 ${want} / native package ${pkg} is not ${want}`, fix: `cd ${root.dir} && npm install --omit=dev` })
    if (problems.length === 0) {
      console.log(`检查通过 / board checked: ${profile.id} as profile "${config.board}" — GPIO chips, I2C bus${dry ? '' : ', display'} present`)
      return 0
    }
    console.log(`还缺 ${problems.length} 项 / ${problems.length} thing(s) to fix before the window works:`)
    for (const p of problems) console.log(`  ✗ ${p.what}\n    → ${p.fix}`)
    return 1
  },
}

import { readFile } from 'node:fs/promises'
import { UsageError, type Subcommand } from './subcommand.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'
import { readFailureEn, readFailureZh } from '../edge/shared/read-failure.ts'

/** `counter-edge release build|keygen`: where a hall's releases are made (cli/build/release.ts). */
export const releaseCommand: Subcommand = {
  name: 'release',
  summary: COMMAND_SUMMARIES.release,
  usage: 'counter-edge release build --key hall-release.key --out releases/ [--version 1.2.3]  |  counter-edge release keygen --out keys/',
  options: {
    key: { type: 'string', description: 'build：大厅的 ed25519 私钥（PEM），即 `release keygen` 写出的那份 / build: the hall\'s ed25519 private key (PEM), as `release keygen` wrote it' },
    out: { type: 'string', description: '版本（或密钥对）写入的目录 / the folder the release (or the key pair) is written to' },
    version: { type: 'string', description: 'build：版本号（默认取 package.json 的），写入随版本携带的 package.json / build: the release\'s version (default: package.json\'s), stamped into the package.json it carries' },
  },
  async run(v, positionals) {
    const [what, ...extra] = positionals
    if (extra.length) throw new UsageError(`多余的参数 / unexpected argument: ${extra.join(' ')}`)
    const out = v.out as string | undefined
    if (!out) throw new UsageError('需要 --out（发布包或密钥写入的目录）/ --out is required: the folder the release (or the key pair) is written to')
    const { buildRelease, generateReleaseKeys } = await import('./build/release.ts')
    if (what === 'keygen') {
      const keys = await generateReleaseKeys(out)
      console.log(`私钥 private key (mode 600, keep it off the hub and the boards): ${keys.privateKey}`)
      console.log(`公钥 public key (to the hub's releases.publicKey and each board's <root>/keys/hall-release.pub): ${keys.publicKey}`)
      return 0
    }
    if (what !== 'build') throw new UsageError(`需要 build 或 keygen / expected "build" or "keygen", not ${what === undefined ? 'nothing' : `"${what}"`}`)
    const keyPath = v.key as string | undefined
    if (!keyPath) throw new UsageError('需要 --key（大厅发布私钥，由 counter-edge release keygen 生成）/ --key is required: the hall\'s release private key (counter-edge release keygen)')
    const privateKeyPem = await readFile(keyPath).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`--key ${keyPath}: 无法读取，${readFailureZh(e.code)} / cannot read: ${readFailureEn(e)}`)
    })
    let built
    try {
      built = await buildRelease({ privateKeyPem, out, ...(v.version ? { version: v.version as string } : {}) })
    } catch (err) {
      if ((err as Error).name === 'ZodError') throw new UsageError(`--version ${String(v.version)}: 不是版本号 / not a version like 1.2.3 or 1.2.3-rc.1`)
      throw err
    }
    console.log(`发布 release ${built.version} (built in ${built.buildMs} ms):`)
    console.log(`  ${built.payload}  ${built.manifest.payload.size} bytes  sha256 ${built.manifest.payload.sha256}`)
    console.log(`  ${built.manifestFile}  signed by key ${built.signed.key}`)
    console.log(`  native: ${Object.entries(built.manifest.native).map(([k, ver]) => `${k}@${ver}`).join(', ') || 'none'}; node ${built.manifest.node}`)
    return 0
  },
}

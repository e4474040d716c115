/**
 * `npm run release` / `counter-edge release build`: a release a hall's boards
 * can install (edge/protocol/release.ts). The payload is the built runtime as
 * a board runs it: dist/ (cli/build/bundle.ts), package.json with the
 * release's version stamped in, boards/, and the pixel screens' font
 * (edge/hardware/fonts/, read from the package root). No node_modules: a board installs
 * the native packages once under its root (`counter-edge install`) and every
 * release resolves them from there, so the manifest names the versions this
 * build expects and a board with others refuses it before it downloads.
 *
 * Packed with the system `tar` (GNU tar on every Debian board and build
 * machine): the project carries no tar package of its own, and the board
 * unpacks with the same program (edge/update/unpack.ts), so one tool's idea
 * of the format is used at both ends.
 */
import { execFile } from 'node:child_process'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { releaseManifestSchema, releaseVersionSchema, type ReleaseManifest, type SignedManifest } from '../../edge/protocol/index.ts'
import { signManifest } from '../../edge/shared/release-signature.ts'
import { buildDist } from './bundle.ts'

const run = promisify(execFile)
const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..')

export const releaseFiles = (version: string) => ({ payload: `counter-edge-${version}.tar.gz`, manifest: `counter-edge-${version}.release.json` })

interface PackageJson {
  name: string
  version: string
  engines?: { node?: string }
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T
}

/**
 * The packages with a compiled addon (a binding.gyp) among everything the
 * runtime's dependencies pull in, with the versions installed here. Only they
 * tie a release to what a board has installed: esbuild cannot bundle an addon,
 * so every one stays external, and a board whose build of it differs would
 * fail at the first use of a line.
 */
export async function nativeVersions(repo = REPO): Promise<Record<string, string>> {
  const pkg = await readJson<PackageJson>(join(repo, 'package.json'))
  const seen = new Set<string>()
  const native: Record<string, string> = {}
  const queue: Array<{ name: string; from: string }> = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).map((name) => ({ name, from: repo }))
  while (queue.length) {
    const { name, from } = queue.shift()!
    // Node's lookup: the requiring package's own node_modules first, then upwards to the repository's.
    let dir: string | undefined
    for (let d = from; ; d = dirname(d)) {
      const candidate = join(d, 'node_modules', name)
      if (existsSync(join(candidate, 'package.json'))) {
        dir = candidate
        break
      }
      if (d === repo || dirname(d) === d) break
    }
    if (!dir || seen.has(dir)) continue
    seen.add(dir)
    const dep = await readJson<PackageJson & { gypfile?: boolean }>(join(dir, 'package.json'))
    if ((existsSync(join(dir, 'binding.gyp')) || dep.gypfile === true) && !(dep.name in native)) native[dep.name] = dep.version
    for (const next of Object.keys({ ...dep.dependencies, ...dep.optionalDependencies })) queue.push({ name: next, from: dir })
  }
  return Object.fromEntries(Object.entries(native).sort(([a], [b]) => a.localeCompare(b)))
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export interface PackOptions {
  /** A folder holding what the payload carries: dist/ (dist/counter-edge.js at least), package.json, boards/, edge/hardware/fonts/. */
  stage: string
  version: string
  node: string
  native: Record<string, string>
  privateKeyPem: string | Buffer
  out: string
  commit?: string
  now?: () => Date
}

export interface BuiltRelease {
  version: string
  payload: string
  manifestFile: string
  signed: SignedManifest
  manifest: ReleaseManifest
}

/** Packs a staged release folder and signs its manifest; the stage's package.json gets the version. */
export async function packRelease(o: PackOptions): Promise<BuiltRelease> {
  const version = releaseVersionSchema.parse(o.version)
  if (!existsSync(join(o.stage, 'dist', 'counter-edge.js'))) throw new Error(`${o.stage}: no dist/counter-edge.js to pack`)
  const pkgPath = join(o.stage, 'package.json')
  const pkg = existsSync(pkgPath) ? await readJson<PackageJson>(pkgPath) : { name: 'counter-edge', version }
  await writeFile(pkgPath, JSON.stringify({ ...pkg, version }, null, 2) + '\n')
  await mkdir(o.out, { recursive: true })
  const files = releaseFiles(version)
  const payload = join(o.out, files.payload)
  const members = ['dist', 'package.json', ...['boards', 'edge'].filter((m) => existsSync(join(o.stage, m)))]
  // Owner and mode fixed: the board unpacks as its service user, and nothing of the build machine's users belongs in a release.
  await run('tar', ['-czf', payload, '--owner=0', '--group=0', '--numeric-owner', '--mode=u+rwX,go+rX,go-w', '-C', o.stage, ...members])
  const manifest: ReleaseManifest = releaseManifestSchema.parse({
    format: 1,
    name: 'counter-edge',
    version,
    node: o.node,
    payload: { file: files.payload, size: (await stat(payload)).size, sha256: await sha256Of(payload) },
    native: o.native,
    created: (o.now?.() ?? new Date()).toISOString(),
    ...(o.commit ? { commit: o.commit } : {}),
  })
  const signed = signManifest(manifest, o.privateKeyPem)
  const manifestFile = join(o.out, files.manifest)
  await writeFile(manifestFile, JSON.stringify(signed, null, 2) + '\n')
  return { version, payload, manifestFile, signed, manifest }
}

async function gitCommit(repo: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['rev-parse', 'HEAD'], { cwd: repo })
    return stdout.trim() || undefined
  } catch {
    return undefined
  }
}

export interface BuildReleaseOptions {
  privateKeyPem: string | Buffer
  out: string
  /** Default: package.json's. */
  version?: string
  repo?: string
}

/** The whole release from this checkout: `npm run build` into dist/, staged with package.json and boards/, packed, signed. */
export async function buildRelease(o: BuildReleaseOptions): Promise<BuiltRelease & { buildMs: number }> {
  const repo = o.repo ?? REPO
  const pkg = await readJson<PackageJson>(join(repo, 'package.json'))
  // Checked before the build: a typo costs no minute of bundling.
  const version = releaseVersionSchema.parse(o.version ?? pkg.version)
  const { ms } = await buildDist(join(repo, 'dist'))
  const stage = await mkdtemp(join(tmpdir(), 'counter-edge-release-'))
  try {
    await cp(join(repo, 'dist'), join(stage, 'dist'), { recursive: true })
    // The board's unit, for `counter-edge install` run from the release (cli/install-command.ts).
    await cp(join(repo, 'edge/systemd/counter-edge.service'), join(stage, 'dist', 'counter-edge.service'))
    await cp(join(repo, 'boards'), join(stage, 'boards'), { recursive: true })
    // The pixel screens' font (edge/hardware/bitmap-font.ts reads it from the package root, not from dist/): without it a matrix or OLED board dies at start.
    await cp(join(repo, 'edge/hardware/fonts'), join(stage, 'edge/hardware/fonts'), { recursive: true })
    await writeFile(join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
    const commit = await gitCommit(repo)
    const built = await packRelease({
      stage,
      version,
      node: pkg.engines?.node ?? '>=20.19',
      native: await nativeVersions(repo),
      privateKeyPem: o.privateKeyPem,
      out: o.out,
      ...(commit ? { commit } : {}),
    })
    return { ...built, buildMs: ms }
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
}

export const KEY_FILES = { private: 'hall-release.key', public: 'hall-release.pub' } as const

/** A hall's release key pair: the private key (mode 0600) stays with whoever builds releases; the public one goes to the hub and every board. */
export async function generateReleaseKeys(out: string): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = join(out, KEY_FILES.private)
  const publicKey = join(out, KEY_FILES.public)
  for (const f of [privateKey, publicKey]) if (existsSync(f)) throw new Error(`${f} 已存在，不覆盖 / ${f} already exists; not overwriting a hall's key`)
  await mkdir(out, { recursive: true })
  const pair = generateKeyPairSync('ed25519')
  await writeFile(privateKey, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
  // The umask may have narrowed it further, never widened; set exactly.
  await chmod(privateKey, 0o600)
  await writeFile(publicKey, pair.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' })
  return { privateKey, publicKey }
}

import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import { releaseVersionSchema, type ReleaseManifest, type SignedManifest } from '../../edge/protocol/index.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import { verifySignedManifest } from '../../edge/shared/release-signature.ts'

/** Why the store turned something away; `kind` decides the HTTP status, the message names what is wrong. */
export type ReleaseRefusalKind = 'bad-release' | 'not-found' | 'in-use' | 'busy' | 'no-store'

export class ReleaseRefusal extends Error {
  override readonly name = 'ReleaseRefusal'
  constructor(
    readonly kind: ReleaseRefusalKind,
    message: string,
  ) {
    super(message)
  }
}

export interface StoredRelease {
  version: string
  manifest: ReleaseManifest
  signed: SignedManifest
  /** The payload is there and matched the manifest's size and SHA-256 when it was uploaded. */
  complete: boolean
  /** When the payload was stored; null until it is. */
  uploaded: string | null
}

export interface ReleaseStoreOptions {
  /** Where releases live (one folder per version); null: the hub has nowhere to keep them and refuses uploads. */
  dir: string | null
  /** The hall's release public key (PEM text); null: uploads are refused, as nothing could be checked. */
  publicKey: string | null
  /** Largest payload accepted. */
  maxBytes: number
  /** Whether a rollout uses the version now: such a release cannot be deleted. */
  inUse: (version: string) => boolean
  log: Logger
}

export const DEFAULT_MAX_RELEASE_BYTES = 256 * 1024 * 1024

/** The name a signed manifest is kept (and served) under, beside its payload. */
export function manifestFileName(version: string): string {
  return `counter-edge-${version}.release.json`
}

/**
 * The hub's releases (issue 24): each a signed manifest and its payload in
 * `<dir>/<version>/`. Nothing is kept that does not check out: the manifest
 * must carry a good signature of the hall's key, and the payload must have
 * the size and SHA-256 the manifest names (it is written to a `.part` file
 * and renamed only then), so a board is never sent a release the hub already
 * knows it would refuse.
 */
export class ReleaseStore {
  private readonly releases = new Map<string, StoredRelease>()
  private readonly uploading = new Set<string>()

  constructor(private readonly opts: ReleaseStoreOptions) {}

  async start(): Promise<void> {
    const dir = this.opts.dir
    if (!dir) return
    await mkdir(dir, { recursive: true })
    for (const name of await readdir(dir)) {
      if (!releaseVersionSchema.safeParse(name).success) continue
      const text = await readFile(join(dir, name, manifestFileName(name)), 'utf8').catch(() => null)
      if (text === null) continue
      const r = this.check(name, text)
      if (!r.ok) {
        this.opts.log.warn({ version: name, reason: r.reason }, 'stored release no longer checks out; not offered')
        continue
      }
      const s = await stat(join(dir, name, r.manifest.payload.file)).catch(() => null)
      const complete = s !== null && s.size === r.manifest.payload.size
      this.releases.set(name, { version: name, manifest: r.manifest, signed: r.signed, complete, uploaded: complete ? s.mtime.toISOString() : null })
    }
    this.opts.log.info({ dir, releases: this.releases.size }, 'release store opened')
  }

  /** Nothing to close: every write is finished (renamed into place) before it is answered. */
  stop(): void {}

  list(): StoredRelease[] {
    return [...this.releases.values()].sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }))
  }

  get(version: string): StoredRelease | null {
    return this.releases.get(version) ?? null
  }

  /** Checks and keeps a signed manifest (the contents of a .release.json) for `version`. */
  async addManifest(version: string, text: string): Promise<{ release: StoredRelease; created: boolean }> {
    const dir = this.folder(version)
    const r = this.check(version, text)
    if (!r.ok) throw new ReleaseRefusal('bad-release', r.reason)
    if (r.manifest.payload.size > this.opts.maxBytes) {
      throw new ReleaseRefusal('bad-release', `发布包过大 / release too large: the payload is ${r.manifest.payload.size} bytes, this hub takes at most ${this.opts.maxBytes} (releases.maxBytes)`)
    }
    const had = this.releases.get(version)
    if (had) {
      if (had.signed.manifest === r.signed.manifest && had.signed.signature === r.signed.signature) return { release: had, created: false }
      if (had.complete || this.opts.inUse(version)) {
        throw new ReleaseRefusal('bad-release', `版本 ${version} 已存在且内容不同 / version ${version} exists with different content: delete it first (a version number names one release only)`)
      }
    }
    await mkdir(dir, { recursive: true })
    const file = join(dir, manifestFileName(version))
    await writeFile(`${file}.part`, JSON.stringify(r.signed, null, 2) + '\n')
    await rename(`${file}.part`, file)
    const release: StoredRelease = { version, manifest: r.manifest, signed: r.signed, complete: false, uploaded: null }
    this.releases.set(version, release)
    this.opts.log.info({ version, key: r.signed.key ?? null }, 'release manifest stored')
    return { release, created: true }
  }

  /**
   * Streams a payload into the store: kept only if its size and SHA-256 are the manifest's.
   * `declared` is the request's Content-Length, if it gave one, so a wrong size is refused before a byte is read.
   */
  async addPayload(version: string, body: Readable, declared: number | null): Promise<StoredRelease> {
    const dir = this.folder(version)
    const release = this.releases.get(version)
    if (!release) throw new ReleaseRefusal('bad-release', `没有版本 ${version} 的签名清单 / no signed manifest for ${version}: upload the .release.json first`)
    const want = release.manifest.payload
    if (declared !== null && declared !== want.size) {
      throw new ReleaseRefusal('bad-release', `大小不符 / size mismatch: the upload is ${declared} bytes, the signed manifest says ${want.size}`)
    }
    if (this.uploading.has(version)) throw new ReleaseRefusal('busy', `版本 ${version} 正在上传 / an upload of ${version} is under way`)
    this.uploading.add(version)
    const part = join(dir, `${want.file}.part`)
    try {
      const hash = createHash('sha256')
      let size = 0
      const count = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length
          if (size > want.size) return cb(new ReleaseRefusal('bad-release', `大小不符 / size mismatch: the upload is larger than the ${want.size} bytes the signed manifest says`))
          hash.update(chunk)
          cb(null, chunk)
        },
      })
      await pipeline(body, count, createWriteStream(part))
      if (size !== want.size) throw new ReleaseRefusal('bad-release', `大小不符 / size mismatch: the upload is ${size} bytes, the signed manifest says ${want.size}`)
      const sha = hash.digest('hex')
      if (sha !== want.sha256) throw new ReleaseRefusal('bad-release', `SHA-256 不符 / hash mismatch: the upload's SHA-256 is ${sha}, the signed manifest says ${want.sha256}`)
      await rename(part, join(dir, want.file))
    } catch (err) {
      await unlink(part).catch(() => undefined)
      throw err
    } finally {
      this.uploading.delete(version)
    }
    const done: StoredRelease = { ...release, complete: true, uploaded: new Date().toISOString() }
    this.releases.set(version, done)
    this.opts.log.info({ version, bytes: want.size }, 'release payload stored')
    return done
  }

  async remove(version: string): Promise<void> {
    const dir = this.folder(version)
    if (!this.releases.has(version)) throw new ReleaseRefusal('not-found', `没有版本 ${version} / no release ${version} in this hub`)
    if (this.opts.inUse(version)) throw new ReleaseRefusal('in-use', `版本 ${version} 正用于升级 / release ${version} is used by the rollout under way: cancel it first`)
    if (this.uploading.has(version)) throw new ReleaseRefusal('busy', `版本 ${version} 正在上传 / an upload of ${version} is under way`)
    this.releases.delete(version)
    await rm(dir, { recursive: true, force: true })
    this.opts.log.info({ version }, 'release deleted')
  }

  /** A file a board may download: the payload of a complete release, or its signed manifest. */
  file(version: string, name: string): { path: string; size: number } | null {
    const r = this.releases.get(version)
    if (!r || !r.complete || !this.opts.dir) return null
    if (name === r.manifest.payload.file) return { path: join(this.opts.dir, version, name), size: r.manifest.payload.size }
    if (name === manifestFileName(version)) return { path: join(this.opts.dir, version, name), size: -1 }
    return null
  }

  private folder(version: string): string {
    if (!this.opts.dir) throw new ReleaseRefusal('no-store', '集线器没有存放发布包的目录 / this hub keeps no releases: set dataDir or releases.dir in its config')
    if (!releaseVersionSchema.safeParse(version).success) throw new ReleaseRefusal('bad-release', `"${version.slice(0, 64)}" 不是版本号 / is not a version like 1.2.3`)
    return join(this.opts.dir, version)
  }

  private check(version: string, text: string): { ok: true; manifest: ReleaseManifest; signed: SignedManifest } | { ok: false; reason: string } {
    if (!this.opts.publicKey) return { ok: false, reason: '集线器没有大厅发布公钥 / this hub has no hall release key: set releases.publicKey in its config' }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return { ok: false, reason: '签名清单不是 JSON / the signed manifest (.release.json) is not JSON' }
    }
    const v = verifySignedManifest(json, this.opts.publicKey)
    if (!v.ok) return { ok: false, reason: `签名无效 / bad signature: ${v.reason}` }
    if (v.manifest.version !== version) return { ok: false, reason: `版本不符 / version mismatch: the manifest is for ${v.manifest.version}, uploaded as ${version}` }
    const file = v.manifest.payload.file
    if (file.startsWith('.') || file === manifestFileName(version)) return { ok: false, reason: `payload file name "${file}" is not allowed` }
    return { ok: true, manifest: v.manifest, signed: json as SignedManifest }
  }
}

import { execFileSync } from 'node:child_process'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signManifest } from '../../../edge/shared/release-signature.ts'
import type { ReleaseManifest, SignedManifest } from '../../../edge/protocol/index.ts'
import type { HubConfig } from '../../../hub/main.ts'
import { startTestHub, type TestHub, type TestUser } from '../support/hub-fixture.ts'

export interface ReleaseKeys {
  publicKey: string
  privateKey: string
}

/** A hall release key pair made for the test, as `counter-edge release keygen` makes one. */
export function releaseKeys(): ReleaseKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  return { publicKey, privateKey }
}

export interface TestRelease {
  version: string
  manifest: ReleaseManifest
  signed: SignedManifest
  /** The .release.json as a file holds it. */
  json: string
  payload: Buffer
}

/** A small real release: a tar.gz of a package.json stamped with the version, signed with `privateKey`. */
export async function makeRelease(version: string, privateKey: string, opts: { payload?: Buffer; claimSize?: number } = {}): Promise<TestRelease> {
  let payload = opts.payload
  if (!payload) {
    const dir = await mkdtemp(join(tmpdir(), 'release-src-'))
    await mkdir(join(dir, 'dist'))
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'counter-edge', version }))
    await writeFile(join(dir, 'dist', 'counter-edge.js'), `console.log(${JSON.stringify(version)})\n`)
    execFileSync('tar', ['-czf', join(dir, 'out.tar.gz'), '-C', dir, 'package.json', 'dist'])
    payload = await readFile(join(dir, 'out.tar.gz'))
    await rm(dir, { recursive: true, force: true })
  }
  const manifest: ReleaseManifest = {
    format: 1,
    name: 'counter-edge',
    version,
    node: '>=20.19',
    payload: { file: `counter-edge-${version}.tar.gz`, size: opts.claimSize ?? payload.length, sha256: createHash('sha256').update(payload).digest('hex') },
    native: {},
    created: new Date().toISOString(),
  }
  const signed = signManifest(manifest, privateKey)
  return { version, manifest, signed, json: JSON.stringify(signed, null, 2), payload }
}

export interface FleetHub {
  t: TestHub
  /** http://127.0.0.1:<port> */
  base: string
  releasesDir: string
  stop(): Promise<void>
}

/** A real hub with HTTP and a release store checked against `keys.publicKey`. */
export async function startFleetHub(users: TestUser[], keys: ReleaseKeys, config: Partial<HubConfig> & { hall: string }, releases: { confirmMarginS?: number } = {}): Promise<FleetHub> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-hub-'))
  const keyFile = join(dir, 'hall-release.pub')
  await writeFile(keyFile, keys.publicKey)
  const releasesDir = join(dir, 'releases')
  const t = await startTestHub(users, { http: { port: 0 }, releases: { publicKey: keyFile, dir: releasesDir, ...releases }, ...config })
  return {
    t,
    base: `http://127.0.0.1:${t.hub.httpPort}`,
    releasesDir,
    async stop() {
      await t.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Logs in to the dashboard as a technician; the session cookie. */
export async function technicianCookie(base: string, u: TestUser): Promise<string> {
  const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u.username, password: u.password }) })
  if (r.status !== 200) throw new Error(`login as ${u.username}: ${r.status} ${await r.text()}`)
  return /ce_session=[^;]+/.exec(r.headers.get('set-cookie') ?? '')![0]
}

export async function call(base: string, method: string, path: string, opts: { cookie?: string; json?: unknown; body?: Buffer | string; type?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  if (opts.cookie) headers.cookie = opts.cookie
  let body: Buffer | string | undefined = opts.body
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['content-type'] = 'application/json'
  }
  if (opts.type) headers['content-type'] = opts.type
  const r = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : new Uint8Array(body) } : {}) })
  const text = await r.text()
  let parsed: Record<string, unknown>
  try {
    parsed = JSON.parse(text) as Record<string, unknown>
  } catch {
    parsed = { text }
  }
  return { status: r.status, body: parsed, headers: r.headers }
}

/** Uploads a release as the CLI does: the signed manifest, then the payload. */
export async function upload(base: string, cookie: string, r: TestRelease): Promise<void> {
  const m = await call(base, 'PUT', `/api/releases/${r.version}/manifest`, { cookie, body: r.json, type: 'application/json' })
  if (m.status >= 300) throw new Error(`manifest upload: ${m.status} ${JSON.stringify(m.body)}`)
  const p = await call(base, 'PUT', `/api/releases/${r.version}/payload`, { cookie, body: r.payload, type: 'application/gzip' })
  if (p.status >= 300) throw new Error(`payload upload: ${p.status} ${JSON.stringify(p.body)}`)
}

export function basic(u: TestUser, password = u.password): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${u.username}:${password}`).toString('base64')}` }
}

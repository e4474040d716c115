import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { readCredentialFile, writeCredentialFile } from '../../../hub/credentials.ts'
import { user } from '../support/hub-fixture.ts'
import { eventually } from '../../support/probe.ts'
import { basic, call, makeRelease, releaseKeys, startFleetHub, technicianCookie, upload, type FleetHub, type TestRelease } from './fleet-fixture.ts'

const H = 'h24'
const tech = user('technician', H)
const w01 = user('board', H, 'w01')
const w02 = user('board', H, 'w02')
const otherHall = user('board', 'h99', 'w01')

/** The hub's release store over real HTTP: what it keeps, what it refuses and why, who may download. */
describe('release store', () => {
  const keys = releaseKeys()
  const stranger = releaseKeys()
  let f: FleetHub
  let cookie: string
  let first: TestRelease

  beforeAll(async () => {
    f = await startFleetHub([tech, w01, w02, otherHall], keys, { hall: H })
    cookie = await technicianCookie(f.base, tech)
  })
  afterAll(async () => {
    await f?.stop()
  })

  it('needs a technician login to upload, and keeps a release whose signature, size and hash check out', async () => {
    const r = (first = await makeRelease('1.2.0', keys.privateKey))
    const anon = await call(f.base, 'PUT', '/api/releases/1.2.0/manifest', { body: r.json, type: 'application/json' })
    expect(anon.status).toBe(401)
    await upload(f.base, cookie, r)
    const list = await call(f.base, 'GET', '/api/releases')
    expect(list.body.releases).toEqual([expect.objectContaining({ version: '1.2.0', complete: true, payload: r.manifest.payload })])
    expect((await readdir(join(f.releasesDir, '1.2.0'))).sort()).toEqual(['counter-edge-1.2.0.release.json', 'counter-edge-1.2.0.tar.gz'])
    // The same release again is no change.
    await upload(f.base, cookie, r)
  })

  it('refuses a manifest signed with another key, naming the signature', async () => {
    const r = await makeRelease('1.3.0', stranger.privateKey)
    const m = await call(f.base, 'PUT', '/api/releases/1.3.0/manifest', { cookie, body: r.json, type: 'application/json' })
    expect(m.status).toBe(400)
    expect(m.body.error).toMatch(/bad signature.*signature does not match the hall release key/)
    expect((await call(f.base, 'GET', '/api/releases')).body.releases).not.toContainEqual(expect.objectContaining({ version: '1.3.0' }))
  })

  it('refuses a payload whose hash is not the manifest\'s, and keeps nothing of it', async () => {
    const r = await makeRelease('1.4.0', keys.privateKey)
    expect((await call(f.base, 'PUT', '/api/releases/1.4.0/manifest', { cookie, body: r.json, type: 'application/json' })).status).toBe(201)
    const tampered = Buffer.from(r.payload)
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff
    const p = await call(f.base, 'PUT', '/api/releases/1.4.0/payload', { cookie, body: tampered, type: 'application/gzip' })
    expect(p.status).toBe(400)
    expect(p.body.error).toContain(`hash mismatch: the upload's SHA-256 is ${createHash('sha256').update(tampered).digest('hex')}`)
    const short = await call(f.base, 'PUT', '/api/releases/1.4.0/payload', { cookie, body: r.payload.subarray(1), type: 'application/gzip' })
    expect(short.status).toBe(400)
    expect(short.body.error).toContain('size mismatch')
    expect(await readdir(join(f.releasesDir, '1.4.0'))).toEqual(['counter-edge-1.4.0.release.json'])
    expect((await call(f.base, 'GET', '/api/releases')).body.releases).toContainEqual(expect.objectContaining({ version: '1.4.0', complete: false }))
  })

  it('refuses a version that exists with other content, a manifest uploaded under another version, and one too large', async () => {
    const again = await makeRelease('1.2.0', keys.privateKey, { payload: Buffer.from('other bytes') })
    const m = await call(f.base, 'PUT', '/api/releases/1.2.0/manifest', { cookie, body: again.json, type: 'application/json' })
    expect(m.status).toBe(400)
    expect(m.body.error).toContain('version 1.2.0 exists with different content')
    const r = await makeRelease('1.5.0', keys.privateKey)
    const wrong = await call(f.base, 'PUT', '/api/releases/1.6.0/manifest', { cookie, body: r.json, type: 'application/json' })
    expect(wrong.status).toBe(400)
    expect(wrong.body.error).toContain('version mismatch: the manifest is for 1.5.0, uploaded as 1.6.0')
    const big = await makeRelease('1.7.0', keys.privateKey, { claimSize: 300 * 1024 * 1024 })
    const tooLarge = await call(f.base, 'PUT', '/api/releases/1.7.0/manifest', { cookie, body: big.json, type: 'application/json' })
    expect(tooLarge.status).toBe(400)
    expect(tooLarge.body.error).toContain('release too large')
    const junk = await call(f.base, 'PUT', '/api/releases/1.8.0/manifest', { cookie, body: '{"manifest": 1}', type: 'application/json' })
    expect(junk.status).toBe(400)
    expect(junk.body.error).toContain('not a signed release manifest')
  })

  it('lets a board of the hall download with its own credentials, in ranges too; others are refused', async () => {
    const r = first
    const path = '/releases/1.2.0/counter-edge-1.2.0.tar.gz'
    const whole = await fetch(`${f.base}${path}`, { headers: basic(w01) })
    expect(whole.status).toBe(200)
    expect(Buffer.from(await whole.arrayBuffer()).equals(r.payload)).toBe(true)
    const part = await fetch(`${f.base}${path}`, { headers: { ...basic(w01), range: 'bytes=10-' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 10-${r.payload.length - 1}/${r.payload.length}`)
    expect(Buffer.from(await part.arrayBuffer()).equals(r.payload.subarray(10))).toBe(true)
    const manifest = await call(f.base, 'GET', '/releases/1.2.0/counter-edge-1.2.0.release.json', { headers: basic(w01) })
    expect(manifest.body.signature).toBe(r.signed.signature)

    expect((await call(f.base, 'GET', path)).status).toBe(401)
    expect((await call(f.base, 'GET', path, { headers: basic(w01, 'wrong') })).status).toBe(401)
    expect((await call(f.base, 'GET', path, { headers: basic(otherHall) })).status).toBe(401)
    expect((await call(f.base, 'GET', path, { headers: basic(tech) })).status).toBe(401)
    expect((await call(f.base, 'GET', '/releases/1.4.0/counter-edge-1.4.0.tar.gz', { headers: basic(w02) })).status).toBe(404)
    expect((await call(f.base, 'GET', '/releases/1.2.0/..', { headers: basic(w02) })).status).toBe(404)
  })

  it('refuses a revoked board at once', async () => {
    const path = '/releases/1.2.0/counter-edge-1.2.0.tar.gz'
    expect((await call(f.base, 'GET', path, { headers: basic(w02) })).status).toBe(200)
    const entries = await readCredentialFile(f.t.credentialsFile)
    await writeCredentialFile(f.t.credentialsFile, entries.map((e) => (e.username === w02.username ? { ...e, revoked: true } : e)))
    await eventually(async () => (await call(f.base, 'GET', path, { headers: basic(w02) })).status === 401, 10_000, 'the revoked board refused')
  })

  it('deletes a release on a technician\'s word only', async () => {
    expect((await call(f.base, 'DELETE', '/api/releases/1.4.0')).status).toBe(401)
    expect((await call(f.base, 'DELETE', '/api/releases/1.4.0', { cookie })).status).toBe(200)
    expect((await call(f.base, 'DELETE', '/api/releases/1.4.0', { cookie })).status).toBe(404)
    expect(await readdir(f.releasesDir)).toEqual(['1.2.0'])
  })
})

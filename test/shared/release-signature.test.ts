import { describe, expect, it } from 'vitest'
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto'
import { signManifest, verifySignedManifest } from '../../edge/shared/release-signature.ts'
import type { ReleaseManifest } from '../../edge/protocol/index.ts'

function keys() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { priv: privateKey.export({ type: 'pkcs8', format: 'pem' }), pub: publicKey.export({ type: 'spki', format: 'pem' }) }
}

const manifest: ReleaseManifest = {
  format: 1,
  name: 'counter-edge',
  version: '0.2.0',
  node: '>=20.19',
  payload: { file: 'counter-edge-0.2.0.tar.gz', size: 1000, sha256: 'ab'.repeat(32) },
  native: { 'i2c-bus': '5.2.3' },
  created: '2026-12-05T05:00:00.000Z',
}

describe('release manifest signature', () => {
  const hall = keys()

  it('a manifest signed with the hall key verifies, and gives back what was signed', () => {
    const checked = verifySignedManifest(signManifest(manifest, hall.priv), hall.pub)
    expect(checked.ok && checked.manifest).toEqual(manifest)
  })

  it('another key is refused, naming the hall key it was checked against', () => {
    const other = keys()
    const checked = verifySignedManifest(signManifest(manifest, other.priv), hall.pub)
    expect(checked.ok).toBe(false)
    if (!checked.ok) expect(checked.reason).toMatch(/^signature does not match the hall release key [0-9a-f]{16}/)
  })

  it('a changed manifest is refused, even by one byte', () => {
    const signed = signManifest(manifest, hall.priv)
    const bytes = Buffer.from(signed.manifest, 'base64')
    const changed = Buffer.from(bytes.toString('utf8').replace('"size":1000', '"size":1001'), 'utf8')
    const checked = verifySignedManifest({ ...signed, manifest: changed.toString('base64') }, hall.pub)
    expect(checked.ok).toBe(false)
  })

  it('a signed document that is not a valid manifest is refused after the signature holds', () => {
    const bytes = Buffer.from(JSON.stringify({ ...manifest, format: 2 }))
    const signature = sign(null, bytes, createPrivateKey(hall.priv)).toString('base64')
    const checked = verifySignedManifest({ manifest: bytes.toString('base64'), signature }, hall.pub)
    expect(checked.ok).toBe(false)
    if (!checked.ok) expect(checked.reason).toContain('format')
  })

  it('bad input is refused with a reason, never thrown', () => {
    expect(verifySignedManifest(null, hall.pub)).toMatchObject({ ok: false, reason: expect.stringContaining('not a signed release manifest') })
    expect(verifySignedManifest({ manifest: 'AAAA', signature: 'x' }, hall.pub)).toMatchObject({ ok: false })
    const signed = signManifest(manifest, hall.priv)
    expect(verifySignedManifest(signed, 'not a key')).toMatchObject({ ok: false, reason: expect.stringContaining('cannot be read') })
  })

  it('an RSA key is not taken for the hall key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' })
    expect(verifySignedManifest(signManifest(manifest, hall.priv), rsa)).toMatchObject({ ok: false, reason: expect.stringContaining('not ed25519') })
  })
})

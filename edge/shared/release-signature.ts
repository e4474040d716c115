import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { releaseManifestSchema, signedManifestSchema, validate, type ReleaseManifest, type SignedManifest } from '../protocol/index.ts'

/**
 * Signing and checking a release's manifest (edge/protocol/release.ts) with
 * the hall's ed25519 release key. The build signs; the hub checks at upload
 * so a bad release is refused before any board sees it; every board checks
 * again with the public key in its own config, so a hub that was tampered
 * with still cannot make a board run unsigned code.
 */

export type ManifestCheck = { ok: true; manifest: ReleaseManifest; bytes: Buffer } | { ok: false; reason: string }

function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)
}

function asEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not ed25519`)
  return key
}

/** Sign a manifest: its JSON bytes travel base64 beside the signature, so no re-serialisation can change what was signed. */
export function signManifest(manifest: ReleaseManifest, privateKeyPem: string | Buffer): SignedManifest {
  const checked = releaseManifestSchema.parse(manifest)
  const priv = asEd25519(createPrivateKey(privateKeyPem), 'the signing key')
  const bytes = Buffer.from(JSON.stringify(checked), 'utf8')
  return {
    manifest: bytes.toString('base64'),
    signature: sign(null, bytes, priv).toString('base64'),
    key: keyId(createPublicKey(priv)),
  }
}

/**
 * Check a signed manifest against the hall's public key: the signature first,
 * then the manifest's schema. Never throws; the reason names what is wrong in
 * words a technician can act on.
 */
export function verifySignedManifest(signed: unknown, publicKeyPem: string | Buffer): ManifestCheck {
  const envelope = validate(signedManifestSchema, signed)
  if (!envelope.ok) return { ok: false, reason: `not a signed release manifest: ${envelope.message}` }
  let pub: KeyObject
  try {
    pub = asEd25519(createPublicKey(publicKeyPem), 'the hall release key')
  } catch (err) {
    return { ok: false, reason: `the hall release key cannot be read: ${(err as Error).message}` }
  }
  const bytes = Buffer.from(envelope.data.manifest, 'base64')
  const signature = Buffer.from(envelope.data.signature, 'base64')
  if (!verify(null, bytes, pub, signature)) {
    return { ok: false, reason: `signature does not match the hall release key ${keyId(pub)} (signed by another key, or the manifest was changed)` }
  }
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch {
    return { ok: false, reason: 'the signed manifest is not JSON' }
  }
  const manifest = validate(releaseManifestSchema, json)
  if (!manifest.ok) return { ok: false, reason: `the signed manifest is not valid: ${manifest.message}` }
  return { ok: true, manifest: manifest.data, bytes }
}

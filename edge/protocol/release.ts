import { z } from 'zod'
import { datetimeSchema } from './ids.ts'

/**
 * A release of the board runtime, as the hub stores it and a board installs
 * it (docs/operations.md, "Updating a hall"). Two files travel together:
 *
 * - the payload, `counter-edge-<version>.tar.gz`: the built runtime (dist/,
 *   package.json, boards/), unpacked beside the running version;
 * - the signed manifest, `counter-edge-<version>.release.json`: the manifest's
 *   exact bytes (base64) and an ed25519 signature over those bytes, made with
 *   the hall's release key. A board verifies it with the hall's public key
 *   before it trusts any field, then checks the payload's size and SHA-256
 *   against the manifest.
 *
 * The manifest travels as bytes rather than as a JSON object so that no
 * re-serialisation on the way (hub, MQTT, HTTP) can change what was signed.
 */

/** 1.2.3, 1.2.3-rc.1, 1.2.3+build.5: what package.json's version holds. */
export const releaseVersionSchema = z
  .string()
  .min(5)
  .max(64)
  .regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'expected a version like 1.2.3 or 1.2.3-rc.1')

export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits (SHA-256)')

export const releaseManifestSchema = z.strictObject({
  format: z.literal(1).describe('manifest format; a board refuses one it does not know'),
  name: z.literal('counter-edge'),
  version: releaseVersionSchema,
  node: z.string().min(1).max(64).describe('Node.js versions the release runs on, as package.json engines (e.g. ">=20.19")'),
  payload: z.strictObject({
    file: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).describe('the payload file name, e.g. counter-edge-1.2.3.tar.gz'),
    size: z.number().int().min(1).max(512 * 1024 * 1024).describe('bytes'),
    sha256: sha256HexSchema,
  }),
  native: z
    .record(z.string().min(1).max(214), z.string().min(1).max(64))
    .describe('native packages the release loads from the board\'s installed node_modules, with their versions; a board that has others refuses the release (it needs `counter-edge install`)'),
  created: datetimeSchema,
  commit: z.string().regex(/^[0-9a-f]{7,40}$/).optional().describe('the source commit it was built from'),
})

export type ReleaseManifest = z.infer<typeof releaseManifestSchema>

/** The contents of `counter-edge-<version>.release.json`. */
export const signedManifestSchema = z.strictObject({
  manifest: z.string().min(1).max(16_384).regex(/^[A-Za-z0-9+/]*={0,2}$/).describe('base64 of the manifest\'s exact JSON bytes'),
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/).describe('base64 of the 64-byte ed25519 signature over those bytes'),
  key: z.string().regex(/^[0-9a-f]{16}$/).optional().describe('first 8 bytes (hex) of the SHA-256 of the signing public key, to tell keys apart; informational'),
})

export type SignedManifest = z.infer<typeof signedManifestSchema>

/** Where a board is in taking a release; `idle` once confirmed or rolled back and reported. */
export const UPDATE_STATES = ['idle', 'downloading', 'verifying', 'installing', 'restarting', 'confirming', 'confirmed', 'rolled-back', 'failed'] as const
export const updateStateNameSchema = z.enum(UPDATE_STATES)
export type UpdateStateName = z.infer<typeof updateStateNameSchema>

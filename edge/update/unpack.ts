import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Unpacks a verified payload beside the running version: into <v>.partial,
 * renamed to <v> only once whole, so a power cut mid-way never leaves a
 * release folder that looks complete. The system tar, as the build packs it
 * (cli/build/release.ts); owners from the archive are not kept.
 */
export async function unpackRelease(tarball: string, releases: string, version: string): Promise<string> {
  const partial = join(releases, `${version}.partial`)
  const final = join(releases, version)
  await rm(partial, { recursive: true, force: true })
  await mkdir(partial, { recursive: true })
  try {
    await run('tar', ['-xzf', tarball, '-C', partial, '--no-same-owner', '--no-same-permissions'])
  } catch (err) {
    await rm(partial, { recursive: true, force: true })
    throw new Error(`cannot unpack ${tarball}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim().slice(0, 200)}`)
  }
  if (!existsSync(join(partial, 'dist', 'counter-edge.js'))) {
    await rm(partial, { recursive: true, force: true })
    throw new Error(`the payload has no dist/counter-edge.js`)
  }
  // A folder of the same version left by an earlier attempt that never ran is replaced.
  await rm(final, { recursive: true, force: true })
  await rename(partial, final)
  return final
}

import { mkdir, open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Writes a file whole or not at all, durably: a temp file beside it, fsynced, renamed over it, then
 * the directory fsynced, since the rename is durable only once the directory entry is on disk too.
 * A crash leaves the old file or the new one, never half of either. Owner-only (0600): what the board
 * and the hub keep this way is their state, not for other users of the machine.
 */
export async function writeWholeFile(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  const d = await open(dir, 'r')
  try {
    await d.sync()
  } finally {
    await d.close()
  }
}

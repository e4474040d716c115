import { readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../shared/logger.ts'
import type { BoardRoot } from './board-root.ts'

/** What a half-removed release is renamed to first: never a version's name, so nothing can point at it or take it for whole. */
const DELETING = /^\..+\.deleting$/

/**
 * Removes the releases a board no longer needs, so that each update does not
 * leave a whole release on the SD card for good. Kept: what `current` and
 * `previous` point at (the running version and the one a rollback goes to),
 * what update.json names (a trial and its way back), and `keep` (the version
 * an install in this process is laying down). The caller runs it only while no
 * install is under way (edge/update/installer.ts). Each folder is renamed out
 * of the way before it is deleted, so a power cut mid-delete leaves a
 * `.<v>.deleting` folder, removed the next time, never a half release under
 * its version's name.
 */
export async function pruneReleases(root: BoardRoot, log: Logger, keep: readonly string[] = []): Promise<string[]> {
  const journal = await root.readJournal()
  const kept = new Set<string>(keep)
  for (const v of [await root.versionOf('current'), await root.versionOf('previous'), journal.trying, journal.previous, journal.rolledBack?.to]) if (v) kept.add(v)
  // Without a running version to anchor on, nothing is known safe to remove.
  if (!(await root.versionOf('current'))) return []
  let names: string[]
  try {
    names = await readdir(root.releases)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    if (kept.has(name)) continue
    const path = join(root.releases, name)
    try {
      if (DELETING.test(name)) {
        await rm(path, { recursive: true, force: true })
        continue
      }
      // Also an unpack or a download a power cut left (<v>.partial, <v>.tar.gz.part): no install is running to finish it.
      const aside = join(root.releases, `.${name}.deleting`)
      await rename(path, aside)
      await rm(aside, { recursive: true, force: true })
      removed.push(name)
    } catch (err) {
      log.warn({ release: name, err: (err as Error).message }, `旧版本删除失败 / could not remove old release ${name}`)
    }
  }
  if (removed.length) log.info({ removed, kept: [...kept] }, `已删除旧版本 / removed old releases: ${removed.join(', ')}`)
  return removed
}

import { readdir } from 'node:fs/promises'
import { BoardProfileError, loadBoardProfile, type BoardProfile } from '../boards/profile-schema.ts'
import { didYouMean } from '../edge/shared/nearest-name.ts'
import { UsageError } from './subcommand.ts'

/**
 * A board profile as a command loads it: a profile id with no file becomes a usage error that
 * suggests the nearest id ("rpi4-ht16k3" for "rpi4-ht16k33") and lists those there are. The
 * profile loader itself (boards/) cannot: its room imports only the contract.
 */
export async function loadProfileNamed(ref: string, dir: string, source: string): Promise<BoardProfile> {
  try {
    return await loadBoardProfile(ref, dir)
  } catch (err) {
    if (!(err instanceof BoardProfileError) || !err.missing) throw err
    const known = (await readdir(err.missing.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort()
    const hint = didYouMean(ref, known, (id) => `"${id}"`)
    throw new UsageError(`${source}：没有板型 "${ref}"${hint.zh} / ${source}: no board profile "${ref}"${hint.en}\n现有板型 / the profiles are: ${known.join(', ')}`)
  }
}

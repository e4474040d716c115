import { existsSync } from 'node:fs'
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { z } from 'zod'
import type { Logger } from '../shared/logger.ts'

/**
 * An installed board's root (default /opt/counter-edge): one folder per
 * release under releases/, `current` and `previous` symlinks to two of them,
 * update.json saying what is being tried, and the hall's public key. Config
 * and data live outside it (/etc/counter-edge, /var/lib/counter-edge), so no
 * update or rollback can touch a window's journal or state.
 */
export const DEFAULT_ROOT = '/opt/counter-edge'

const rolledBackSchema = z.strictObject({ from: z.string(), to: z.string(), reason: z.string(), at: z.string() })

/**
 * The format this release writes update.json in. A release that adds a field
 * raises it; an older launcher (after a rollback) then still reads the fields
 * it knows and drops the rest, rather than refusing the file and not starting.
 */
export const JOURNAL_FORMAT = 1

/** Not strict: a newer release's extra fields must not stop an older launcher from starting the board. */
export const updateJournalSchema = z.object({
  /** The format it was written in; absent in files written before it was carried. */
  format: z.number().int().positive().optional(),
  /** The version started to be confirmed; null once confirmed or rolled back. */
  trying: z.string().nullable(),
  /** What `previous` points at: the version a failed trial goes back to. */
  previous: z.string().nullable(),
  /** The `update` command this is about. */
  cmd: z.string().nullable(),
  /** When the tried version must have said `healthy` (ISO). */
  deadline: z.string().nullable(),
  rolledBack: rolledBackSchema.nullable(),
})

export type UpdateJournal = z.infer<typeof updateJournalSchema>
export type RolledBack = z.infer<typeof rolledBackSchema>

export const EMPTY_JOURNAL: UpdateJournal = { trying: null, previous: null, cmd: null, deadline: null, rolledBack: null }

export class BoardRoot {
  constructor(readonly dir: string) {}

  get releases(): string {
    return join(this.dir, 'releases')
  }
  get current(): string {
    return join(this.dir, 'current')
  }
  get previous(): string {
    return join(this.dir, 'previous')
  }
  get journalFile(): string {
    return join(this.dir, 'update.json')
  }
  get publicKey(): string {
    return join(this.dir, 'keys', 'hall-release.pub')
  }
  get nodeModules(): string {
    return join(this.dir, 'node_modules')
  }
  releaseDir(version: string): string {
    return join(this.releases, version)
  }
  /** The runtime the launcher starts from `current`. */
  get entry(): string {
    return join(this.current, 'dist', 'counter-edge.js')
  }

  isInstalled(): boolean {
    return existsSync(this.current)
  }

  /** The version a link points at (its release folder's name), or null when there is no such link. */
  async versionOf(link: 'current' | 'previous'): Promise<string | null> {
    try {
      return basename(await readlink(join(this.dir, link)))
    } catch {
      return null
    }
  }

  /**
   * Points a link at a release, atomically: a new symlink under a temporary
   * name renamed over the old one, so a power cut leaves the old link or the
   * new one, never none. Relative, so the root can be moved or mounted elsewhere.
   */
  async point(link: 'current' | 'previous', version: string): Promise<void> {
    const tmp = join(this.dir, `.${link}.${process.pid}.tmp`)
    await rm(tmp, { force: true })
    await symlink(join('releases', version), tmp)
    await rename(tmp, join(this.dir, link))
  }

  /** `log` hears (once per read) that the file came from a newer release, whose extra fields are ignored. */
  async readJournal(log?: Logger): Promise<UpdateJournal> {
    let text: string
    try {
      text = await readFile(this.journalFile, 'utf8')
    } catch {
      return { ...EMPTY_JOURNAL }
    }
    const parsed = updateJournalSchema.safeParse(JSON.parse(text))
    if (!parsed.success) throw new Error(`${this.journalFile} is not an update journal: ${parsed.error.issues[0]?.message}`)
    if ((parsed.data.format ?? 1) > JOURNAL_FORMAT) {
      log?.warn({ file: this.journalFile, format: parsed.data.format, known: JOURNAL_FORMAT }, `update.json 来自较新的版本（格式 ${parsed.data.format}），只读取已知字段 / update.json is from a newer release (format ${parsed.data.format}); only the fields this release knows are read`)
    }
    return parsed.data
  }

  /** Written to a temporary file and renamed over: the launcher and the runtime read it at any moment. */
  async writeJournal(j: UpdateJournal): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const tmp = `${this.journalFile}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify({ ...updateJournalSchema.parse(j), format: JOURNAL_FORMAT }, null, 2) + '\n')
    await rename(tmp, this.journalFile)
  }
}

/**
 * The root a runtime runs from: <root>/releases/<v>/ holds its package.json,
 * so the root is two levels above it — when that is an installed root (it has
 * `current`). A checkout is not one, and its runtime does not take updates.
 */
export function installedRootOf(packageRoot: string): string | null {
  const releases = dirname(packageRoot)
  if (basename(releases) !== 'releases') return null
  const root = dirname(releases)
  return existsSync(join(root, 'current')) ? root : null
}

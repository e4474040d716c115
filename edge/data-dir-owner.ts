import { createHash } from 'node:crypto'
import { readFile, rename, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { idSchema } from './protocol/index.ts'
import type { Logger } from './shared/logger.ts'
import { writeWholeFile } from './shared/whole-file.ts'

/** Which window the state and journal in a data directory belong to. */
const OWNER_FILE = 'window-owner.json'
/** What in the data directory is the window's own (the state file, its temp file, the journal); the code cache is not. */
const WINDOW_ENTRIES = ['window-state.json', 'window-state.json.tmp', 'journal'] as const

/**
 * credential: a digest of the board account the data was written under (credentialDigest); absent in
 * files written before it was kept. Window ids alone cannot tell a window's own old card, put back after
 * a spare served (and the window provisioned again), from its current one.
 */
const ownerSchema = z.object({ hall: idSchema, counter: idSchema, credential: z.string().optional() })
export type DataDirOwner = z.infer<typeof ownerSchema>

/**
 * The board account a data directory is written under, as a digest: `provision --replace` gives a window a
 * new password, so data written under another one is from before the window's board was replaced. The
 * password is in the config on the same card; the digest only keeps it out of one more file.
 */
export function credentialDigest(username: string, password: string): string {
  return createHash('sha256').update('counter-edge data-dir owner\0').update(username).update('\0').update(password).digest('hex').slice(0, 32)
}

/**
 * Binds the data directory to the window the config names, before the journal
 * opens and the state loads. A board moved to another window (or a card put in
 * a board provisioned for another window) keeps its old data directory: loaded
 * as it was, the new window would show the old window's ticket, a number it was
 * never told to call, and its link would send the old window's journal under the
 * old topics, which the hub refuses as a breach and disconnects it for, on every
 * reconnect. So another window's state and journal are set aside, whole, in a
 * folder named for that window, and this window starts closed with an empty
 * journal; what the old window had not delivered stays there to be sent by a
 * board started once with the old window's config on that folder.
 *
 * A directory without the owner file (written before it existed, or new) is
 * taken as this window's.
 */
export async function claimDataDir(dir: string, owner: DataDirOwner, log: Logger, now: () => number): Promise<{ setAside: string | null; previous: DataDirOwner | null; stale: boolean }> {
  const path = join(dir, OWNER_FILE)
  const previous = await readOwner(path, log)
  if (previous && previous.hall === owner.hall && previous.counter === owner.counter) {
    // This window's own data, written under an account the window has since been provisioned past: its
    // state is stale (a spare served meanwhile), its journal still this window's to deliver.
    const stale = previous.credential !== undefined && owner.credential !== undefined && previous.credential !== owner.credential
    if (stale) {
      log.error(
        { counter: owner.counter },
        `数据目录是窗口 ${owner.counter} 换板（provision --replace）之前的：其中的窗口状态已过时，本窗口以关闭状态启动，不显示旧票号，也不发送旧状态；其中未送达的事件照常送出 / ` +
          `the data directory is window ${owner.counter}'s from before the window was provisioned again (provision --replace): its window state is stale, so this window starts closed, never showing the old ticket nor sending the old state; the events it had not delivered are sent as usual`,
      )
    }
    if (stale || previous.credential !== owner.credential) await writeWholeFile(path, JSON.stringify(owner) + '\n')
    return { setAside: null, previous, stale }
  }
  if (previous) {
    const present = []
    for (const name of WINDOW_ENTRIES) if (await exists(join(dir, name))) present.push(name)
    let setAside: string | null = null
    if (present.length > 0) {
      setAside = join(dir, `other-window-${previous.hall}-${previous.counter}-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`)
      await mkdir(setAside, { recursive: true, mode: 0o700 })
      for (const name of present) await rename(join(dir, name), join(setAside, name))
      await writeWholeFile(join(setAside, OWNER_FILE), JSON.stringify(previous) + '\n')
      log.error(
        { previous, now: owner, setAside },
        `数据目录中是 ${previous.hall} 的窗口 ${previous.counter} 的状态和日志，本板现在是窗口 ${owner.counter}：已原样移到 ${setAside}，本窗口以关闭状态启动，不显示旧窗口的票号；其中未送达的事件，请用窗口 ${previous.counter} 的配置（dataDir 指向该文件夹）启动一次送出 / ` +
          `the data directory holds the state and journal of window ${previous.counter} of ${previous.hall}, and this board is now window ${owner.counter}: ` +
          `they were set aside whole in ${setAside} and this window starts closed, never showing the old window's ticket; to deliver what window ${previous.counter} had not sent, start a board once with that window's config and its dataDir set to that folder`,
      )
    }
    await writeWholeFile(path, JSON.stringify(owner) + '\n')
    return { setAside, previous, stale: false }
  }
  await writeWholeFile(path, JSON.stringify(owner) + '\n')
  return { setAside: null, previous, stale: false }
}

async function readOwner(path: string, log: Logger): Promise<DataDirOwner | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const parsed = ownerSchema.safeParse(JSON.parse(text))
    if (parsed.success) return parsed.data
  } catch {
    // Damaged: fall through. The file is written whole, so this is a hand edit or a bad card.
  }
  // Whose the data is cannot be told: a stranger's, as far as this window knows, so it is set aside.
  log.warn({ path }, 'window-owner.json is damaged; setting the data directory aside as another window\'s')
  return { hall: 'unknown', counter: 'unknown' }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

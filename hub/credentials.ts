import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { readFile, writeFile, rename, chmod, chown, stat, unlink } from 'node:fs/promises'
import { watch, existsSync, type FSWatcher } from 'node:fs'
import { dirname, basename, join } from 'node:path'
import { z } from 'zod'
import { idSchema } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import { readFailureEn, readFailureZh } from '../edge/shared/read-failure.ts'
import { schemaProblem } from '../edge/shared/schema-problem.ts'

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>

/** Roles of docs/architecture.md §6; each maps to a rule set in acl.ts. */
export const ROLES = ['board', 'bridge', 'dashboard', 'technician'] as const
export type Role = (typeof ROLES)[number]

// scrypt with N=2^14 costs ~40 ms and 16 MiB per check here: slow enough that a
// stolen file is expensive to brute-force, cheap enough for a hall of 50 boards
// reconnecting at once after a hub restart.
const KDF = { N: 16384, r: 8, p: 1, keyLen: 32 } as const

/** What a username may be: what a client id and a topic-free log line can carry. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/

const entrySchema = z.strictObject({
  username: z.string().regex(USERNAME_PATTERN, 'username: 1–64 characters a–z, 0–9, ".", "_", "-"'),
  role: z.enum(ROLES),
  hall: idSchema,
  counter: idSchema.nullable(),
  kdf: z.strictObject({ alg: z.literal('scrypt'), N: z.number().int(), r: z.number().int(), p: z.number().int() }),
  salt: z.string().min(16),
  hash: z.string().min(16),
  revoked: z.boolean().default(false),
  created: z.string(),
})
export type CredentialEntry = z.infer<typeof entrySchema>

const fileSchema = z.strictObject({ version: z.literal(1), entries: z.array(entrySchema) })

/** Who a client is, once its password checked out. */
export interface Principal {
  username: string
  role: Role
  hall: string
  counter: string | null
}

export async function hashPassword(password: string, salt = randomBytes(16)): Promise<{ salt: string; hash: string; kdf: CredentialEntry['kdf'] }> {
  const key = await scrypt(password, salt, KDF.keyLen, { N: KDF.N, r: KDF.r, p: KDF.p, maxmem: 64 * 1024 * 1024 })
  return { salt: salt.toString('base64'), hash: key.toString('base64'), kdf: { alg: 'scrypt', N: KDF.N, r: KDF.r, p: KDF.p } }
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url')
}

/** A board account overridden by a newer one of the same window: which window, and the account in force. */
export interface Superseded {
  counter: string
  inForce: string
}

/**
 * Board accounts (not revoked) that share a window with a newer one: by `created`, the later in the file
 * among equals (provision appends). The newest is the one a replacement (\`provision --replace\`) makes, and the
 * one a technician who added a second account by hand meant for the board now at the window.
 */
export function supersededBoardAccounts(list: readonly CredentialEntry[]): Map<string, Superseded> {
  const newest = new Map<string, CredentialEntry>()
  for (const e of list) {
    if (e.role !== 'board' || e.revoked || e.counter === null) continue
    const key = `${e.hall}/${e.counter}`
    const held = newest.get(key)
    if (!held || e.created >= held.created) newest.set(key, e)
  }
  const out = new Map<string, Superseded>()
  for (const e of list) {
    if (e.role !== 'board' || e.revoked || e.counter === null) continue
    const inForce = newest.get(`${e.hall}/${e.counter}`)!
    if (inForce.username !== e.username) out.set(e.username, { counter: e.counter, inForce: inForce.username })
  }
  return out
}

export class CredentialFileError extends Error {
  override readonly name = 'CredentialFileError'
}

export async function readCredentialFile(path: string): Promise<CredentialEntry[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT') throw new CredentialFileError(`凭据文件 ${path} 不存在：请用 counter-edge provision 创建 / credentials file ${path} does not exist: create it with \`counter-edge provision\``)
    throw new CredentialFileError(`无法读取凭据文件 ${path}：${readFailureZh(e.code)} / cannot read credentials file ${path}: ${readFailureEn(e)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new CredentialFileError(`凭据文件 ${path} 不是有效的 JSON（可能被手工改坏了）/ credentials file ${path} is not valid JSON: ${(err as Error).message}`)
  }
  const parsed = fileSchema.safeParse(json)
  if (!parsed.success) {
    const p = schemaProblem(fileSchema, json, parsed.error.issues)
    throw new CredentialFileError(`凭据文件 / credentials file ${path}: ${p.path ? `${p.path}: ` : ''}${p.text}`)
  }
  const seen = new Set<string>()
  for (const e of parsed.data.entries) {
    if (seen.has(e.username)) throw new CredentialFileError(`凭据文件 ${path} 中用户名 "${e.username}" 出现两次 / credentials file ${path}: username "${e.username}" appears twice`)
    seen.add(e.username)
    if (e.role === 'board' && e.counter === null) throw new CredentialFileError(`凭据文件 ${path} 中板卡 "${e.username}" 没有窗口编号 / credentials file ${path}: board "${e.username}" has no counter`)
  }
  return parsed.data.entries
}

/**
 * Writes atomically (temp file + rename) so the hub watching it never reads half a file. The new file
 * keeps the old one's mode, owner and group: the technician provisions as root (sudo) while the hub
 * reads the file as its service user through the group (docs/operations.md, /etc/counter-edge is
 * root:counter-edge 750), and a root-only file would leave the hub on its last set, refusing the new
 * board. A first file takes the folder's group, readable by it, when that is not the writer's own.
 */
export async function writeCredentialFile(path: string, entries: CredentialEntry[]): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
  try {
    const keep = await ownershipFor(path)
    await writeFile(tmp, JSON.stringify({ version: 1, entries }, null, 2) + '\n', { mode: keep.mode })
    try {
      await chmod(tmp, keep.mode)
      if (keep.gid !== process.getgid?.() || keep.uid !== process.getuid?.()) {
        // Only root may give a file away; anyone else keeps the group where they belong to it, and otherwise writes as before.
        const root = process.getuid?.() === 0
        await chown(tmp, root ? keep.uid : -1, keep.gid).catch((err: NodeJS.ErrnoException) => {
          if (root || err.code !== 'EPERM') throw err
        })
      }
      await rename(tmp, path)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const zh = e.code === 'EACCES' || e.code === 'EPERM' ? '没有写权限（凭据文件属 root 管理，请用 sudo 运行）' : e.code === 'EROFS' ? '文件系统是只读的' : '写入失败'
    throw new CredentialFileError(`无法写入凭据文件 ${path}：${zh}，文件未改动 / cannot write credentials file ${path}: ${e.message}; the file is unchanged${e.code === 'EACCES' || e.code === 'EPERM' ? ' (it is root\'s to change: run this with sudo)' : ''}`)
  }
}

async function ownershipFor(path: string): Promise<{ mode: number; uid: number; gid: number }> {
  const me = { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 }
  try {
    const s = await stat(path)
    return { mode: s.mode & 0o777, uid: s.uid, gid: s.gid }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const folder = await stat(dirname(path))
  return folder.gid !== me.gid ? { mode: 0o640, uid: me.uid, gid: folder.gid } : { mode: 0o600, ...me }
}

export async function makeEntry(p: { username: string; role: Role; hall: string; counter: string | null; password: string }): Promise<CredentialEntry> {
  const h = await hashPassword(p.password)
  return entrySchema.parse({ username: p.username, role: p.role, hall: p.hall, counter: p.counter, ...h, revoked: false, created: new Date().toISOString() })
}

/**
 * The hub's view of the credentials file: verifies passwords against salted
 * scrypt hashes and reloads the file when it changes, so provisioning or
 * revoking a board needs no hub restart. A broken file on reload keeps the
 * last good set (and logs why) rather than locking every board out.
 */
export class CredentialStore {
  private entries = new Map<string, CredentialEntry>()
  private watcher: FSWatcher | null = null
  private reloadTimer: NodeJS.Timeout | null = null
  private readonly listeners = new Set<() => void>()
  /** Board accounts another, newer account of the same window overrides: refused at login (supersededBy). */
  private superseded = new Map<string, Superseded>()
  /**
   * Passwords that passed scrypt, as an HMAC under a key that lives only in
   * this process, by username and tied to the entry's salt and hash. A board
   * that logs in again (a reconnect, a retry after its CONNACK timed out while
   * a hall's worth of boards queued for scrypt) costs a microsecond instead of
   * 40 ms; without it, 1,000 boards connecting at once kept two cores busy with
   * retries that timed out again and never all got in. Failed attempts are never
   * remembered, so guessing still pays scrypt (and the per-address backoff).
   */
  private readonly verified = new Map<string, { salt: string; hash: string; mac: Buffer }>()
  private readonly macKey = randomBytes(32)
  /** Checks in progress, so a board that retried while its first attempt waited for scrypt does not queue a second one. */
  private readonly checking = new Map<string, Promise<Principal | null>>()

  /** hall: the hall this hub serves; accounts of other halls in its file are said at each load (they can log in, but reach nothing here). */
  constructor(private readonly opts: { path: string; log: Logger; watch?: boolean; hall?: string }) {}

  async start(): Promise<void> {
    await this.reload()
    if (this.opts.watch !== false) {
      // Watch the directory: editors and writeCredentialFile replace the file, which ends a file watch.
      this.watcher = watch(dirname(this.opts.path), (_event, file) => {
        if (file && file.toString() !== basename(this.opts.path)) return
        if (this.reloadTimer) clearTimeout(this.reloadTimer)
        this.reloadTimer = setTimeout(() => {
          this.reload().catch((err: Error) => this.opts.log.error({ err: err.message }, '凭据文件重新加载失败，沿用之前的账号 / credentials reload failed; keeping the previous set'))
        }, 50)
      })
    }
  }

  async reload(): Promise<void> {
    if (!existsSync(this.opts.path) && this.entries.size > 0) return
    const list = await readCredentialFile(this.opts.path)
    this.entries = new Map(list.map((e) => [e.username, e]))
    this.opts.log.info({ entries: list.length, revoked: list.filter((e) => e.revoked).length }, 'credentials loaded')
    const hall = this.opts.hall
    const others = hall === undefined ? [] : list.filter((e) => !e.revoked && e.hall !== hall)
    if (others.length > 0) {
      // A file made for another hall (or a hub started with the wrong "hall") lets every board log in and then reach nothing.
      const halls = [...new Set(others.map((e) => e.hall))].slice(0, 5)
      this.opts.log.warn(
        { hall, otherHalls: halls, accounts: others.length, of: list.length },
        `凭据文件中有 ${others.length} 个账号属于其他大厅（${halls.join('、')}），本集线器服务 ${hall}：这些账号能登录，但收不到也发不出任何消息；请检查配置的 "hall" 或凭据文件 / ${others.length} of ${list.length} accounts in the credentials file belong to another hall (${halls.join(', ')}) while this hub serves ${hall}: they can log in but reach nothing; check the config's "hall" or the credentials file`,
      )
    }
    this.superseded = supersededBoardAccounts(list)
    const byWindow = new Map<string, { counter: string; inForce: string; refused: string[] }>()
    for (const [username, s] of this.superseded) {
      const w = byWindow.get(s.inForce) ?? { counter: s.counter, inForce: s.inForce, refused: [] }
      w.refused.push(username)
      byWindow.set(s.inForce, w)
    }
    for (const { counter, inForce, refused } of byWindow.values()) {
      // Written by hand or before provision refused it. Two boards online as one window could each rate its
      // one service: only the newest account (the one a replacement would have made) may log in.
      this.opts.log.error(
        { counter, inForce, refused },
        `窗口 ${counter} 有 ${refused.length + 1} 个板卡账号：只有最新发放的 "${inForce}" 能登录，${refused.map((n) => `"${n}"`).join('、')} 的登录一律被拒绝；请用 counter-edge provision --revoke --username … 吊销不用的账号 / ` +
          `window ${counter} has ${refused.length + 1} board accounts: only the newest, "${inForce}", may log in, and ${refused.map((n) => `"${n}"`).join(', ')} ${refused.length === 1 ? 'is' : 'are'} refused at every login; revoke the account not in use with counter-edge provision --revoke --username …`,
      )
    }
    for (const l of this.listeners) l()
  }

  /** Called after every successful reload, so the broker can drop sessions of revoked clients at once. */
  onReload(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Every valid (not revoked) principal, e.g. to list a hall's provisioned windows. */
  principals(): Principal[] {
    return [...this.entries.values()].filter((e) => !e.revoked).map((e) => ({ username: e.username, role: e.role, hall: e.hall, counter: e.counter }))
  }

  /** A hall's provisioned boards (not revoked), and word after each reload: what the hall view follows. */
  provisionedBoards(hall: string): { current(): string[]; onReload(listener: () => void): () => void } {
    return {
      current: () => this.principals().flatMap((p) => (p.role === 'board' && p.hall === hall && p.counter ? [p.counter] : [])),
      onReload: (listener) => this.onReload(listener),
    }
  }

  /** The principal a username stands for, without a password: for wills the broker publishes after a restart. */
  lookup(username: string): Principal | null {
    const e = this.entries.get(username)
    if (!e || e.revoked) return null
    return { username: e.username, role: e.role, hall: e.hall, counter: e.counter }
  }

  get size(): number {
    return this.entries.size
  }

  /**
   * The account a client id belongs to: the one whose username is the id, or,
   * failing that, the longest username the id starts with followed by "-".
   * Revoked entries keep their namespace. `h1-dash-2` belongs to `h1-dash`
   * unless an account `h1-dash-2` exists, so no account can reach into
   * another's ids (hub/acl.ts authorizeClientId).
   */
  clientIdOwner(clientId: string): string | null {
    if (this.entries.has(clientId)) return clientId
    for (let i = clientId.lastIndexOf('-'); i > 0; i = clientId.lastIndexOf('-', i - 1)) {
      const prefix = clientId.slice(0, i)
      if (this.entries.has(prefix)) return prefix
    }
    return null
  }

  async verify(username: string | undefined, password: Buffer | string | undefined): Promise<Principal | null> {
    if (!username || password === undefined) return null
    const entry = this.entries.get(username)
    const pw = typeof password === 'string' ? password : password.toString('utf8')
    if (!entry) return this.decoy(pw)
    const mac = this.macOf(username, pw)
    const known = this.rememberedEntry(entry, mac)
    if (known) return known
    const inFlight = `${username}\0${mac.toString('base64')}`
    let check = this.checking.get(inFlight)
    if (!check) {
      check = this.slowCheck(entry, pw, mac).finally(() => this.checking.delete(inFlight))
      this.checking.set(inFlight, check)
    }
    return check
  }

  /**
   * The principal, if this password passed scrypt before for this entry (and the entry did not
   * change since): a microsecond, no scrypt. Null says nothing about the password.
   */
  remembered(username: string | undefined, password: Buffer | string | undefined): Principal | null {
    if (!username || password === undefined) return null
    const entry = this.entries.get(username)
    if (!entry) return null
    return this.rememberedEntry(entry, this.macOf(username, typeof password === 'string' ? password : password.toString('utf8')))
  }

  /** Spends the time of a real check and finds nothing: for names that may not log in, so a prober cannot list them by timing. */
  async decoy(password: Buffer | string): Promise<null> {
    await hashPassword(typeof password === 'string' ? password : password.toString('utf8'))
    return null
  }

  private macOf(username: string, pw: string): Buffer {
    return createHmac('sha256', this.macKey).update(username).update('\0').update(pw).digest()
  }

  private rememberedEntry(entry: CredentialEntry, mac: Buffer): Principal | null {
    const known = this.verified.get(entry.username)
    if (!known || known.salt !== entry.salt || known.hash !== entry.hash || !timingSafeEqual(known.mac, mac)) return null
    return entry.revoked ? null : { username: entry.username, role: entry.role, hall: entry.hall, counter: entry.counter }
  }

  private async slowCheck(entry: CredentialEntry, pw: string, mac: Buffer): Promise<Principal | null> {
    const key = await scrypt(pw, Buffer.from(entry.salt, 'base64'), KDF.keyLen, { N: entry.kdf.N, r: entry.kdf.r, p: entry.kdf.p, maxmem: 64 * 1024 * 1024 })
    const expected = Buffer.from(entry.hash, 'base64')
    if (expected.length !== key.length || !timingSafeEqual(expected, key)) return null
    if (entry.revoked) return null
    this.verified.set(entry.username, { salt: entry.salt, hash: entry.hash, mac })
    return { username: entry.username, role: entry.role, hall: entry.hall, counter: entry.counter }
  }

  /**
   * Which password an entry holds now: its salt, which every new password gets
   * anew (not a secret). A session that logged in under another one must go.
   */
  credentialVersion(username: string): string | null {
    const e = this.entries.get(username)
    return e && !e.revoked ? e.salt : null
  }

  /** Is this principal still valid? Used to drop sessions of revoked boards on reload, and of boards a newer account of their window overrides. */
  stillValid(p: Principal): boolean {
    const e = this.entries.get(p.username)
    return Boolean(e && !e.revoked && e.role === p.role && e.hall === p.hall && e.counter === p.counter && !this.superseded.has(p.username))
  }

  /**
   * The newer board account of the same window that overrides this one, if the file holds two (not revoked):
   * its login is refused, so one window never has two boards online, each able to rate its one service.
   */
  supersededBy(username: string): Superseded | null {
    return this.superseded.get(username) ?? null
  }

  stop(): void {
    this.watcher?.close()
    this.watcher = null
    if (this.reloadTimer) clearTimeout(this.reloadTimer)
    this.listeners.clear()
  }
}

import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CredentialStore, makeEntry, readCredentialFile, writeCredentialFile } from '../../hub/credentials.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { eventually } from '../support/probe.ts'
import { CapturedLog } from './support/hub-fixture.ts'

const dirs: string[] = []
const stores: CredentialStore[] = []
afterEach(async () => {
  stores.splice(0).forEach((s) => s.stop())
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function fileWith(...entries: Awaited<ReturnType<typeof makeEntry>>[]) {
  const dir = await mkdtemp(join(tmpdir(), 'creds-'))
  dirs.push(dir)
  const path = join(dir, 'credentials.json')
  await writeCredentialFile(path, entries)
  return path
}

describe('credentials', () => {
  it('stores only a salted slow hash: the password appears nowhere in the file, and equal passwords hash differently', async () => {
    const a = await makeEntry({ username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01', password: 'same-secret' })
    const b = await makeEntry({ username: 'hall-1-w02', role: 'board', hall: 'hall-1', counter: 'w02', password: 'same-secret' })
    const path = await fileWith(a, b)
    const text = await readFile(path, 'utf8')
    expect(text).not.toContain('same-secret')
    expect(a.hash).not.toBe(b.hash)
    expect(a.kdf.alg).toBe('scrypt')
  })

  it('verifies the right password, refuses wrong and unknown ones', async () => {
    const path = await fileWith(await makeEntry({ username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01', password: 'pw-1' }))
    const store = new CredentialStore({ path, log: silentLogger(), watch: false })
    await store.start()
    expect(await store.verify('hall-1-w01', Buffer.from('pw-1'))).toEqual({ username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01' })
    expect(await store.verify('hall-1-w01', Buffer.from('pw-2'))).toBeNull()
    expect(await store.verify('nobody', Buffer.from('pw-1'))).toBeNull()
    expect(await store.verify(undefined, undefined)).toBeNull()
  })

  it('remembers a verified login in memory so a reconnect skips scrypt, but never a wrong password, and forgets it when the entry changes', async () => {
    const w1 = await makeEntry({ username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01', password: 'pw-1' })
    const path = await fileWith(w1)
    const store = new CredentialStore({ path, log: silentLogger(), watch: false })
    await store.start()
    const timed = async (pw: string) => {
      const t = performance.now()
      const p = await store.verify('hall-1-w01', pw)
      return { ok: p !== null, ms: performance.now() - t }
    }
    const first = await timed('pw-1')
    const again = await timed('pw-1')
    expect(first.ok && again.ok).toBe(true)
    expect(again.ms).toBeLessThan(first.ms / 5) // scrypt costs tens of ms here; the remembered check microseconds
    const wrong = [await timed('pw-x'), await timed('pw-x')]
    expect(wrong.every((w) => !w.ok && w.ms > again.ms * 5)).toBe(true) // a wrong password pays scrypt every time
    // Replaced (a new password) and revoked entries are checked against the file again.
    const replaced = await makeEntry({ username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01', password: 'pw-new' })
    await writeCredentialFile(path, [replaced])
    await store.reload()
    expect((await timed('pw-1')).ok).toBe(false)
    expect((await timed('pw-new')).ok).toBe(true)
    await writeCredentialFile(path, [{ ...replaced, revoked: true }])
    await store.reload()
    expect((await timed('pw-new')).ok).toBe(false)
  })

  it('reloads on change without a restart: a revoked board is refused, a new one accepted', async () => {
    const w1 = await makeEntry({ username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01', password: 'pw-1' })
    const path = await fileWith(w1)
    const store = new CredentialStore({ path, log: silentLogger() })
    stores.push(store)
    await store.start()
    const w2 = await makeEntry({ username: 'hall-1-w02', role: 'board', hall: 'hall-1', counter: 'w02', password: 'pw-2' })
    await writeCredentialFile(path, [{ ...w1, revoked: true }, w2])
    await eventually(async () => (await store.verify('hall-1-w02', 'pw-2')) !== null, 5000, 'the new board to be accepted')
    expect(await store.verify('hall-1-w01', 'pw-1')).toBeNull()
  })

  it('keeps the last good set when the file is broken, and names what is wrong', async () => {
    const path = await fileWith(await makeEntry({ username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01', password: 'pw-1' }))
    const store = new CredentialStore({ path, log: silentLogger(), watch: false })
    await store.start()
    await writeFile(path, '{"version":1,"entries":[{"username":"X"}]}')
    await expect(readCredentialFile(path)).rejects.toThrow(/entries\.0\.username/)
    await expect(store.reload()).rejects.toThrow()
    expect(await store.verify('hall-1-w01', 'pw-1')).not.toBeNull()
  })

  it('names the account a client id belongs to: the username itself, else the longest username it starts with before a "-"', async () => {
    const path = await fileWith(
      await makeEntry({ username: 'hall-1', role: 'dashboard', hall: 'hall-1', counter: null, password: 'pw-d' }),
      await makeEntry({ username: 'hall-1-w01', role: 'board', hall: 'hall-1', counter: 'w01', password: 'pw-1' }),
    )
    const store = new CredentialStore({ path, log: silentLogger(), watch: false })
    stores.push(store)
    await store.start()
    expect(store.clientIdOwner('hall-1')).toBe('hall-1')
    expect(store.clientIdOwner('hall-1-cli-7')).toBe('hall-1')
    // A board's id and its namespace are the board's, even though they start with the dashboard's username.
    expect(store.clientIdOwner('hall-1-w01')).toBe('hall-1-w01')
    expect(store.clientIdOwner('hall-1-w01-x')).toBe('hall-1-w01')
    expect(store.clientIdOwner('hall-10')).toBeNull()
    expect(store.clientIdOwner('mqttjs_99')).toBeNull()
  })

  it('accounts of another hall than the hub serves are said at each load, in both languages; its own hall alone says nothing', async () => {
    const path = await fileWith(
      await makeEntry({ username: 'hall-2-w01', role: 'board', hall: 'hall-2', counter: 'w01', password: 'pw-1' }),
      await makeEntry({ username: 'hall-2-tech', role: 'technician', hall: 'hall-2', counter: null, password: 'pw-2' }),
    )
    const wrong = new CapturedLog()
    const store = new CredentialStore({ path, log: wrong.logger, watch: false, hall: 'hall-3' })
    stores.push(store)
    await store.start()
    const said = wrong.lines.filter((l) => l.level === 40)
    expect(said).toEqual([expect.objectContaining({ hall: 'hall-3', otherHalls: ['hall-2'], accounts: 2, of: 2, msg: expect.stringMatching(/^凭据文件中有 2 个账号属于其他大厅（hall-2），本集线器服务 hall-3.* \/ 2 of 2 accounts in the credentials file belong to another hall \(hall-2\) while this hub serves hall-3: they can log in but reach nothing/) })])
    const right = new CapturedLog()
    const own = new CredentialStore({ path, log: right.logger, watch: false, hall: 'hall-2' })
    stores.push(own)
    await own.start()
    expect(right.lines.filter((l) => l.level === 40)).toEqual([])
  })

  it('a missing file says how to create one, in Chinese and English', async () => {
    await expect(readCredentialFile('/nonexistent/creds.json')).rejects.toThrow('凭据文件 /nonexistent/creds.json 不存在：请用 counter-edge provision 创建 / credentials file /nonexistent/creds.json does not exist: create it with `counter-edge provision`')
  })

  it('a file that is not JSON is named as such, in Chinese and English', async () => {
    const path = await fileWith()
    await writeFile(path, '{"version":1,')
    await expect(readCredentialFile(path)).rejects.toThrow(`凭据文件 ${path} 不是有效的 JSON（可能被手工改坏了）/ credentials file ${path} is not valid JSON: `)
  })

  it('says at load which window has more than one board account, naming the one in force and the ones refused, in Chinese and English', async () => {
    const w5 = await makeEntry({ username: 'hall-1-w05', role: 'board', hall: 'hall-1', counter: 'w05', password: 'pw-1' })
    const spare = { ...(await makeEntry({ username: 'hall-1-w05-spare', role: 'board', hall: 'hall-1', counter: 'w05', password: 'pw-2' })), created: '2099-01-01T00:00:00.000Z' }
    const w6 = await makeEntry({ username: 'hall-1-w06', role: 'board', hall: 'hall-1', counter: 'w06', password: 'pw-3' })
    const old = await makeEntry({ username: 'hall-1-w06-old', role: 'board', hall: 'hall-1', counter: 'w06', password: 'pw-4' })
    const path = await fileWith(w5, spare, w6, { ...old, revoked: true })
    const log = new CapturedLog()
    const store = new CredentialStore({ path, log: log.logger, watch: false, hall: 'hall-1' })
    stores.push(store)
    await store.start()
    const said = log.lines.filter((l) => l.level === 50).map((l) => String(l.msg))
    expect(said).toEqual([
      '窗口 w05 有 2 个板卡账号：只有最新发放的 "hall-1-w05-spare" 能登录，"hall-1-w05" 的登录一律被拒绝；请用 counter-edge provision --revoke --username … 吊销不用的账号 / ' +
        'window w05 has 2 board accounts: only the newest, "hall-1-w05-spare", may log in, and "hall-1-w05" is refused at every login; revoke the account not in use with counter-edge provision --revoke --username …',
    ])
  })
})

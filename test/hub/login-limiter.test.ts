import { describe, it, expect, beforeAll, afterAll, afterEach, vi } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { CredentialStore } from '../../hub/credentials.ts'
import { HubCounters } from '../../hub/hub-counters.ts'
import { DEFAULT_LIMITS, resolveLimits } from '../../hub/limits.ts'
import { hubConfigSchema } from '../../hub/config.ts'
import { LoginLimiter, type LoginLimits, type LoginResult } from '../../hub/login-limiter.ts'
import { user, writeUsers } from './support/hub-fixture.ts'

/**
 * The login limiter against a real credentials file and real scrypt; time is Vitest's fake clock
 * (only Date is faked: scrypt's own completion is real work, not a timer).
 */

const H = 'h1'
const boards = Array.from({ length: 20 }, (_, i) => user('board', H, `w${String(i + 1).padStart(2, '0')}`))
const w01 = boards[0]!
const tech = user('technician', H)

const LIMITS: LoginLimits = {
  ...DEFAULT_LIMITS,
  loginFailuresPerAddress: 5,
  loginFailureRefillMsPerAddress: 1_000,
  loginFailuresPerAccount: 4,
  loginFailureRefillMsPerAccount: 10_000,
  loginFailuresUnknownUsers: 3,
  loginFailureRefillMsUnknownUsers: 5_000,
  maxConcurrentPasswordChecks: 2,
  maxQueuedPasswordChecks: 64,
  maxTrackedLogins: 50,
}

let dir: string
let credentials: CredentialStore

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'limiter-'))
  await writeUsers(join(dir, 'credentials.json'), [...boards, tech])
  credentials = new CredentialStore({ path: join(dir, 'credentials.json'), log: silentLogger(), watch: false })
  await credentials.start()
})
afterAll(async () => {
  credentials.stop()
  await rm(dir, { recursive: true, force: true })
})
afterEach(() => {
  vi.useRealTimers()
})

function limiter(limits: Partial<LoginLimits> = {}): { l: LoginLimiter; counters: HubCounters } {
  vi.useFakeTimers({ toFake: ['Date'] })
  const counters = new HubCounters()
  return { l: new LoginLimiter({ limits: { ...LIMITS, ...limits }, credentials, counters }), counters }
}

const kinds = (rs: LoginResult[]) => rs.map((r) => (r.ok ? 'ok' : r.kind === 'login-backoff' ? `backoff:${r.bucket}` : r.kind === 'login-busy' ? `busy:${r.why}` : r.kind))

async function ok(l: LoginLimiter, address: string, u: { username: string; password: string }) {
  const r = await l.login({ address, username: u.username, password: u.password })
  if (!r.ok) throw new Error(`expected ${u.username} from ${address} in, got ${JSON.stringify(r)}`)
  r.settle('succeeded')
  return r
}

describe('login limiter', () => {
  it('parallel guesses from one address: only the address bucket’s worth reach scrypt', async () => {
    const { l, counters } = limiter()
    const rs = await Promise.all(boards.map((b) => l.login({ address: '10.0.0.1', username: b.username, password: 'guess' })))
    expect(counters.passwordChecks).toBe(LIMITS.loginFailuresPerAddress)
    expect(kinds(rs).filter((k) => k === 'bad-credentials')).toHaveLength(5)
    expect(kinds(rs).filter((k) => k === 'backoff:address')).toHaveLength(15)
    // The right password from there is refused too, before any check; another address is not affected.
    expect(kinds([await l.login({ address: '10.0.0.1', username: w01.username, password: w01.password })])).toEqual(['backoff:address'])
    expect(counters.passwordChecks).toBe(5)
    await ok(l, '10.0.0.2', boards[1]!)
  })

  it('a valid login between guesses gives back only its own token: the failures stay counted', async () => {
    const { l } = limiter()
    const from = '10.0.1.1'
    const guess = (i: number) => l.login({ address: from, username: boards[i]!.username, password: 'guess' })
    const seen: LoginResult[] = []
    for (let i = 0; i < 4; i++) {
      seen.push(await guess(i + 2))
      await ok(l, from, w01)
    }
    seen.push(await guess(7), await guess(8))
    expect(kinds(seen)).toEqual(['bad-credentials', 'bad-credentials', 'bad-credentials', 'bad-credentials', 'bad-credentials', 'backoff:address'])
    // Even the right, remembered password waits for the refill now.
    const held = await l.login({ address: from, username: w01.username, password: w01.password })
    expect(kinds([held])).toEqual(['backoff:address'])
    vi.advanceTimersByTime(1_000)
    await ok(l, from, w01)
  })

  it('rotating addresses share the account’s bucket; the address the account logs in from stays open', async () => {
    const { l, counters } = limiter()
    await ok(l, '10.0.2.200', w01) // the board's own address, known before the attack
    const checksBefore = counters.passwordChecks
    const seen: LoginResult[] = []
    for (let i = 0; i < 12; i++) seen.push(await l.login({ address: `10.0.2.${i + 1}`, username: w01.username, password: `guess-${i}` }))
    expect(kinds(seen).filter((k) => k === 'bad-credentials')).toHaveLength(LIMITS.loginFailuresPerAccount)
    expect(kinds(seen).slice(4).every((k) => k === 'backoff:account')).toBe(true)
    expect(counters.passwordChecks - checksBefore).toBe(4)
    // The right password from yet another address is held with the guesses; from the board's own address it gets in.
    expect(kinds([await l.login({ address: '10.0.2.99', username: w01.username, password: w01.password })])).toEqual(['backoff:account'])
    const back = await ok(l, '10.0.2.200', w01)
    expect(back.remembered).toBe(true)
  })

  it('unknown usernames share one bucket and cost a check like a wrong password', async () => {
    const { l, counters } = limiter()
    const seen: LoginResult[] = []
    for (let i = 0; i < 6; i++) seen.push(await l.login({ address: `10.0.3.${i + 1}`, username: `nobody-${i}`, password: 'guess' }))
    expect(kinds(seen)).toEqual(['bad-credentials', 'bad-credentials', 'bad-credentials', 'backoff:unknown-users', 'backoff:unknown-users', 'backoff:unknown-users'])
    expect(seen[0]).toMatchObject({ why: 'unknown-user' })
    expect(counters.passwordChecks).toBe(3) // each refused name before the bucket ran dry cost a (decoy) check
    await ok(l, '10.0.3.50', boards[2]!) // known accounts are not held by it
    vi.advanceTimersByTime(5_000)
    expect(kinds([await l.login({ address: '10.0.3.9', username: 'nobody-9', password: 'guess' })])).toEqual(['bad-credentials'])
  })

  it('bounds the password checks: one check at a time per account, a full queue refused at once, a remembered password never waits', async () => {
    const { l, counters } = limiter({ maxConcurrentPasswordChecks: 1, maxQueuedPasswordChecks: 2 })
    await ok(l, '10.0.4.100', boards[10]!) // remembered from here on
    const checksBefore = counters.passwordChecks
    const attempts = [2, 3, 4, 5, 6].map((i) => l.login({ address: `10.0.4.${i}`, username: boards[i]!.username, password: 'guess' }))
    // Another attempt on an account with a check under way waits for its turn instead of taking a second place.
    const sameAccount = l.login({ address: '10.0.4.20', username: boards[2]!.username, password: 'other-guess' })
    // While the queue is full, the remembered board is let in without waiting for anything.
    expect(l.tables().queued).toBe(2)
    const quick = await ok(l, '10.0.4.100', boards[10]!)
    expect(quick.remembered).toBe(true)
    expect(l.tables().queued).toBeGreaterThan(0)
    const rs = await Promise.all(attempts)
    expect(kinds(rs)).toEqual(['bad-credentials', 'bad-credentials', 'bad-credentials', 'busy:queue-full', 'busy:queue-full'])
    expect(kinds([await sameAccount])).toEqual(['bad-credentials'])
    // Three checks for the five accounts, and the one that waited for its account's turn.
    expect(counters.passwordChecks - checksBefore).toBe(4)
    // A refusal for want of room spent no token: the same address tries again and is checked.
    expect(kinds([await l.login({ address: '10.0.4.5', username: boards[5]!.username, password: 'guess' })])).toEqual(['bad-credentials'])
  })

  it('many clients of one account, and from one address, logging in together all get in: they wait for the tokens the others hold', async () => {
    const { l, counters } = limiter({ loginFailuresPerAddress: 3, loginFailuresPerAccount: 3 })
    // Each login settled as it is let in, as the broker does.
    const rs = await Promise.all(
      Array.from({ length: 12 }, () =>
        l.login({ address: '10.0.9.1', username: boards[14]!.username, password: boards[14]!.password }).then((r) => {
          if (r.ok) r.settle('succeeded')
          return r
        }),
      ),
    )
    expect(rs.map((r) => r.ok)).toEqual(Array(12).fill(true))
    // One scrypt check; the others waited their turn and found the password remembered.
    expect(counters.passwordChecks).toBe(1)
    // Guesses do not get that far: failures keep their tokens, so the waiting ones are refused without a check.
    const guesses = await Promise.all(Array.from({ length: 12 }, (_, i) => l.login({ address: '10.0.9.2', username: boards[15]!.username, password: `guess-${i}` })))
    expect(kinds(guesses).filter((k) => k === 'bad-credentials')).toHaveLength(3)
    expect(counters.passwordChecks).toBe(4)
  })

  it('at most 16 attempts wait for one account\'s turn; the next is refused at once', async () => {
    const { l } = limiter({ loginFailuresPerAddress: 100, loginFailuresPerAccount: 100 })
    const rs = Array.from({ length: 17 }, (_, i) => l.login({ address: `10.0.10.${i + 1}`, username: boards[16]!.username, password: `guess-${i}` }))
    expect(kinds([await rs[16]!])).toEqual(['busy:account-check-pending'])
    expect(kinds(await Promise.all(rs.slice(0, 16)))).toEqual(Array(16).fill('bad-credentials'))
  })

  it('an account screened out answers as an unknown name, costs the same check, and its right password is not remembered', async () => {
    const { l, counters } = limiter()
    const screen = () => 'no-dashboard-rights'
    const right = await l.login({ address: '10.0.5.1', username: boards[12]!.username, password: boards[12]!.password, screen })
    const wrong = await l.login({ address: '10.0.5.2', username: boards[12]!.username, password: 'guess', screen })
    expect(right).toEqual(wrong)
    expect(right).toMatchObject({ ok: false, kind: 'bad-credentials', why: 'unknown-user', screened: 'no-dashboard-rights' })
    expect(counters.passwordChecks).toBe(2)
    // Not remembered: the first real login of that account still pays scrypt.
    const first = await ok(l, '10.0.5.3', boards[12]!)
    expect(first.remembered).toBe(false)
    expect(counters.passwordChecks).toBe(3)
  })

  it('a login turned away after the check (settle failed) counts as a failure; released does not', async () => {
    const { l } = limiter({ loginFailuresPerAddress: 2 })
    const from = '10.0.6.1'
    const a = await l.login({ address: from, username: boards[13]!.username, password: boards[13]!.password })
    if (!a.ok) throw new Error('expected a right password to pass the check')
    a.settle('released')
    const b = await l.login({ address: from, username: boards[13]!.username, password: boards[13]!.password })
    if (!b.ok) throw new Error('expected the right password in again')
    b.settle('failed')
    const c = await l.login({ address: from, username: boards[13]!.username, password: boards[13]!.password })
    if (!c.ok) throw new Error('one token left')
    c.settle('failed')
    expect(kinds([await l.login({ address: from, username: boards[13]!.username, password: boards[13]!.password })])).toEqual(['backoff:address'])
  })

  it('keeps its tables bounded: a cap on addresses, and refilled buckets dropped', async () => {
    const { l } = limiter({ loginFailuresPerAddress: 1, loginFailuresUnknownUsers: 1_000, loginFailureRefillMsUnknownUsers: 1 })
    // No password at all: a failure that costs no check, so the loop is quick.
    for (let i = 0; i < 120; i++) await l.login({ address: `10.1.${i >> 8}.${i & 255}`, username: `nobody-${i}`, password: undefined })
    expect(l.tables().addresses).toBe(LIMITS.maxTrackedLogins)
    vi.advanceTimersByTime(61_000)
    await l.login({ address: '10.9.9.9', username: 'nobody', password: undefined })
    expect(l.tables().addresses).toBe(1)
  })
})

describe('login limits in the hub config', () => {
  it('reads the old backoff names as the per-address bucket, and documents every new one with a default', () => {
    const parsed = hubConfigSchema.parse({ hall: H, port: 0, credentialsFile: 'c.json', limits: { freeLoginFailures: 3, loginBackoffBaseMs: 500, loginBackoffMaxMs: 9_000, maxQueuedPasswordChecks: 8 } })
    const limits = resolveLimits(parsed.limits)
    expect(limits).toMatchObject({ loginFailuresPerAddress: 3, loginFailureRefillMsPerAddress: 500, maxQueuedPasswordChecks: 8, loginFailuresPerAccount: DEFAULT_LIMITS.loginFailuresPerAccount })
    expect(limits).not.toHaveProperty('loginBackoffMaxMs')
    // The new name wins over the old where both are given.
    expect(resolveLimits({ freeLoginFailures: 3, loginFailuresPerAddress: 7 }).loginFailuresPerAddress).toBe(7)
    expect(() => hubConfigSchema.parse({ hall: H, port: 0, credentialsFile: 'c.json', limits: { loginFailuresPerAcount: 3 } })).toThrow(/loginFailuresPerAcount/)
  })
})

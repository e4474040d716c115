import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_LIMITS } from '../../hub/limits.ts'
import { user, connectAs, writeUsers, type TestUser } from '../hub/support/hub-fixture.ts'
import { HubProcess } from '../hub/support/hub-process.ts'
import { freePort } from '../support/ports.ts'

/**
 * Issue 20 D against a real hub process at its default limits: each attack on the login that got
 * through before — guesses in parallel, a valid login between guesses, rotating source addresses,
 * unknown usernames, a storm of attempts while a board logs in, and the dashboard's HTTP login —
 * and what holds now. Password checks are counted from the hub's /metrics
 * (counter_edge_password_checks_total). Each case uses its own accounts and loopback addresses,
 * because the limiter's buckets are per address and per account.
 */

const H = 'h1'
const boards = Object.fromEntries(Array.from({ length: 12 }, (_, i) => `w${String(i + 1).padStart(2, '0')}`).map((c) => [c, user('board', H, c)])) as Record<string, TestUser>
const b = (c: string) => boards[c]!
const tech = user('technician', H)
const dash = user('dashboard', H)
const L = DEFAULT_LIMITS

/** What one MQTT login attempt got: in, or the CONNACK return code, or a closed socket. */
async function attempt(port: number, u: { username: string; password: string; role?: TestUser['role']; hall?: string; counter?: string | null }, from: string): Promise<'in' | number | 'closed'> {
  try {
    const c = await connectAs(port, { role: 'board', hall: H, counter: null, ...u }, { from })
    await c.endAsync(true)
    return 'in'
  } catch (err) {
    const code = (err as { code?: unknown }).code
    return typeof code === 'number' ? code : 'closed'
  }
}

describe('issue 20 D: login attacks against a hub process at its default limits', () => {
  let dir: string
  let hub: HubProcess
  let port: number
  let httpPort: number

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'login-attacks-'))
    port = await freePort()
    httpPort = await freePort()
    await writeUsers(join(dir, 'credentials.json'), [...Object.values(boards), tech, dash])
    await writeFile(join(dir, 'hub.json'), JSON.stringify({ hall: H, host: '127.0.0.1', port, http: { port: httpPort }, credentialsFile: join(dir, 'credentials.json') }))
    hub = await HubProcess.start(join(dir, 'hub.json'), port)
  })
  afterAll(async () => {
    if (hub?.alive) await hub.kill('SIGTERM')
    await rm(dir, { recursive: true, force: true })
  })

  /** Password checks (scrypt, or its decoy for an unknown name) the hub has run so far. */
  async function passwordChecks(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    const m = /^counter_edge_password_checks_total\{[^}]*\} (\d+)$/m.exec(text)
    if (!m) throw new Error(`no counter_edge_password_checks_total in /metrics:\n${text}`)
    return Number(m[1])
  }

  /** Refusals of one kind the hub counted (every one: the log limiter holds back lines, never counts). */
  async function refused(kind: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    const m = new RegExp(`^counter_edge_refusals_total\\{[^}]*kind="${kind}"[^}]*\\} (\\d+)$`, 'm').exec(text)
    return m ? Number(m[1]) : 0
  }

  /** Refusal lines of one kind the hub logged, with their fields. */
  function refusals(kind: string): Array<Record<string, unknown>> {
    return hub.output
      .split('\n')
      .filter((l) => l.includes(`"refusal":"${kind}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  }

  /** POST /api/login from a given loopback address: status, headers and body as the client saw them. */
  function dashboardLogin(from: string, body: string, contentType: string): Promise<{ status: number; body: string; type: string | undefined; cookie: string[] | undefined }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: httpPort, path: '/api/login', method: 'POST', localAddress: from, headers: { 'content-type': contentType } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), type: res.headers['content-type'], cookie: res.headers['set-cookie'] }))
      })
      req.on('error', reject)
      req.end(body)
    })
  }
  const jsonLogin = (from: string, u: { username: string; password: string }) => dashboardLogin(from, JSON.stringify({ username: u.username, password: u.password }), 'application/json')

  it('parallel guesses from one address: no more password checks than the address may fail, and one answer for all', async () => {
    // What the attack did: 200 guesses at once from one address; 167 of them got a full scrypt check.
    const before = await passwordChecks()
    const targets = ['w01', 'w02', 'w03']
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => attempt(port, { ...b(targets[i % 3]!), password: `guess-${i}` }, '127.0.0.50')))
    // Guesses that found the account's one check place taken spent nothing; guessing on spends the address's failures.
    for (let i = 0; i < L.loginFailuresPerAddress + 5; i++) results.push(await attempt(port, { ...b('w01'), password: `more-${i}` }, '127.0.0.50'))
    const checks = (await passwordChecks()) - before
    console.log(`parallel: ${results.length} guesses from one address (200 at once), ${checks} password checks`)
    expect(results.filter((r) => r === 'in')).toHaveLength(0)
    expect(checks).toBeLessThanOrEqual(L.loginFailuresPerAddress)
    expect(checks).toBeGreaterThan(0)
    // Every attempt answered CONNACK 4, whether its password was checked or not.
    expect(new Set(results)).toEqual(new Set([4]))
    // The right password from that address now gets the very same answer, without a check.
    expect(await attempt(port, b('w01'), '127.0.0.50')).toBe(4)
    expect((await passwordChecks()) - before).toBe(checks)
    expect(refusals('login-backoff').some((l) => l.address === '127.0.0.50' && l.bucket === 'address')).toBe(true)
    // Another address is not held.
    expect(await attempt(port, b('w02'), '127.0.0.51')).toBe('in')
  })

  it('a valid login between guesses does not reset the limit', async () => {
    // What the attack did: an account the attacker owns logged in between guesses, and each success wiped the count.
    const from = '127.0.0.52'
    const before = await passwordChecks()
    const backoffBefore = await refused('login-backoff')
    const results: Array<'in' | number | 'closed'> = []
    for (let i = 0; i < 3 * L.loginFailuresPerAddress; i++) {
      results.push(await attempt(port, { ...b('w04'), password: `guess-${i}` }, from))
      await attempt(port, b('w05'), from) // the attacker's own, valid account
    }
    const checks = (await passwordChecks()) - before
    console.log(`valid between guesses: ${results.length} guesses, ${checks} password checks`)
    expect(results.filter((r) => r === 'in')).toHaveLength(0)
    // The guesses that reached a check: the address's bucket and no more; the valid account's first login is the one other check.
    expect(checks).toBeLessThanOrEqual(L.loginFailuresPerAddress + 1)
    // Counted, not read from the log: past its first lines per address the log sums refusals up.
    expect((await refused('login-backoff')) - backoffBefore).toBeGreaterThanOrEqual(3 * L.loginFailuresPerAddress - L.loginFailuresPerAddress)
  })

  it('rotating source addresses: the account holds, the board still logs in from its own address', async () => {
    const victim = b('w06')
    expect(await attempt(port, victim, '127.0.0.99')).toBe('in') // the board's own address, before the attack
    const before = await passwordChecks()
    // What the attack did: a new address for every guess, so no per-address backoff ever began.
    const results: Array<'in' | number | 'closed'> = []
    for (let batch = 0; batch < 4; batch++) {
      results.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(port, { ...victim, password: `guess-${batch}-${i}` }, `127.0.5.${batch * 20 + i + 1}`)))))
    }
    for (let i = 0; i < L.loginFailuresPerAccount + 5; i++) results.push(await attempt(port, { ...victim, password: `more-${i}` }, `127.0.5.${100 + i}`))
    const checks = (await passwordChecks()) - before
    console.log(`rotating: ${results.length} guesses from as many addresses, ${checks} password checks`)
    expect(results.filter((r) => r === 'in')).toHaveLength(0)
    expect(new Set(results)).toEqual(new Set([4]))
    expect(checks).toBeLessThanOrEqual(L.loginFailuresPerAccount)
    // The right password from yet another address is held with the guesses, by the same answer…
    const heldBefore = await refused('login-backoff')
    expect(await attempt(port, victim, '127.0.5.200')).toBe(4)
    expect((await refused('login-backoff')) - heldBefore).toBe(1)
    // …and the board, from the address it logs in from, gets in.
    expect(await attempt(port, victim, '127.0.0.99')).toBe('in')
  })

  // Before the unknown-names case: an account without dashboard rights is limited with the unknown names.
  it('the dashboard login: one answer for a right password without rights and a wrong one, JSON only, and the same limiter', async () => {
    const wrong = await jsonLogin('127.0.8.1', { ...tech, password: 'guess' })
    const boardRight = await jsonLogin('127.0.8.2', b('w09'))
    const dashRight = await jsonLogin('127.0.8.3', dash)
    const unknown = await jsonLogin('127.0.8.4', { username: `${H}-nobody`, password: 'guess' })
    // What the hub did: a right password on an account that may not act answered "may not act on windows".
    expect(wrong.status).toBe(401)
    for (const r of [boardRight, dashRight, unknown]) expect({ status: r.status, body: r.body, type: r.type, cookie: r.cookie }).toEqual({ status: wrong.status, body: wrong.body, type: wrong.type, cookie: wrong.cookie })
    expect(wrong.body).toMatch(/wrong username or password/)
    expect(wrong.body).toMatch(/[\u4e00-\u9fff]/)

    // A cross-site form can send text/plain or a form without asking: neither is read, even with the right password.
    const body = JSON.stringify({ username: tech.username, password: tech.password })
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await dashboardLogin('127.0.8.5', body, type)
      expect(r.status).toBe(415)
      expect(r.cookie).toBeUndefined()
      expect(r.body).toMatch(/application\/json/)
      expect(r.body).toMatch(/[\u4e00-\u9fff]/)
    }
    const ok = await jsonLogin('127.0.8.5', tech)
    expect(ok.status).toBe(200)
    expect(ok.cookie?.[0]).toMatch(/^ce_session=/)

    // The same limiter as MQTT: an address that spent its failures on MQTT guesses is held at the dashboard too,
    // whatever the password (a refusal before any check: visible, but the same for right and wrong).
    for (let i = 0; i < L.loginFailuresPerAddress; i++) await attempt(port, { ...b('w10'), password: `guess-${i}` }, '127.0.8.9')
    const heldRight = await jsonLogin('127.0.8.9', tech)
    const heldWrong = await jsonLogin('127.0.8.9', { ...tech, password: 'guess' })
    expect(heldRight.status).toBe(429)
    expect({ status: heldWrong.status, body: heldWrong.body }).toEqual({ status: heldRight.status, body: heldRight.body })
    expect((await jsonLogin('127.0.8.10', tech)).status).toBe(200)
  })

  it('unknown usernames: checked like a wrong password, then limited by one shared bucket', async () => {
    const wrongBefore = await passwordChecks()
    for (let i = 0; i < 3; i++) expect(await attempt(port, { ...b('w07'), password: `guess-${i}` }, `127.0.6.${i + 1}`)).toBe(4)
    const wrongChecks = (await passwordChecks()) - wrongBefore
    const before = await passwordChecks()
    const started = Date.now()
    for (let i = 0; i < 3; i++) expect(await attempt(port, { username: `${H}-nobody-${i}`, password: `guess-${i}` }, `127.0.6.${i + 10}`)).toBe(4)
    // An unknown name costs the hub the same check as a wrong password, so its answer takes as long.
    expect((await passwordChecks()) - before).toBe(wrongChecks)
    // What the attack did: unknown names were never counted at all. Now they all drain one bucket, whatever the address.
    const heldBefore = await refused('login-backoff')
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt(port, { username: `${H}-ghost-${i}`, password: 'guess' }, `127.0.7.${i + 1}`)))
    for (let i = 0; i < L.loginFailuresUnknownUsers + 5; i++) results.push(await attempt(port, { username: `${H}-spectre-${i}`, password: 'guess' }, `127.0.7.${150 + i}`))
    const checks = (await passwordChecks()) - before
    console.log(`unknown names: ${results.length + 3} names from as many addresses, ${checks} password checks`)
    expect(new Set(results)).toEqual(new Set([4]))
    // The shared bucket's size, and what it refilled meanwhile.
    expect(checks).toBeLessThanOrEqual(L.loginFailuresUnknownUsers + Math.ceil((Date.now() - started) / L.loginFailureRefillMsUnknownUsers))
    // Held by the shared bucket without a check (counted: the log sums a storm's lines up).
    expect((await refused('login-backoff')) - heldBefore).toBeGreaterThan(0)
    // A known account from a fresh address is not held by it.
    expect(await attempt(port, b('w08'), '127.0.6.50')).toBe('in')
  })

  it('a valid board logs in while 400 attempts are in flight', async () => {
    const known = b('w11')
    const first = b('w12')
    expect(await attempt(port, known, '127.0.9.1')).toBe('in') // it has logged in before: the hub remembers its password
    const before = await passwordChecks()
    // What the attack did: 400 attempts queued for scrypt ahead of a board, whose login then took 9 s (it waits 10).
    const targets = [b('w01'), b('w02'), b('w03'), b('w04'), b('w11'), tech, dash]
    const storm = Array.from({ length: 400 }, (_, i) => {
      const t = i % 8 === 7 ? { username: `${H}-ghost-storm-${i}`, password: 'guess' } : { ...targets[i % targets.length]!, password: `storm-${i}` }
      return attempt(port, t, `127.0.10.${(i % 200) + 1}`)
    })
    // Both boards log in while the storm is in flight: one remembered, one whose first login this is.
    const [knownIn, firstIn] = await Promise.all([attempt(port, known, '127.0.9.1'), attempt(port, first, '127.0.9.2')])
    const results = await Promise.all(storm)
    const checks = (await passwordChecks()) - before
    console.log(`storm: 400 attempts, ${checks} password checks`)
    expect(knownIn).toBe('in')
    expect(firstIn).toBe('in')
    // Before, nearly every one of the 400 queued for scrypt; now the buckets and one check place per account turn most away unhashed.
    expect(checks).toBeLessThan(100)
    expect(results.filter((r) => r === 'in')).toHaveLength(0)
    expect(new Set(results)).toEqual(new Set([4]))
    expect(hub.alive).toBe(true)
  }, 60_000)
})

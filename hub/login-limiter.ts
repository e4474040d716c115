import { normalizeAddress } from './address-guards.ts'
import type { CredentialStore, Principal } from './credentials.ts'
import { FailureBuckets } from './failure-buckets.ts'
import type { HubCounters } from './hub-counters.ts'
import type { HubLimits } from './limits.ts'

export type LoginLimits = Pick<
  HubLimits,
  | 'loginFailuresPerAddress'
  | 'loginFailureRefillMsPerAddress'
  | 'loginFailuresPerAccount'
  | 'loginFailureRefillMsPerAccount'
  | 'loginFailuresUnknownUsers'
  | 'loginFailureRefillMsUnknownUsers'
  | 'maxConcurrentPasswordChecks'
  | 'maxQueuedPasswordChecks'
  | 'maxTrackedLogins'
>

/** How long an address an account logged in from stays exempt from that account's bucket. */
const KNOWN_ADDRESS_MS = 24 * 3600_000
/** The key of the one bucket (and queue place) every unknown username shares. */
const UNKNOWN = '\0unknown'
/**
 * Attempts that may wait for one account's turn (its checks run one at a time). Enough for the
 * clients of one account logging in together; a guesser gains no more than this many places.
 */
const MAX_WAITING_PER_ACCOUNT = 16

export interface LoginAttempt {
  address: string | undefined
  username: string | undefined
  password: Buffer | string | undefined
  /**
   * Why this account may not log in here whatever its password (another hall, a certificate of
   * another name, no right to the dashboard), or null. Asked before any password check: such an
   * account is treated exactly as an unknown username, so a right password on it cannot be told
   * from a wrong one, by answer or by time.
   */
  screen?: (p: Principal) => string | null
}

/** Why an attempt was refused. Every kind gets the same answer on the wire; only the log tells them apart. */
export type LoginRefusal =
  | { ok: false; kind: 'bad-credentials'; why: 'wrong-password' | 'unknown-user' | 'no-password'; screened: string | null }
  | { ok: false; kind: 'login-backoff'; bucket: 'address' | 'account' | 'unknown-users'; retryInMs: number }
  | { ok: false; kind: 'login-busy'; why: 'account-check-pending' | 'queue-full' }

export interface LoginAdmitted {
  ok: true
  principal: Principal
  /** From the attempt's arrival to its answer: queueing and the password check. */
  checkMs: number
  /** The password passed before and was recognised without scrypt. */
  remembered: boolean
  /**
   * What became of the login after the caller's own checks: `succeeded` gives back the tokens it
   * took and makes its address known to the account; `failed` keeps them spent, like a wrong
   * password; `released` gives them back only (a right password turned away for another reason).
   */
  settle(outcome: 'succeeded' | 'failed' | 'released'): void
}

export type LoginResult = LoginAdmitted | LoginRefusal

type TokenResult = { ok: true } | { ok: false; retryInMs: number }

/** Password checks running at once, and a bounded queue for the rest. */
class CheckSlots {
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  /** Runs the job when a slot is free; null at once when the queue is full. */
  run<T>(job: () => Promise<T>): Promise<T> | null {
    if (this.running >= this.concurrency && this.waiting.length >= this.maxQueued) return null
    const start = async (): Promise<T> => {
      try {
        return await job()
      } finally {
        this.running--
        const next = this.waiting.shift()
        if (next) {
          this.running++
          next()
        }
      }
    }
    if (this.running < this.concurrency) {
      this.running++
      return start()
    }
    return new Promise<void>((r) => this.waiting.push(r)).then(start)
  }

  get queued(): number {
    return this.waiting.length
  }
}

/**
 * The one limiter of password logins, MQTT and the dashboard alike (docs/architecture.md §6).
 * Before a password is checked an attempt takes a token from its address's bucket and from its
 * account's (all unknown usernames share one); an empty bucket refuses it without hashing. A
 * remembered password is let in at once, never behind anyone's scrypt. Everything else waits for
 * one of a few scrypt slots in a bounded queue where each account, and all unknown names together,
 * take their turns one at a time (at most 16 waiting). Failures keep their tokens; a success gives back only its own.
 */
export class LoginLimiter {
  private readonly byAddress: FailureBuckets
  private readonly byAccount: FailureBuckets
  private readonly unknownUsers: FailureBuckets
  private readonly slots: CheckSlots
  /** Per account (and the unknown-name key): the turn of its last attempt, and how many wait for theirs. */
  private readonly turns = new Map<string, { tail: Promise<void>; waiting: number }>()
  /** Per bucket key (address or account): tokens taken by attempts not yet ended, and attempts waiting for one. */
  private readonly holding = new Map<string, number>()
  private readonly tokenWaiters = new Map<string, Array<() => void>>()
  /** `${username}\0${address}` → when that account last logged in from there. */
  private readonly knownAddresses = new Map<string, number>()

  constructor(
    private readonly opts: { limits: LoginLimits; credentials: CredentialStore; counters: HubCounters; now?: () => number },
  ) {
    const l = opts.limits
    const now = opts.now ?? Date.now
    this.byAddress = new FailureBuckets({ capacity: l.loginFailuresPerAddress, refillMs: l.loginFailureRefillMsPerAddress, maxEntries: l.maxTrackedLogins }, now)
    // Accounts are as many as the credentials file holds; the cap only guards against a file of millions.
    this.byAccount = new FailureBuckets({ capacity: l.loginFailuresPerAccount, refillMs: l.loginFailureRefillMsPerAccount, maxEntries: l.maxTrackedLogins }, now)
    this.unknownUsers = new FailureBuckets({ capacity: l.loginFailuresUnknownUsers, refillMs: l.loginFailureRefillMsUnknownUsers, maxEntries: 1 }, now)
    this.slots = new CheckSlots(Math.max(1, l.maxConcurrentPasswordChecks), l.maxQueuedPasswordChecks)
  }

  private get now(): number {
    return (this.opts.now ?? Date.now)()
  }

  async login(a: LoginAttempt): Promise<LoginResult> {
    const started = this.now
    const address = normalizeAddress(a.address)
    const { username, password } = a
    const entry = username ? this.opts.credentials.lookup(username) : null
    const screened = entry && a.screen ? a.screen(entry) : null
    // An account that may log in here; anything else is limited and checked as an unknown name.
    const account = entry && !screened ? entry.username : null

    const addressTag = `a\0${address}`
    let byAddress = this.takeWaiting(this.byAddress, address, addressTag)
    if (byAddress instanceof Promise) byAddress = await byAddress
    if (!byAddress.ok) return { ok: false, kind: 'login-backoff', bucket: 'address', retryInMs: byAddress.retryInMs }
    const exempt = account !== null && this.isKnown(account, address)
    const second = account === null ? this.unknownUsers : exempt ? null : this.byAccount
    const secondKey = account ?? UNKNOWN
    const secondTag = `s\0${secondKey}`
    if (second) {
      let r = this.takeWaiting(second, secondKey, secondTag)
      if (r instanceof Promise) r = await r
      if (!r.ok) {
        this.byAddress.giveBack(address)
        this.release(addressTag)
        return { ok: false, kind: 'login-backoff', bucket: account === null ? 'unknown-users' : 'account', retryInMs: r.retryInMs }
      }
    }
    const giveBack = () => {
      this.byAddress.giveBack(address)
      second?.giveBack(secondKey)
    }
    // Ends this attempt's hold on its buckets (after its tokens were given back or spent), so the
    // attempts from the same address or of the same account that wait for tokens try again.
    let done = false
    const finish = () => {
      if (done) return
      done = true
      this.release(addressTag)
      if (second) this.release(secondTag)
    }
    try {
      const r = await this.check(account, username, password, screened, started, address, giveBack, finish)
      if (!r.ok) finish()
      return r
    } catch (err) {
      giveBack()
      finish()
      throw err
    }
  }

  private async check(
    account: string | null,
    username: string | undefined,
    password: Buffer | string | undefined,
    screened: string | null,
    started: number,
    address: string,
    giveBack: () => void,
    finish: () => void,
  ): Promise<LoginResult> {
    const secondKey = account ?? UNKNOWN
    if (account !== null) {
      const known = this.opts.credentials.remembered(account, password)
      if (known) return this.admitted(known, started, true, address, giveBack, finish)
    }
    if (!username || password === undefined) {
      // Nothing to check: a failure (it keeps its tokens), answered like any other.
      return { ok: false, kind: 'bad-credentials', why: 'no-password', screened }
    }
    // One check at a time per account (and for all unknown names together): the others wait their
    // turn rather than being refused, so several clients of one account logging in together (a
    // technician's tools, a board retrying) all get in; a guesser's queue for an account is short.
    const turn = this.awaitTurn(secondKey)
    if (!turn) {
      giveBack()
      return { ok: false, kind: 'login-busy', why: 'account-check-pending' }
    }
    // Taken at once when no attempt of this account is ahead, so the check is queued in this same tick.
    const endTurn = typeof turn === 'function' ? turn : await turn
    let p: Principal | null
    try {
      if (account !== null) {
        // The check ahead of this one may have been the same password, now remembered.
        const known = this.opts.credentials.remembered(account, password)
        if (known) return this.admitted(known, started, true, address, giveBack, finish)
      }
      const check = this.slots.run(() => {
        this.opts.counters.passwordChecks++
        return account !== null ? this.opts.credentials.verify(account, password) : this.opts.credentials.decoy(password)
      })
      if (!check) {
        giveBack()
        return { ok: false, kind: 'login-busy', why: 'queue-full' }
      }
      p = await check
    } finally {
      endTurn()
    }
    if (!p) return { ok: false, kind: 'bad-credentials', why: account !== null ? 'wrong-password' : 'unknown-user', screened }
    return this.admitted(p, started, false, address, giveBack, finish)
  }

  /**
   * A token from `key`'s bucket. When the bucket is empty only because attempts still in progress
   * hold its tokens (several clients from one address, or of one account, logging in together),
   * waits for one of them to end and tries again: a success gives its token back, a failure keeps
   * it. Refused at once when nothing holds a token, or when `maxQueuedPasswordChecks` already wait.
   */
  private takeWaiting(buckets: FailureBuckets, key: string, tag: string): TokenResult | Promise<TokenResult> {
    const r = buckets.take(key)
    if (r.ok) {
      this.holding.set(tag, (this.holding.get(tag) ?? 0) + 1)
      return { ok: true }
    }
    const waiting = this.tokenWaiters.get(tag) ?? []
    if ((this.holding.get(tag) ?? 0) === 0 || waiting.length >= this.opts.limits.maxQueuedPasswordChecks) return { ok: false, retryInMs: r.retryInMs }
    return new Promise<void>((wake) => {
      waiting.push(wake)
      this.tokenWaiters.set(tag, waiting)
    }).then(() => this.takeWaiting(buckets, key, tag))
  }

  /** An attempt holding a token of `tag` ended: every attempt waiting on it tries again. */
  private release(tag: string): void {
    const n = (this.holding.get(tag) ?? 1) - 1
    if (n > 0) this.holding.set(tag, n)
    else this.holding.delete(tag)
    const waiting = this.tokenWaiters.get(tag)
    if (!waiting) return
    this.tokenWaiters.delete(tag)
    for (const wake of waiting) wake()
  }

  /**
   * Resolves when this attempt's turn at its account has come, with the function that ends the
   * turn; null at once when `MAX_WAITING_PER_ACCOUNT` attempts already wait for that account.
   */
  private awaitTurn(key: string): (() => void) | Promise<() => void> | null {
    let chain = this.turns.get(key)
    if (!chain) {
      chain = { tail: Promise.resolve(), waiting: 0 }
      this.turns.set(key, chain)
    }
    if (chain.waiting >= MAX_WAITING_PER_ACCOUNT) return null
    const c = chain
    c.waiting++
    let end!: () => void
    const mine = new Promise<void>((r) => (end = r))
    const first = c.waiting === 1
    const before = c.tail
    c.tail = before.then(() => mine)
    let ended = false
    const endTurn = () => {
      if (ended) return
      ended = true
      c.waiting--
      if (c.waiting === 0 && this.turns.get(key) === c) this.turns.delete(key)
      end()
    }
    return first ? endTurn : before.then(() => endTurn)
  }

  private admitted(p: Principal, started: number, remembered: boolean, address: string, giveBack: () => void, finish: () => void): LoginAdmitted {
    let settled = false
    return {
      ok: true,
      principal: p,
      checkMs: this.now - started,
      remembered,
      settle: (outcome) => {
        if (settled) return
        settled = true
        if (outcome !== 'failed') giveBack()
        if (outcome === 'succeeded') this.remember(p.username, address)
        finish()
      },
    }
  }

  private isKnown(username: string, address: string): boolean {
    const at = this.knownAddresses.get(`${username}\0${address}`)
    return at !== undefined && this.now - at < KNOWN_ADDRESS_MS
  }

  private remember(username: string, address: string): void {
    const key = `${username}\0${address}`
    this.knownAddresses.delete(key)
    this.knownAddresses.set(key, this.now)
    // Oldest first in the map: past the cap, and once expired, they go.
    for (const [k, at] of this.knownAddresses) {
      if (this.knownAddresses.size <= this.opts.limits.maxTrackedLogins && this.now - at < KNOWN_ADDRESS_MS) break
      this.knownAddresses.delete(k)
    }
  }

  /** Sizes of the limiter's tables, for tests and the log: each stays bounded. */
  tables(): { addresses: number; accounts: number; knownAddresses: number; queued: number } {
    return { addresses: this.byAddress.size, accounts: this.byAccount.size, knownAddresses: this.knownAddresses.size, queued: this.slots.queued }
  }
}

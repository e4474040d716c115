/**
 * Persistent sessions (clean session off) per account.
 *
 * Each persistent session that subscribes gets its own copy of every matching
 * message queued while it is offline. 200 offline sessions of the read-only
 * account subscribed to the hall's events turned 50 events into 10,000 queued
 * copies (issue 20, G), on the disk the custody log shares. The queue cap
 * bounds one session (QueueCappedPersistence); this bounds how many sessions
 * one account may hold, so an account's share of the disk is at most
 * cap × queue cap messages. A board has one anyway (its id is its username).
 *
 * A session is held from the CONNECT that made it until a clean CONNECT under
 * its id ends it, or until its client leaves having subscribed to nothing
 * (then there is nothing of it in the store). After a restart the hub learns
 * the held sessions from the store (openSessionPersistence's sessionClientIds);
 * a cluster node counts only the sessions made through it since it started.
 */
export type QuotaDecision = { ok: true } | { ok: false; held: string[] }

export class SessionQuota {
  /** Client ids with a persistent session, by account. */
  private readonly byAccount = new Map<string, Set<string>>()
  private readonly accountOf = new Map<string, string>()

  constructor(private readonly maxPerAccount: number) {}

  /** Sessions a previous run left in the store; ids no account owns are left out (nobody can log in under them). */
  load(sessions: Iterable<{ clientId: string; account: string | null }>): void {
    for (const s of sessions) if (s.account) this.hold(s.account, s.clientId)
  }

  /**
   * Whether the account may hold a persistent session under this id: always when it holds one under
   * it already (a reconnect), else only below the cap. An admitted id is held from here on.
   */
  admit(account: string, clientId: string): QuotaDecision {
    const held = this.byAccount.get(account)
    if (held?.has(clientId)) return { ok: true }
    if ((held?.size ?? 0) >= this.maxPerAccount) return { ok: false, held: [...held!].sort() }
    this.hold(account, clientId)
    return { ok: true }
  }

  /** The session under this id has ended (a clean CONNECT wiped it, or nothing of it was stored). */
  release(clientId: string): void {
    const account = this.accountOf.get(clientId)
    if (account === undefined) return
    this.accountOf.delete(clientId)
    const held = this.byAccount.get(account)
    held?.delete(clientId)
    if (held?.size === 0) this.byAccount.delete(account)
  }

  holds(clientId: string): boolean {
    return this.accountOf.has(clientId)
  }

  count(account: string): number {
    return this.byAccount.get(account)?.size ?? 0
  }

  private hold(account: string, clientId: string): void {
    this.release(clientId)
    this.accountOf.set(clientId, account)
    let held = this.byAccount.get(account)
    if (!held) {
      held = new Set()
      this.byAccount.set(account, held)
    }
    held.add(clientId)
  }
}

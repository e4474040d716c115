/**
 * Why the hub turned something away. Each refusal is logged with its kind and
 * counted here, so /metrics (issue 7) and tests read the same numbers.
 */
export const REFUSAL_KINDS = [
  'empty-client-id', // CONNECT with no client id and clean session off (MQTT-3.1.3-8)
  'bad-credentials', // unknown user, wrong or revoked password, no password
  'client-id-mismatch', // a client id outside the account's own (a board: its username; others: username or username-suffix)
  'superseded-account', // a board account whose window has a newer board account in the credentials file: one board per window
  'cert-mismatch', // TLS client certificate CN differs from the username
  'login-backoff', // a failure bucket (of the address, the account, or all unknown names) is empty: refused before any password check
  'login-busy', // no room for another password check now (the account's one queue place taken, or the queue full): refused without hashing
  'stale-login', // the password check outlasted the client's CONNACK wait; answered "server unavailable"
  'connection-cap', // too many open connections from one address
  'connection-rate', // connections opened too fast from one address
  'tls-handshake', // no or untrusted client certificate, or a broken handshake
  'will-denied', // a last will on a topic the client may not publish
  'acl-publish',
  'acl-subscribe',
  'acl-forward', // a message for a client outside what it may read (a session stored by an older hub): not delivered, cleared from its queue
  'stored-filter', // a filter in a stored session the ACL refuses (written by an older hub): removed at start
  'retained-command', // a command with the retain flag: a replayed call would show a stale number
  'payload-too-large',
  'topic-too-deep',
  'offline-queue-full', // a message dropped for a client whose queue is at its cap
  'session-cap', // a new persistent session of an account already holding maxPersistentSessionsPerAccount: CONNACK 5
  'subscription-cap', // a filter past maxSubscriptionsPerClient on one connection: SUBACK 0x80, the connection stays
  'slow-reader', // a client that took nothing from its socket for drainTimeoutMs while messages for it waited: closed
  'malformed-packet', // a packet that does not parse, or a stored will at a QoS MQTT does not have; only that client is closed, the will deleted
  'unsupported-protocol', // a CONNECT of a protocol version the hub does not speak (MQTT 5): CONNACK 1
  'revoked-session', // a connected client whose credentials were revoked or changed
  'store-unavailable', // a cluster's Redis failed or was away while handling a client's packet (its session, subscriptions, queue): not the client's fault
  'custody-write-failed', // the custody log could not make a message durable: no PUBACK, the board retries
  'quarantine-failed', // a board's own message for the quarantine could not be kept there (file full, disk error): refused, the board keeps it
  'invalid-qos0', // a board's QoS 0 message that breaks its schema: dropped where no one reads it, never retained (QoS 0 has no acknowledgement to keep it for)
] as const

export type RefusalKind = (typeof REFUSAL_KINDS)[number]

/**
 * Why a board's own message was acknowledged into the quarantine (hub/quarantine.ts) instead of
 * refused: the refusal it would otherwise have been, or a payload that breaks its schema.
 */
export const QUARANTINE_KINDS = ['acl-publish', 'payload-too-large', 'topic-too-deep', 'invalid-payload'] as const

export type QuarantineKind = (typeof QUARANTINE_KINDS)[number]

/** Counters the hub keeps for its logs now and /metrics later (issue 7). */
export class HubCounters {
  /** Failed logins of any kind (wrong password, identity mismatch, backoff). */
  authFailures = 0
  /** Password checks run (scrypt, or its decoy for an unknown name), MQTT and dashboard together. */
  passwordChecks = 0
  /** Publishes and subscriptions refused by the ACL. */
  aclDenials = 0
  /** Messages made durable in the custody log. */
  custodyAppended = 0
  bridgedUp = 0
  bridgedDown = 0
  refusedDown = 0
  /** Commands the hub answered itself instead of passing them to a board (hub/command-gate.ts), by the reply's code. */
  readonly commandsRefused: Record<string, number> = {}
  /** Offline statuses ignored by the hall view because a newer boot is already online. */
  staleWills = 0
  /** Board messages acknowledged into the quarantine, by why they could not be accepted. */
  readonly quarantined: Record<QuarantineKind, number> = Object.fromEntries(QUARANTINE_KINDS.map((k) => [k, 0])) as Record<QuarantineKind, number>
  readonly refusals: Record<RefusalKind, number> = Object.fromEntries(REFUSAL_KINDS.map((k) => [k, 0])) as Record<RefusalKind, number>

  private readonly quarantineListeners = new Set<() => void>()

  commandRefused(code: string): void {
    this.commandsRefused[code] = (this.commandsRefused[code] ?? 0) + 1
  }

  /** A board message went into the quarantine (the dashboard shows how many). */
  quarantine(kind: QuarantineKind): void {
    this.quarantined[kind]++
    for (const l of this.quarantineListeners) l()
  }

  get quarantinedTotal(): number {
    return QUARANTINE_KINDS.reduce((n, k) => n + this.quarantined[k], 0)
  }

  onQuarantine(listener: () => void): () => void {
    this.quarantineListeners.add(listener)
    return () => this.quarantineListeners.delete(listener)
  }

  refuse(kind: RefusalKind): void {
    this.refusals[kind]++
    if (kind === 'bad-credentials' || kind === 'client-id-mismatch' || kind === 'cert-mismatch' || kind === 'login-backoff' || kind === 'login-busy') this.authFailures++
    if (kind === 'acl-publish' || kind === 'acl-subscribe' || kind === 'retained-command') this.aclDenials++
  }
}

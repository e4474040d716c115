import { MAX_PAYLOAD_BYTES } from '../edge/protocol/index.ts'

/**
 * The hub's limits (docs/architecture.md §6). Defaults suit a hall of up to a few hundred
 * windows on one network; every one can be set in the hub config.
 */
export interface HubLimits {
  /**
   * Largest payload a client may publish. The contract's own limit: a larger
   * message could never be valid, so it is refused before it costs a parse.
   */
  maxPayloadBytes: number
  /** Deepest topic a client may publish or subscribe to; the contract's deepest has 6 levels. */
  maxTopicLevels: number
  /**
   * Open connections from one address. A hall's boards each have their own
   * address; the simulator runs a whole hall on loopback, hence the room.
   */
  maxConnectionsPerAddress: number
  /** New connections from one address: a burst, then a steady rate (token bucket). */
  connectBurstPerAddress: number
  connectsPerSecondPerAddress: number
  /**
   * Failed logins are held by token buckets (hub/login-limiter.ts): every login attempt takes a
   * token from its address's bucket and from its account's (or, for a username the hub does not
   * know, from one bucket all unknown names share) before its password is checked; a failure keeps
   * the token, a success gives back only its own, so a valid login between guesses resets nothing.
   * With a bucket empty the attempt is refused before any password check, with the same CONNACK
   * as a wrong password. An empty bucket gets one token back per refill interval.
   *
   * Per address: room for a mistyped password, and for the boards behind one NAT address, which
   * share it. Replaces `freeLoginFailures` (read as this when given) and the doubling backoff.
   */
  loginFailuresPerAddress: number
  /** One failure back per this long for an address. Replaces `loginBackoffBaseMs` (read as this when given). */
  loginFailureRefillMsPerAddress: number
  /**
   * Per account, whatever address the guesses come from (rotating addresses share it). An address
   * the account logged in from within the last day is exempt, so guessers cannot lock a board out
   * of the address it normally uses; a board's first login from a new address can be held while
   * its account is being guessed.
   */
  loginFailuresPerAccount: number
  loginFailureRefillMsPerAccount: number
  /** One bucket for every username the hub does not know (and accounts that may not log in there). */
  loginFailuresUnknownUsers: number
  loginFailureRefillMsUnknownUsers: number
  /**
   * Password checks (scrypt, ~40 ms of one core each) running at once; the rest wait in a queue.
   * A password that passed before is recognised without scrypt and never waits here.
   */
  maxConcurrentPasswordChecks: number
  /**
   * Checks that may wait for a free slot; past it an attempt is refused at once without hashing.
   * Each account (and all unknown names together) holds at most one place, so guessing one
   * account cannot crowd out another's login: a board waits at most one check per other account.
   */
  maxQueuedPasswordChecks: number
  /** Addresses tracked by the login limiter (buckets, addresses known per account); the least recently seen go first. */
  maxTrackedLogins: number
  /**
   * A login whose password check took longer than this (a storm of first
   * logins queued for scrypt) is answered CONNACK 3, server unavailable,
   * instead of accepted: the client has most likely given up waiting (boards
   * wait 10 s) and reconnected, perhaps to another node of a cluster, whose
   * live session accepting the stale attempt would take away. A client still
   * waiting retries, and its next check is instant. 0 (the default): no
   * limit, because the board link of this release, on mqtt.js's own
   * reconnect, stops for good after any refused CONNACK; set it (8000 suits
   * boards' 10 s wait) once boards reconnect after a refusal.
   */
  staleLoginMs: number
  /**
   * Messages the hub keeps for one client with a persistent session (clean
   * session off) that it has not yet acknowledged: queued while it is offline
   * plus in flight. Past the cap new messages for that client are dropped,
   * as Mosquitto's max_queued_messages does: commands carry an expiry, so the
   * oldest are the first to be worthless, but dropping the newest keeps the
   * queue an untouched prefix of what central sent, which central can reason
   * about from the replies it did get.
   */
  maxQueuedPerClient: number
  /**
   * Size of the quarantine file (hub/quarantine.ts): board messages acknowledged although the hub
   * could not accept them. Past it, such messages are refused again (the board keeps them) until a
   * technician moves the file away.
   */
  maxQuarantineBytes: number
  /**
   * What one board's messages may take of the quarantine file. One board sending what the hub cannot
   * take (16 KiB at a time, as fast as it can) filled the whole file in seconds, and from then on every
   * other board's first such message was refused on every retry and its journal stalled. Past its
   * share a board's such messages are refused (it keeps them); the others' are still kept.
   */
  maxQuarantineBytesPerBoard: number
  /**
   * A TLS handshake not finished within this is closed. Node's own timeout (120 s) only reported
   * it and left the socket open, so connections that never finish held their slots for ever.
   */
  tlsHandshakeTimeoutMs: number
  /**
   * Persistent sessions (clean session off) one account may hold. Each one that subscribes gets its
   * own queued copy of every matching message while offline: 200 sessions of the read-only account
   * turned 50 events into 10,000 queued copies (issue 20, G). Past the cap a new persistent session
   * is refused (CONNACK 5); a reconnect under an id the account already holds is not. A board has
   * one session anyway (its client id is its username).
   */
  maxPersistentSessionsPerAccount: number
  /**
   * Distinct filters one connection may hold. The hall's own clients hold at most four; a reader of
   * every window's status and state in a hall of a few hundred windows stays well below. Without it
   * one read-only login subscribed 400,000 filters in half a minute, 100 MB more of the hub's memory
   * and growing, and a board's PUBACK waited seconds meanwhile. Past it a filter gets SUBACK 0x80.
   */
  maxSubscriptionsPerClient: number
  /**
   * A client whose socket takes nothing for this long while messages for it wait is closed (Aedes's
   * drainTimeout). Until then the publisher whose message waits for it is held too: a reader that
   * stopped reading held one board's messages for this whole time.
   */
  drainTimeoutMs: number
  /** Dashboard live streams (GET /api/live) open at once; past it: 503 (hub/dashboard/live-streams.ts). */
  maxLiveStreams: number
  /** Live streams open at once from one address; past it: 503. */
  maxLiveStreamsPerAddress: number
  /**
   * Bytes one live stream may have waiting in the hub beyond its socket. A reader that lets more
   * pile up is not reading and is dropped, so readers cost at most maxLiveStreams times this.
   */
  maxLiveStreamBufferedBytes: number
  /** Live-stream frames are gathered this long and written to each stream at once (0: every frame at once). */
  liveStreamBatchMs: number
  /**
   * Refusal log lines (hub/log-limiter.ts): per kind, and per kind for one address,
   * the first lines of each window are written; the rest are counted into one summary line at the
   * window's end. /metrics counts every refusal regardless.
   */
  refusalLogLinesPerKind: number
  refusalLogLinesPerAddress: number
  refusalLogWindowMs: number
}

export const DEFAULT_LIMITS: Readonly<HubLimits> = {
  maxPayloadBytes: MAX_PAYLOAD_BYTES,
  maxTopicLevels: 8,
  maxConnectionsPerAddress: 256,
  connectBurstPerAddress: 300,
  connectsPerSecondPerAddress: 30,
  loginFailuresPerAddress: 10,
  loginFailureRefillMsPerAddress: 30_000,
  loginFailuresPerAccount: 10,
  loginFailureRefillMsPerAccount: 60_000,
  loginFailuresUnknownUsers: 20,
  loginFailureRefillMsUnknownUsers: 5_000,
  maxConcurrentPasswordChecks: 2,
  maxQueuedPasswordChecks: 200,
  maxTrackedLogins: 10_000,
  staleLoginMs: 0,
  maxQueuedPerClient: 1_000,
  maxQuarantineBytes: 64 * 1024 * 1024,
  maxQuarantineBytesPerBoard: 1024 * 1024,
  tlsHandshakeTimeoutMs: 10_000,
  maxPersistentSessionsPerAccount: 8,
  maxSubscriptionsPerClient: 1_000,
  drainTimeoutMs: 30_000,
  maxLiveStreams: 256,
  maxLiveStreamsPerAddress: 16,
  maxLiveStreamBufferedBytes: 64 * 1024,
  liveStreamBatchMs: 50,
  refusalLogLinesPerKind: 100,
  refusalLogLinesPerAddress: 10,
  refusalLogWindowMs: 10_000,
}

/**
 * Names of the login backoff before the token buckets (issue 20 D), still read: `freeLoginFailures`
 * as `loginFailuresPerAddress`, `loginBackoffBaseMs` as `loginFailureRefillMsPerAddress`;
 * `loginBackoffMaxMs` is accepted and has no effect (no wait is longer than one refill interval).
 */
export interface LegacyLoginLimits {
  freeLoginFailures?: number
  loginBackoffBaseMs?: number
  loginBackoffMaxMs?: number
}
export const LEGACY_LOGIN_LIMITS = ['freeLoginFailures', 'loginBackoffBaseMs', 'loginBackoffMaxMs'] as const

export function resolveLimits(partial: (Partial<HubLimits> & LegacyLoginLimits) | undefined): HubLimits {
  const { freeLoginFailures, loginBackoffBaseMs, loginBackoffMaxMs: _noEffect, ...given } = partial ?? {}
  const out: HubLimits = {
    ...DEFAULT_LIMITS,
    ...(freeLoginFailures !== undefined ? { loginFailuresPerAddress: freeLoginFailures } : {}),
    ...(loginBackoffBaseMs !== undefined ? { loginFailureRefillMsPerAddress: loginBackoffBaseMs } : {}),
    ...given,
  }
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`hub limit ${k} must be a number ≥ 0, not ${String(v)}`)
  }
  return out
}

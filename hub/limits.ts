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
  /** Failed logins an address may make before backoff starts: room for a mistyped password. */
  freeLoginFailures: number
  /** First backoff after the free failures; it doubles with every further failure. */
  loginBackoffBaseMs: number
  loginBackoffMaxMs: number
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
  freeLoginFailures: 5,
  loginBackoffBaseMs: 2_000,
  loginBackoffMaxMs: 5 * 60_000,
  staleLoginMs: 0,
  maxQueuedPerClient: 1_000,
  maxQuarantineBytes: 64 * 1024 * 1024,
  maxQuarantineBytesPerBoard: 1024 * 1024,
  tlsHandshakeTimeoutMs: 10_000,
  maxPersistentSessionsPerAccount: 8,
  maxLiveStreams: 256,
  maxLiveStreamsPerAddress: 16,
  maxLiveStreamBufferedBytes: 64 * 1024,
  liveStreamBatchMs: 50,
  refusalLogLinesPerKind: 100,
  refusalLogLinesPerAddress: 10,
  refusalLogWindowMs: 10_000,
}

export function resolveLimits(partial: Partial<HubLimits> | undefined): HubLimits {
  const out = { ...DEFAULT_LIMITS, ...(partial ?? {}) }
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`hub limit ${k} must be a number ≥ 0, not ${String(v)}`)
  }
  return out
}

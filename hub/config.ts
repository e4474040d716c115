import { z } from 'zod'
import { idSchema } from '../edge/protocol/index.ts'
import { announcerConfigSchema } from './announcer/announcer-config.ts'
import { HallClock } from './announcer/hall-clock.ts'
import { DEFAULT_LIMITS, LEGACY_LOGIN_LIMITS, type HubLimits, type LegacyLoginLimits } from './limits.ts'

const port = z.number().int().min(0).max(65535)

// One optional number per limit, keyed by DEFAULT_LIMITS so a new limit is configurable the day it exists.
// The names the login backoff had before the token buckets are still read (hub/limits.ts resolveLimits says as what).
const limitsShape = Object.fromEntries([...Object.keys(DEFAULT_LIMITS), ...LEGACY_LOGIN_LIMITS].map((k) => [k, z.number().min(0).optional()])) as {
  [K in keyof HubLimits | keyof LegacyLoginLimits]: z.ZodOptional<z.ZodNumber>
}

export const redisSchema = z.strictObject({
  /** redis://[:password@]host:port[/db] */
  url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
  /** Halls sharing a Redis need distinct prefixes. */
  prefix: z.string().min(1).optional().describe('key and channel prefix; default counter-edge:{hall}:'),
  /** Without renewal the lease lapses after this long: central's longest gap in bridging after a node dies. */
  leaseMs: z.number().int().min(500).optional().describe('bridge lease lifetime (default 10000)'),
  minReplicas: z.number().int().min(0).optional().describe('Redis replicas that must confirm a custody write (WAIT)'),
  /** A node refuses a Redis that would lose acknowledged messages (hub/redis-durability.ts) unless this says the loss is accepted. */
  allowVolatileRedis: z.boolean().optional().describe('start on a Redis without appendonly yes / appendfsync always, accepting the loss of acknowledged messages'),
  /** For a Redis that refuses CONFIG (so the hub cannot read its persistence): the operator states it is durable. */
  declaredDurable: z.boolean().optional().describe('the Redis refuses CONFIG: state that it runs appendonly yes and appendfsync always'),
  /** Boards spread back over the nodes when one returns (hub/board-rebalancer.ts): one quiet window per round, per node. */
  rebalance: z
    .strictObject({
      off: z.boolean().default(false).describe('never let a board go to spread them'),
      everyMs: z.number().int().min(500).default(5_000).describe('one round (at most one board let go by this node) this often'),
      settleMs: z.number().int().min(0).default(10_000).describe('a board is let go only after its session here lasted this long (at least 4 s)'),
      holdMs: z.number().int().min(0).default(120_000).describe('a board back within this long of being let go stays this long'),
    })
    .prefault({})
    .describe('spreading the boards back over the nodes when one returns'),
})

function validTimeZone(zone: string): boolean {
  try {
    new HallClock(zone)
    return true
  } catch {
    return false
  }
}

/**
 * The hall screen (综合屏) at `/screen` (hub/dashboard/hall-screen-feed.ts): open
 * to anyone on the hall network like the dashboard, so it shows nothing
 * personal unless the hall says so here.
 */
export const hallScreenConfigSchema = z.strictObject({
  /** The heading, e.g. the hall's name. */
  title: z.string().min(1).max(40).default('政务服务大厅'),
  /** Show the officer's name on each window (their state says it): off unless the hall publishes who serves where. */
  officerNames: z.boolean().default(false),
  /** English beside the Chinese; a screen's `?en=0` or `?en=1` overrides it. */
  english: z.boolean().default(true),
  /** Calls listed below the latest one. */
  recentCalls: z.number().int().min(1).max(20).default(8),
  /** The line of hall notices along the bottom, one entry per notice. */
  notices: z.array(z.string().min(1).max(200)).max(20).default([]),
  /** The hall's time zone for the clock; default the announcer's, else Asia/Shanghai. */
  timeZone: z.string().refine(validTimeZone, { error: 'an IANA time zone such as "Asia/Shanghai"' }).optional(),
})

export type HallScreenConfig = z.output<typeof hallScreenConfigSchema>

/** What startHub takes: the hub config file, or the same built from flags or by a test. */
export const hubConfigSchema = z.strictObject({
  hall: idSchema,
  /** Address of the MQTT listener (and of HTTP, unless http.host says otherwise). */
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port (tests). */
  port,
  /**
   * false: no plain TCP listener, MQTT over TLS (and WebSocket, if configured) only. With client
   * certificates required on TLS, a plain listener would let the same password in without one.
   */
  plainTcp: z.boolean().default(true).describe('false: TLS only (needs tls); the plain MQTT port is not opened'),
  credentialsFile: z.string(),
  /**
   * Where sessions (LevelDB) and the custody log live. Without it both are in
   * memory: fine for tests, but a restart then loses what central has not acknowledged.
   */
  dataDir: z.string().optional().describe('sessions and the custody log (LevelDB); without it a restart loses the backlog'),
  upstream: z
    .strictObject({
      url: z.string(),
      username: z.string().optional(),
      password: z.string().optional(),
      clientId: z.string().optional(),
      /** PEM files for an mqtts:// central. */
      caFile: z.string().optional(),
      certFile: z.string().optional(),
      keyFile: z.string().optional(),
    })
    .optional(),
  /** MQTT over TLS; with requestCert, a client certificate whose CN equals the username is required too. */
  tls: z.strictObject({ port, host: z.string().optional(), certFile: z.string(), keyFile: z.string(), caFile: z.string().optional(), requestCert: z.boolean().optional() }).optional(),
  /** MQTT over WebSocket for the dashboard. */
  ws: z.strictObject({ port, host: z.string().optional(), path: z.string().optional() }).optional(),
  /** The dashboard page, its live stream and /metrics over HTTP. */
  http: z
    .strictObject({
      port,
      host: z.string().optional(),
      /** Officer names and ids to dashboard viewers who have not logged in (docs/operations.md): off unless the hall publishes who serves where. */
      officerNames: z.boolean().optional().describe('show officer names on the dashboard without a technician login (default false)'),
    })
    .optional()
    .describe('dashboard and /metrics'),
  limits: z.strictObject(limitsShape).optional(),
  /**
   * Broker heartbeat (default 15 s). After a crash, the wills of boards that
   * never came back are published within four heartbeats of the restart.
   */
  heartbeatMs: z.number().int().min(100).optional(),
  bridge: z
    .strictObject({
      window: z.number().int().min(1).optional(),
      reconnectMinMs: z.number().int().min(0).optional(),
      reconnectMaxMs: z.number().int().min(0).optional(),
      returnProbeMs: z.number().int().min(0).optional(),
      stateIntervalMs: z.number().int().min(0).optional(),
      /** How long a message from central may wait for its boards' PUBACK before the hub writes it to disk and acknowledges it to central (default 50). */
      deliveryDeadlineMs: z.number().int().min(1).optional(),
    })
    .optional(),
  /**
   * Run as one node of a hall cluster: messages between nodes, sessions and
   * the custody log in this Redis; the bridge on one node at a time (a lease).
   * Excludes dataDir: nothing of the hall is kept on the node's own disk.
   */
  redis: redisSchema.optional().describe('run as a node of a hall cluster on this Redis (excludes dataDir)'),
  /** The hall's voice caller (hub/announcer/, docs/operations.md): absent, the hub says nothing. */
  announcer: announcerConfigSchema.optional().describe('the voice caller: voice pack, output (aplay or a directory of WAV files), template, quiet hours'),
  /** The hall screen at /screen (served with the dashboard, so only when http is set). */
  screen: hallScreenConfigSchema.prefault({}).describe('the hall screen (综合屏) at /screen: title, notices, officer names (off), English, recent calls, time zone'),
  /**
   * Fleet updates (hub/fleet/, docs/operations.md "Updating a hall"): the hall's release public key
   * that every uploaded release must be signed for, and where releases are kept (default: dataDir/releases).
   */
  releases: z
    .strictObject({
      publicKey: z.string().min(1).describe("path to the hall's ed25519 release public key (PEM)"),
      dir: z.string().optional().describe('where uploaded releases are kept (default: <dataDir>/releases)'),
      maxBytes: z.number().int().min(1).optional().describe('largest payload accepted (default 256 MiB)'),
      confirmMarginS: z.number().int().min(0).optional().describe('seconds past a board\'s confirmWithinS before a silent board counts as failed (default 60): its download and restart'),
    })
    .optional()
    .describe('fleet updates: the hall release key and the release store; without it uploads are refused'),
  /** This node's name in a cluster (default: the host name); logs and hub/status carry it. */
  node: idSchema.optional().describe("this node's name in the cluster (default: host name)"),
})

/**
 * The hub's config file (`counter-edge hub --config`): the same fields, but
 * an installed hub listens on every address and the MQTT port unless told
 * otherwise, where one started in a test or the simulator stays on loopback.
 */
export const hubFileSchema = hubConfigSchema.extend({
  host: z.string().default('0.0.0.0'),
  port: port.default(1883),
})

/** A hub config as written: defaults may be left out. */
export type HubConfig = z.input<typeof hubConfigSchema>
/** A hub config with its defaults filled in, as the hub runs with it. */
export type ResolvedHubConfig = z.output<typeof hubConfigSchema>

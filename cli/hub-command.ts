import { idSchema } from '../edge/protocol/index.ts'
import { createLogger } from '../edge/shared/logger.ts'
import { startHub } from '../hub/main.ts'
import { hubFileSchema, redisSchema, type HubConfig } from '../hub/config.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { readConfigFile } from './config-file.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

function portFlag(v: unknown, flag: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${flag} 须为端口号（0–65535），不是 "${String(v)}" / --${flag} must be a port number (0–65535), not "${String(v)}"`)
  return n
}

export const hubCommand: Subcommand = {
  name: 'hub',
  summary: COMMAND_SUMMARIES.hub,
  usage: 'counter-edge hub --config hub.json [--redis redis://host:6379 --node a] | --hall hall-1 --credentials creds.json --data-dir /var/lib/counter-edge [--upstream mqtt://central:1883]',
  options: {
    config: { type: 'string', description: 'JSON 配置文件：{hall, host, port, credentialsFile, dataDir, upstream, tls, ws, http, limits, bridge} / JSON file: {hall, host, port, credentialsFile, dataDir, upstream, tls, ws, http, limits, bridge}' },
    hall: { type: 'string', description: '大厅 id / hall id' },
    host: { type: 'string', default: '0.0.0.0', description: '监听地址 / address to listen on' },
    port: { type: 'string', default: '1883', description: 'MQTT 端口 / MQTT port' },
    credentials: { type: 'string', description: '账号文件（见 `counter-edge provision`） / credentials file (see `counter-edge provision`)' },
    'data-dir': { type: 'string', description: '会话和保管日志的目录；不给则只存在内存中 / directory for sessions and the custody log; without it they live in memory' },
    upstream: { type: 'string', description: '中心代理地址，如 mqtt://central.example:1883（密码取自 COUNTER_EDGE_UPSTREAM_PASSWORD） / central broker, e.g. mqtt://central.example:1883 (password from COUNTER_EDGE_UPSTREAM_PASSWORD)' },
    'upstream-username': { type: 'string', description: '中心代理的用户名 / username at the central broker' },
    'tls-port': { type: 'string', description: '同时在此端口监听 TLS 上的 MQTT / also listen for MQTT over TLS on this port' },
    'tls-cert': { type: 'string', description: 'TLS 监听的 PEM 证书 / PEM certificate of the TLS listener' },
    'tls-key': { type: 'string', description: 'TLS 监听的 PEM 私钥 / PEM private key of the TLS listener' },
    'tls-ca': { type: 'string', description: '客户端证书的 PEM CA / PEM CA for client certificates' },
    'tls-request-cert': { type: 'boolean', default: false, description: '要求客户端证书由 --tls-ca 签发，且其 CN 等于用户名 / require a client certificate signed by --tls-ca whose CN equals the username' },
    'ws-port': { type: 'string', description: '同时在此端口监听 WebSocket 上的 MQTT（路径 /mqtt），供看板使用 / also listen for MQTT over WebSocket (path /mqtt) on this port, for the dashboard' },
    'http-port': { type: 'string', description: '在此端口通过 HTTP 提供大厅看板和 /metrics / serve the hall dashboard and /metrics over HTTP on this port' },
    redis: { type: 'string', description: '作为大厅集群的一个节点运行，使用此 Redis，如 redis://redis.hall-1.lan:6379（也可写在 --config 中） / run as a node of a hall cluster on this Redis, e.g. redis://redis.hall-1.lan:6379 (also with --config)' },
    node: { type: 'string', description: '本节点在集群中的名称（默认：主机名；也可写在 --config 中） / this node\'s name in the cluster (default: host name; also with --config)' },
  },
  async run(v) {
    let config: HubConfig
    if (v.config) {
      config = await readConfigFile(v.config as string, hubFileSchema)
      // The upstream password may stay out of the config file (systemd EnvironmentFile, mode 600).
      if (config.upstream && config.upstream.password === undefined && process.env.COUNTER_EDGE_UPSTREAM_PASSWORD) {
        config.upstream = { ...config.upstream, password: process.env.COUNTER_EDGE_UPSTREAM_PASSWORD }
      }
    } else {
      if (!v.hall || !v.credentials) throw new UsageError('请给出 --config，或 --hall 和 --credentials / give --config, or --hall and --credentials')
      config = { hall: v.hall as string, host: v.host as string, port: portFlag(v.port, 'port'), credentialsFile: v.credentials as string }
      if (v['data-dir']) config.dataDir = v['data-dir'] as string
      if (v.upstream) {
        config.upstream = { url: v.upstream as string, username: v['upstream-username'] as string | undefined, password: process.env.COUNTER_EDGE_UPSTREAM_PASSWORD }
      }
      if (v['tls-port'] !== undefined) {
        if (!v['tls-cert'] || !v['tls-key']) throw new UsageError('--tls-port 需要 --tls-cert 和 --tls-key / --tls-port needs --tls-cert and --tls-key')
        config.tls = {
          port: portFlag(v['tls-port'], 'tls-port'),
          certFile: v['tls-cert'] as string,
          keyFile: v['tls-key'] as string,
          ...(v['tls-ca'] ? { caFile: v['tls-ca'] as string } : {}),
          requestCert: Boolean(v['tls-request-cert']),
        }
      }
      if (v['ws-port'] !== undefined) config.ws = { port: portFlag(v['ws-port'], 'ws-port') }
      if (v['http-port'] !== undefined) config.http = { port: portFlag(v['http-port'], 'http-port') }
    }
    if (v.redis !== undefined) {
      const r = redisSchema.shape.url.safeParse(v.redis)
      if (!r.success) throw new UsageError(`--redis 须为 redis:// 地址，不是 "${String(v.redis)}" / --redis must be a redis:// URL, not "${String(v.redis)}"`)
      config.redis = { ...config.redis, url: r.data }
    }
    if (v.node !== undefined) {
      if (!idSchema.safeParse(v.node).success) throw new UsageError(`--node 须为名称，如 "a" 或 "hub-2"，不是 "${String(v.node)}" / --node must be a name like "a" or "hub-2", not "${String(v.node)}"`)
      config.node = v.node as string
    }
    if (config.redis && config.dataDir) throw new UsageError('redis 和 dataDir 不能同时使用：在集线器集群中，会话和保管日志存放在 Redis 中 / redis and dataDir exclude each other: in a hub cluster, sessions and the custody log live in Redis')
    if (!config.dataDir && !config.redis && config.upstream) {
      console.error('counter-edge hub: no data directory: the custody log is in memory, so a restart loses messages central has not acknowledged')
    }
    const log = createLogger({ name: 'hub' })
    const hub = await startHub(config, log)
    return () => hub.stop()
  },
}

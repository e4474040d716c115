import { connect as netConnect } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import type { IClientOptions, MqttClient } from 'mqtt'
// The client alone, not mqtt's index: that one loads the WebSocket and SOCKS transports (ws, socks and
// what they import), which connectMqtt never uses since it builds the socket itself; a board would
// parse and hold them at every start (docs/benchmarks.md, "Edge footprint").
import mqttClientModule from 'mqtt/lib/client'
import type { TurnWrites } from './turn-writes.ts'

type MqttClientClass = typeof mqttClientModule.default
// A CommonJS module with exports.default: Node's import gives its module.exports (tsx, dist/), while
// vite's interop (the tests) gives exports.default itself.
const MqttClientClass: MqttClientClass = 'default' in mqttClientModule ? mqttClientModule.default : (mqttClientModule as unknown as MqttClientClass)

export interface BrokerAddress {
  host: string
  port: number
  tls?: boolean
}

/**
 * Parses `mqtt://host:port` / `mqtts://host:port` (or bare `host:port`) into an address. Anything
 * after the port is refused rather than dropped: `mqtt//hub:1883`, its colon missing, would
 * otherwise read as host "mqtt" and leave a board retrying a host that does not exist for ever.
 */
export function parseBrokerUrl(url: string): BrokerAddress {
  const example = 'mqtt://host:1883'
  const withScheme = /^[a-z]+:\/\//.test(url) ? url : `mqtt://${url}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    const port = /:(\d+)$/.exec(withScheme)?.[1]
    if (port !== undefined && Number(port) > 65535) throw new Error(`集线器地址 "${url}" 的端口 ${port} 超出范围（1–65535） / broker address "${url}": port ${port} is out of range (1–65535)`)
    throw new Error(`集线器地址 "${url}" 不是 ${example} 这样的地址 / broker address "${url}" is not a URL like ${example}`)
  }
  const tls = u.protocol === 'mqtts:' || u.protocol === 'ssl:'
  if (!tls && u.protocol !== 'mqtt:' && u.protocol !== 'tcp:') throw new Error(`集线器地址 "${url}" 须以 mqtt:// 或 mqtts:// 开头 / broker address "${url}": scheme must be mqtt:// or mqtts://`)
  const extra = `${u.pathname === '/' ? '' : u.pathname}${u.search}${u.hash}`
  if (u.username !== '' || u.password !== '') {
    // Never echoed: the address may carry a password.
    throw new Error(`集线器地址不能带用户名或密码，请用 --username 和密码文件 / a broker address carries no user name or password: give them as the username and password options`)
  }
  if (extra !== '' || u.hostname === '') {
    const colonMissing = /^[a-z]+\/\//i.test(url)
    throw new Error(
      `集线器地址 "${url}" 只能是协议、主机和端口，如 ${example}${colonMissing ? '；协议名后是否少了冒号？' : ''}` +
        ` / broker address "${url}" must be only a scheme, a host and a port, like ${example}${colonMissing ? '; is the ":" after the scheme missing?' : ''}`,
    )
  }
  const port = u.port ? Number(u.port) : tls ? 8883 : 1883
  if (port === 0) throw new Error(`集线器地址 "${url}" 的端口 0 无法连接（1–65535） / broker address "${url}": port 0 cannot be dialled (1–65535)`)
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port, tls }
}

export interface ConnectOptions extends Omit<IClientOptions, 'host' | 'port' | 'servers'> {
  /** Tried in turn: each reconnect moves to the next address, so a board fails over between hubs. */
  addresses: BrokerAddress[]
  tls?: ConnectionOptions
  /** Writes of one event-loop turn leave as one, flushed with the process's other batched streams (edge/shared/turn-writes.ts): for a client that publishes many messages a second. */
  batchWrites?: TurnWrites
}

/**
 * An mqtt.js client whose every socket has TCP_NODELAY: with Nagle on, one QoS 1
 * round trip on loopback took 88 ms here instead of 0.3 ms. mqtt.js has no option
 * for it, so we build the stream ourselves.
 */
export function connectMqtt(opts: ConnectOptions): MqttClient {
  if (opts.addresses.length === 0) throw new Error('connectMqtt: no broker address given')
  const { addresses, tls, batchWrites, ...clientOpts } = opts
  let next = 0
  const build = () => {
    const a = addresses[next % addresses.length]!
    next++
    // node:tls is loaded at the first mqtts:// connection, not at import: a board's V8 startup snapshot
    // (cli/build/board-snapshot.ts) cannot hold its native bindings, and a plain mqtt:// board never needs it.
    const sock = a.tls
      ? process.getBuiltinModule('node:tls').connect({ host: a.host, port: a.port, servername: a.host, ...tls })
      : netConnect({ host: a.host, port: a.port })
    sock.setNoDelay(true)
    return batchWrites ? batchWrites.batch(sock) : sock
  }
  // mqtt.js traces through debug('mqttjs:client') unless given a log: about ten calls a packet, each
  // gathering its arguments into an array even with the trace off (with mqtt-packet's own, 12.7 % of the
  // hub's allocations under load; docs/benchmarks.md, issue 22, eighth pass). Left to debug when DEBUG
  // asks for any trace, so DEBUG=mqttjs* still shows it.
  const log = process.env.DEBUG ? {} : { log: ignoreTrace }
  return new MqttClientClass(build, { protocolVersion: 4, reconnectPeriod: 1000, connectTimeout: 10_000, keepalive: 30, ...log, ...clientOpts })
}

function ignoreTrace(): void {}

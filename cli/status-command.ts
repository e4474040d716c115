import { parseMessage, topics, type State, type Status, type UpdateReport } from '../edge/protocol/index.ts'
import { connectToHub, HUB_OPTIONS } from './hall-connection.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import type { ClusterView } from '../hub/dashboard/cluster-view.ts'

interface Row {
  counter: string
  status?: Status
  state?: State
  /** Where the board stands in taking a release (retained `update`). */
  update?: UpdateReport
}

/** One line per window, from the retained status and state the hub holds. */
export const statusCommand: Subcommand = {
  name: 'status',
  summary:
    '每个窗口一行（连接、状态、票号、版本、工作人员、故障、升级）；加 --dashboard 时也显示集群（租约持有者、各节点的 Redis 与板数）。退出码 0：全部在线且无故障（集群健康）；1：有窗口离线或有故障、没有窗口报到、集群需要查看或连不上集线器；2：用法错误 / one line per window of the hall: online, mode, ticket, version, officer, faults, updates; with --dashboard, the cluster too (lease holder, each node\'s Redis and boards). Exit code 0: every window online without a fault (and the cluster healthy); 1: a window is offline or has a fault, none has reported, the cluster needs a look, or the hub could not be asked; 2: wrong usage',
  usage: 'COUNTER_EDGE_PASSWORD=… counter-edge status --hub mqtt://hub:1883 --hall hall-1 --username hall-1-tech [--dashboard http://hub:8080]',
  options: {
    ...HUB_OPTIONS,
    json: { type: 'boolean', default: false, description: 'print JSON instead of lines (with --dashboard: {cluster, windows})' },
    dashboard: { type: 'string', description: "the hub's dashboard URL (its http port): shows the cluster's health from the hub's live state" },
  },
  async run(v) {
    const hall = v.hall as string
    // Asked first: a hub that does not answer here is said at once, before the MQTT part.
    const cluster = v.dashboard ? await readCluster(v.dashboard as string) : undefined
    const client = await connectToHub(v, 'status')
    const rows = new Map<string, Row>()
    client.on('message', (topic, payload) => {
      const m = parseMessage(topic, payload)
      if (!m.ok || !('counter' in m.topic)) return
      const row = rows.get(m.topic.counter) ?? { counter: m.topic.counter }
      if (m.topic.kind === 'status') row.status = m.message as Status
      if (m.topic.kind === 'state') row.state = m.message as State
      if (m.topic.kind === 'update') row.update = m.message as UpdateReport
      rows.set(m.topic.counter, row)
    })
    await client.subscribeAsync([topics.hallStatuses(hall), topics.hallStates(hall), topics.hallUpdates(hall)], { qos: 1 })
    // Retained messages arrive right after SUBACK; a short quiet period means we have them all.
    await new Promise((r) => setTimeout(r, 500))
    await client.endAsync()
    const list = [...rows.values()].sort((a, b) => a.counter.localeCompare(b.counter))
    const unhealthy = list.filter((r) => !r.status?.online || r.state?.faults.length).length
    // The exit code is for scripts and monitoring (documented in --help): 1 when any window needs a look.
    const code = list.length > 0 && unhealthy === 0 ? 0 : 1
    const clusterOk = cluster === undefined || cluster === null || clusterHealthy(cluster)
    if (v.json) {
      console.log(JSON.stringify(cluster === undefined ? list : { cluster, windows: list }, null, 2))
      return clusterOk ? code : 1
    }
    if (cluster !== undefined) console.log(formatCluster(cluster))
    if (list.length === 0) {
      console.log(`${hall} 厅还没有窗口向集线器报到 / no windows have reported to the hub for hall ${hall} (topic ${topics.hallCounters(hall)})`)
      return 1
    }
    console.log(HEADER)
    for (const r of list) console.log(formatRow(r))
    console.log(unhealthy === 0 ? `全部 ${list.length} 个窗口在线且无故障 / all ${list.length} windows online, no faults` : `${unhealthy} 个窗口需要查看 / ${unhealthy} of ${list.length} windows need a look (exit code 1)`)
    return clusterOk ? code : 1
  },
}

/** The hub's live view of its cluster (hub/dashboard/cluster-view.ts); null when the hub is no cluster node. */
async function readCluster(dashboard: string): Promise<ClusterView | null> {
  let url: URL
  try {
    url = new URL('api/cluster', dashboard.endsWith('/') ? dashboard : `${dashboard}/`)
  } catch {
    throw new UsageError(`--dashboard ${dashboard} 不是网址 / is not a URL like http://hub:8080`)
  }
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) }).catch((err: Error) => {
    throw new Error(`无法连接集线器面板 / cannot reach the hub's dashboard at ${url.origin}: ${err.message}`)
  })
  if (!res.ok) throw new Error(`集线器面板回答 / the hub's dashboard at ${url.origin} answered ${res.status} for /api/cluster (a hub older than this command?)`)
  return ((await res.json()) as { cluster: ClusterView | null }).cluster
}

/** Every node reaches Redis and some node holds the bridge lease. */
export function clusterHealthy(c: ClusterView): boolean {
  return c.leaseHolder !== null && c.nodes.every((n) => n.redisUp)
}

/** The cluster in a few lines: who bridges, and each node's Redis and boards (this node marked *). */
export function formatCluster(c: ClusterView | null): string {
  if (!c) return '集线器不是集群节点 / the hub is a single hub, not a cluster node'
  const holder = c.leaseHolder ? (c.leaseHolder.node ?? c.leaseHolder.id) : '无人持有 nobody (central is not bridged)'
  const lines = [`集群 cluster: 中心桥接租约 bridge lease held by ${holder}`, pad('  节点', 14) + pad('Redis', 22) + '窗口设备', pad('  node', 14) + pad('Redis', 22) + 'boards']
  for (const n of c.nodes) {
    const redis = n.redisUp ? `可达 up${n.redisLatencyMs === null ? '' : ` ${n.redisLatencyMs.toFixed(1)} ms`}` : '不可达 DOWN'
    lines.push(pad(`  ${n.node ?? n.id}${n.self ? ' *' : ''}${n.leaseHeld ? ' (lease)' : ''}`, 14) + pad(redis, 22) + String(n.boards))
  }
  if (!clusterHealthy(c)) lines.push('集群需要查看 / the cluster needs a look (exit code 1)')
  return lines.join('\n')
}

const COLUMNS = [7, 22, 11, 9, 14] as const

const HEADER = [
  pad('窗口', COLUMNS[0]) + pad('连接', COLUMNS[1]) + pad('状态', COLUMNS[2]) + pad('票号', COLUMNS[3]) + pad('版本', COLUMNS[4]) + '工作人员 / 提示',
  pad('window', COLUMNS[0]) + pad('link', COLUMNS[1]) + pad('mode', COLUMNS[2]) + pad('ticket', COLUMNS[3]) + pad('version', COLUMNS[4]) + 'officer / notes',
].join('\n')

const OFFLINE_WORDS: Record<string, string> = { will: 'lost', stop: 'stopped', restart: 'restarting', upgrade: 'upgrading', fault: 'fault stop' }

/** One window in fixed columns; an offline row keeps the columns (its reason is in the link column). */
export function formatRow(r: Row): string {
  const link = r.status?.online ? 'online' : r.status ? `OFFLINE (${OFFLINE_WORDS[r.status.reason] ?? r.status.reason})` : 'unknown'
  const s = r.state
  const mode = s ? s.mode : '-'
  const ticket = s?.ticket?.number ?? '-'
  const officer = s?.officer ? (s.officer.name ? `${s.officer.name} (${s.officer.id})` : s.officer.id) : 'no officer'
  const overtime = s && s.overtime !== 'none' ? `  overtime ${s.overtime}` : ''
  const faults = s?.faults.length ? `  FAULTS: ${s.faults.map((f) => `${f.device} ${f.code}`).join(', ')}` : ''
  const version = r.update?.running ?? (r.status?.online ? r.status.version : null) ?? '-'
  const u = r.update
  const updating = u && u.state !== 'idle' && u.state !== 'confirmed' ? `  UPDATE ${u.state}${u.target ? ` ${u.target}` : ''}${u.reason ? `: ${u.reason}` : ''}` : ''
  return pad(r.counter, COLUMNS[0]) + pad(link, COLUMNS[1]) + pad(mode, COLUMNS[2]) + pad(ticket, COLUMNS[3]) + pad(version, COLUMNS[4]) + officer + overtime + faults + updating
}

/** Pads to a display width: a CJK character takes two columns in a terminal. */
function pad(text: string, width: number): string {
  let w = 0
  for (const ch of text) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1
  return text + ' '.repeat(Math.max(1, width - w))
}

import { parseMessage, topics, type OfflineReason, type OvertimeLevel, type State, type Status, type UpdateReport, type UpdateStateName, type WindowMode } from '../edge/protocol/index.ts'
import { displayWidth, padToWidth } from './display-width.ts'
import { connectToHub, HUB_OPTIONS } from './hall-connection.ts'
import { retainedBurst } from './retained-burst.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import type { ClusterView } from '../hub/dashboard/cluster-view.ts'
import { faultWords } from '../hub/dashboard/fault-words.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

export interface Row {
  counter: string
  status?: Status
  state?: State
  /** Where the board stands in taking a release (retained `update`). */
  update?: UpdateReport
}

/** This long without a retained message after the SUBACK means the hub has sent all it holds. */
const RETAINED_QUIET_MS = 500

/** One line per window, from the retained status and state the hub holds. */
export const statusCommand: Subcommand = {
  name: 'status',
  summary: COMMAND_SUMMARIES.status,
  details:
    '加 --dashboard 时也显示集群（租约持有者、各节点的 Redis 与板数）。退出码 0：全部在线且无故障（集群健康）；1：有窗口离线或有故障、没有窗口报到、集群需要查看或连不上集线器；2：用法错误 / with --dashboard, the cluster too (lease holder, each node\'s Redis and boards). Exit code 0: every window online without a fault (and the cluster healthy); 1: a window is offline or has a fault, none has reported, the cluster needs a look, or the hub could not be asked; 2: wrong usage',
  usage: 'COUNTER_EDGE_PASSWORD=… counter-edge status --hub mqtt://hub:1883 --hall hall-1 --username hall-1-tech [--dashboard http://hub:8081]',
  options: {
    ...HUB_OPTIONS,
    json: { type: 'boolean', default: false, description: '打印 JSON 而不是逐行文字（加 --dashboard 时：{cluster, windows}） / print JSON instead of lines (with --dashboard: {cluster, windows})' },
    dashboard: { type: 'string', description: "集线器看板的地址（其 http 端口）：从集线器的实时状态显示集群健康 / the hub's dashboard URL (its http port): shows the cluster's health from the hub's live state" },
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
    // A hall this account may not read is refused filter by filter (SUBACK 128), which mqtt.js reports as "Subscribe error".
    const refused = () => new Error(`集线器不让此账号读取 ${hall} 厅：--hall 是否正确？/ the hub refused to let this account read hall ${hall}: is --hall right?`)
    const granted = await client.subscribeAsync([topics.hallStatuses(hall), topics.hallStates(hall), topics.hallUpdates(hall)], { qos: 1 }).catch(async (err: Error) => {
      await client.endAsync(true)
      throw /subscribe/i.test(err.message) ? refused() : err
    })
    if (granted.some((g) => g.qos === 128)) {
      await client.endAsync(true)
      throw refused()
    }
    await retainedBurst(client, RETAINED_QUIET_MS, () => true).settled
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
    for (const line of statusTable(list)) console.log(line)
    for (const line of faultHints(list)) console.log(line)
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
    throw new UsageError(`--dashboard ${dashboard} 不是网址 / is not a URL like http://hub:8081`)
  }
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) }).catch((err: Error) => {
    throw new Error(`无法连接集线器面板 / cannot reach the hub's dashboard at ${url.origin}: ${err.message}`)
  })
  if (!res.ok) throw new Error(`集线器面板 ${url.origin} 对 /api/cluster 回答 ${res.status}：--dashboard 是否为集线器面板的端口（默认 8081），集线器是否比此命令旧？/ the hub's dashboard at ${url.origin} answered ${res.status} for /api/cluster: is --dashboard the hub dashboard's port (8081 unless configured), or is the hub older than this command?`)
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

/** Between two columns of the window table. */
const GAP = 2

const HEADINGS = ['窗口 window', '连接 link', '状态 mode', '票号 ticket', '版本 version', '工作人员 officer · 提示 notes'] as const

const OFFLINE_WORDS: Record<OfflineReason, [zh: string, en: string]> = {
  will: ['连接中断', 'lost'],
  stop: ['已停止', 'stopped'],
  restart: ['重启中', 'restarting'],
  upgrade: ['升级中', 'upgrading'],
  fault: ['故障停机', 'fault stop'],
}
const MODE_WORDS: Record<WindowMode, string> = { closed: '窗口关闭', idle: '空闲', calling: '叫号中', serving: '办理中', evaluating: '评价中', paused: '暂停' }
const OVERTIME_WORDS: Record<Exclude<OvertimeLevel, 'none'>, string> = { warning: '即将超时 nearly overtime', over: '已超时 overtime' }
const UPDATE_WORDS: Record<UpdateStateName, string> = {
  idle: '空闲',
  downloading: '下载中',
  verifying: '校验中',
  installing: '安装中',
  restarting: '重启中',
  confirming: '确认中',
  confirmed: '已确认',
  'rolled-back': '已回滚',
  failed: '失败',
}

/** A window's cells, each in Chinese with English beside it; the last holds the officer and any notes. */
export function statusCells(r: Row): string[] {
  const off = r.status && !r.status.online ? OFFLINE_WORDS[r.status.reason] : null
  const link = r.status?.online ? '在线 online' : r.status ? `离线 OFFLINE (${off ? `${off[0]} ${off[1]}` : (r.status as { reason: string }).reason})` : '未知 unknown'
  const s = r.state
  const mode = s ? `${MODE_WORDS[s.mode] ?? ''} ${s.mode}`.trim() : '-'
  const ticket = s?.ticket?.number ?? '-'
  const officer = s?.officer ? (s.officer.name ? `${s.officer.name} (${s.officer.id})` : s.officer.id) : '无人签到 no officer'
  const overtime = s && s.overtime !== 'none' ? `  ${OVERTIME_WORDS[s.overtime]}` : ''
  const faults = s?.faults.length ? `  故障 FAULTS: ${s.faults.map((f) => `${f.device} ${faultWords(f.code).zh} ${f.code}`).join(', ')}` : ''
  const version = r.update?.running ?? (r.status?.online ? r.status.version : null) ?? '-'
  const u = r.update
  const waits = u?.waitingFor === 'applicant' ? ', 等办事群众办完后重启 restarts once the applicant is served' : ''
  const updating = u && u.state !== 'idle' && u.state !== 'confirmed' ? `  升级 UPDATE ${UPDATE_WORDS[u.state] ?? ''} ${u.state}${u.target ? ` ${u.target}` : ''}${waits}${u.reason ? `: ${u.reason}` : ''}` : ''
  return [r.counter, link, mode, ticket, version, officer + overtime + faults + updating]
}

/**
 * The heading and one line per window, each column as wide as its widest
 * cell in terminal columns (a Chinese character takes two), so every row,
 * online or offline, starts each column where the heading does.
 */
export function statusTable(rows: Row[]): string[] {
  const table: string[][] = [[...HEADINGS], ...rows.map(statusCells)]
  const widths = HEADINGS.slice(0, -1).map((_, i) => Math.max(...table.map((cells) => displayWidth(cells[i]!))))
  return table.map((cells) => cells.map((c, i) => (i < widths.length ? padToWidth(c, widths[i]! + GAP) : c)).join('').trimEnd())
}

/**
 * Under the table, what to check first for each fault a window reports, in Chinese with English
 * beside it (the dashboard's words, hub/dashboard/fault-words.ts): a technician at a terminal reads
 * "display bus-missing" and also what to do about it.
 */
export function faultHints(rows: Row[]): string[] {
  return rows.flatMap((r) =>
    (r.state?.faults ?? []).map((f) => {
      const w = faultWords(f.code)
      return `${r.counter} ${f.device} ${w.zh} ${w.en}：${w.hintZh} / ${w.hintEn}`
    }),
  )
}

/** Pads to a display width, at least one space: the cluster's fixed columns. */
function pad(text: string, width: number): string {
  return padToWidth(text, width - 1) + ' '
}

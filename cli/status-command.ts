import { parseMessage, topics, type State, type Status, type UpdateReport } from '../edge/protocol/index.ts'
import { connectToHub, HUB_OPTIONS } from './hall-connection.ts'
import type { Subcommand } from './subcommand.ts'

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
  summary: 'one line per window of the hall: online, mode, ticket, version, officer, faults, updates; exit 0 when every window is online without a fault, 1 otherwise',
  usage: 'COUNTER_EDGE_PASSWORD=… counter-edge status --hub mqtt://hub:1883 --hall hall-1 --username hall-1-tech',
  options: { ...HUB_OPTIONS, json: { type: 'boolean', default: false, description: 'print JSON instead of lines' } },
  async run(v) {
    const hall = v.hall as string
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
    if (v.json) {
      console.log(JSON.stringify(list, null, 2))
      return 0
    }
    if (list.length === 0) {
      console.log(`${hall} 厅还没有窗口向集线器报到 / no windows have reported to the hub for hall ${hall} (topic ${topics.hallCounters(hall)})`)
      return 1
    }
    console.log(HEADER)
    for (const r of list) console.log(formatRow(r))
    const unhealthy = list.filter((r) => !r.status?.online || r.state?.faults.length).length
    // The exit code is for scripts and monitoring (documented in --help): 1 when any window needs a look.
    console.log(unhealthy === 0 ? `全部 ${list.length} 个窗口在线且无故障 / all ${list.length} windows online, no faults` : `${unhealthy} 个窗口需要查看 / ${unhealthy} of ${list.length} windows need a look (exit code 1)`)
    return unhealthy === 0 ? 0 : 1
  },
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

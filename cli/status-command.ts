import { parseMessage, topics, type State, type Status } from '../edge/protocol/index.ts'
import { connectToHub, HUB_OPTIONS } from './hall-connection.ts'
import type { Subcommand } from './subcommand.ts'

interface Row {
  counter: string
  status?: Status
  state?: State
}

/** One line per window, from the retained status and state the hub holds. */
export const statusCommand: Subcommand = {
  name: 'status',
  summary: 'one line per window of the hall: online, mode, ticket, officer, faults',
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
      rows.set(m.topic.counter, row)
    })
    await client.subscribeAsync([topics.hallStatuses(hall), topics.hallStates(hall)], { qos: 1 })
    // Retained messages arrive right after SUBACK; a short quiet period means we have them all.
    await new Promise((r) => setTimeout(r, 500))
    await client.endAsync()
    const list = [...rows.values()].sort((a, b) => a.counter.localeCompare(b.counter))
    if (v.json) {
      console.log(JSON.stringify(list, null, 2))
      return 0
    }
    if (list.length === 0) {
      console.log(`no windows have reported to the hub for hall ${hall} (topic ${topics.hallCounters(hall)})`)
      return 1
    }
    for (const r of list) console.log(formatRow(r))
    return list.every((r) => r.status?.online && !r.state?.faults.length) ? 0 : 1
  },
}

export function formatRow(r: Row): string {
  const online = r.status?.online ? 'online ' : r.status ? `OFFLINE (${r.status.reason})` : 'unknown'
  const s = r.state
  const mode = s ? s.mode.padEnd(10) : '-'.padEnd(10)
  const ticket = s?.ticket?.number ?? '-'
  const officer = s?.officer ? `officer ${s.officer.id}` : 'no officer'
  const faults = s?.faults.length ? `  FAULTS: ${s.faults.map((f) => `${f.device} ${f.code}`).join(', ')}` : ''
  const overtime = s && s.overtime !== 'none' ? `  overtime ${s.overtime}` : ''
  return `${r.counter.padEnd(6)} ${online.padEnd(8)} ${mode} ${ticket.padEnd(8)} ${officer}${overtime}${faults}`
}

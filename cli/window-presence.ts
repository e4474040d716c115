import type { MqttClient } from 'mqtt'
import { parseMessage, topics, type State, type Status } from '../edge/protocol/index.ts'
import { retainedBurst } from './retained-burst.ts'

/**
 * What the hub holds for one window, retained: its status (birth, will or
 * clean stop) and its state. The hub hands retained messages out right after
 * the SUBACK, so a window the hub has never heard of, or one whose will it
 * published, is known within a moment instead of after a command's timeout.
 */
export interface WindowPresence {
  status: Status | null
  state: State | null
}

/** This long without a retained message for the window means the hub has sent what it holds (retained-burst.ts). */
const RETAINED_SETTLE_MS = 400

export async function windowPresence(client: MqttClient, hall: string, counter: string): Promise<WindowPresence> {
  const statusTopic = topics.status(hall, counter)
  const stateTopic = topics.state(hall, counter)
  const found: WindowPresence = { status: null, state: null }
  const onMessage = (topic: string, payload: Buffer) => {
    if (topic !== statusTopic && topic !== stateTopic) return
    const m = parseMessage(topic, payload)
    if (!m.ok) return
    if (m.topic.kind === 'status') found.status = m.message as Status
    if (m.topic.kind === 'state') found.state = m.message as State
    if (found.status && found.state) burst?.end()
  }
  let burst: ReturnType<typeof retainedBurst> | undefined
  client.on('message', onMessage)
  try {
    // A refused filter comes back as SUBACK 128, which mqtt.js turns into "Subscribe error".
    const refused = () => new PresenceError(`集线器不让此账号读取 ${hall} 厅：--hall 是否正确？/ the hub refused to let this account read hall ${hall}: is --hall right?`)
    const granted = await client.subscribeAsync([statusTopic, stateTopic], { qos: 1 }).catch((err: Error) => {
      throw /subscribe/i.test(err.message) ? refused() : err
    })
    if (granted.some((g) => g.qos === 128)) throw refused()
    if (found.status && found.state) return found
    burst = retainedBurst(client, RETAINED_SETTLE_MS, (topic) => topic === statusTopic || topic === stateTopic)
    await burst.settled
  } finally {
    burst?.end()
    client.off('message', onMessage)
  }
  return found
}

export class PresenceError extends Error {
  override readonly name = 'PresenceError'
}

/**
 * Why a command cannot reach this window now, in words for the technician,
 * or null when the hub has it online.
 */
export function whyUnreachable(p: WindowPresence, hall: string, counter: string, now = Date.now()): string | null {
  if (!p.status) {
    return `窗口 ${counter} 从未向 ${hall} 厅的集线器报到：编号是否正确？/ window ${counter} has never reported to the hub of hall ${hall}: is the id right? (counter-edge status lists the windows)`
  }
  if (p.status.online) return null
  // A will's time is when the board connected (the hub holds it from then), not when it was lost.
  const since = p.status.reason === 'will' ? '' : ago(now - Date.parse(p.status.ts))
  return `窗口 ${counter} 离线（${REASON_ZH[p.status.reason] ?? p.status.reason}${since ? `，${since}` : ''}）/ window ${counter} is offline (${REASON_EN[p.status.reason] ?? p.status.reason}${since ? `, ${since}` : ''}): check its power and network, then counter-edge status`
}

const REASON_ZH: Record<string, string> = { will: '连接中断', stop: '已正常停止', restart: '正在重启', upgrade: '正在升级', fault: '故障停止' }
const REASON_EN: Record<string, string> = { will: 'connection lost', stop: 'stopped cleanly', restart: 'restarting', upgrade: 'upgrading', fault: 'stopped on a fault' }

function ago(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return ''
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s} s ago`
  const m = Math.round(s / 60)
  if (m < 120) return `${m} min ago`
  return `${Math.round(m / 60)} h ago`
}

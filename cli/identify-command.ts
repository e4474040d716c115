import type { MqttClient } from 'mqtt'
import { idSchema, parseMessage, topics, type State } from '../edge/protocol/index.ts'
import { connectToHub, HUB_OPTIONS } from './hall-connection.ts'
import { commandWindow } from './window-command.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { checkedFlag } from './flag-value.ts'
import { waitMs } from './window-command.ts'
import { whyUnreachable, windowPresence } from './window-presence.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

export const identifyCommand: Subcommand = {
  name: 'identify',
  summary: COMMAND_SUMMARIES.identify,
  usage: 'COUNTER_EDGE_PASSWORD=… counter-edge identify --counter w05 [--seconds 10] --username hall-1-tech',
  options: { ...HUB_OPTIONS, counter: { type: 'string', description: '窗口 id，如 w05 / the window, e.g. w05' }, seconds: { type: 'string', default: '10', description: '闪烁多少秒（1–300） / how long to blink (1–300)' }, wait: { type: 'string', default: '10', description: '等待窗口应答的秒数 / seconds to wait for the window to answer' } },
  async run(v) {
    const counter = checkedFlag(idSchema, v.counter, '--counter', { zh: '缺少 --counter：要识别的窗口，如 w05', en: '--counter is required: the window to identify, e.g. w05' })
    const seconds = Number(v.seconds)
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300) throw new UsageError(`--seconds 须为 1 到 300 的整数，不是 "${v.seconds}" / --seconds must be a whole number from 1 to 300, not "${v.seconds}"`)
    const wait = waitMs(v.wait)
    const hall = v.hall as string
    const client = await connectToHub(v, 'identify')
    try {
      const presence = await windowPresence(client, hall, counter)
      const why = whyUnreachable(presence, hall, counter)
      if (why) {
        console.error(why)
        return 1
      }
      const latest = new LatestState(client, hall, counter, presence.state)
      await latest.start()
      try {
        const r = await commandWindow(client, hall, counter, 'identify', { seconds }, wait)
        if (!r.ok) {
          console.error(`窗口 ${counter} 拒绝了识别命令 / window ${counter} refused identify: ${r.code}: ${r.message}`)
          return 1
        }
        // The board answers identify after trying the display; a display that failed reports its fault in
        // the window's state. A sync, answered after the state it republishes, is the barrier for that.
        await commandWindow(client, hall, counter, 'sync', {}, wait)
        const fault = latest.state?.faults.find((f) => f.device === 'display')
        if (fault) {
          console.error(`窗口 ${counter} 的显示屏有故障，没有闪烁（${fault.code}）/ window ${counter}: the display is NOT blinking, it has a fault: ${fault.code}: ${fault.message}. Check its cable and power; counter-edge selftest --counter ${counter} tests it again.`)
          return 1
        }
        console.log(`窗口 ${counter} 的显示屏正在闪烁 "----"，持续 ${seconds} 秒 / window ${counter} is blinking "----" for ${seconds} s`)
        return 0
      } finally {
        latest.stop()
      }
    } finally {
      await client.endAsync()
    }
  },
}

/** The window's state as the hub last passed it on, kept current while a command runs. */
class LatestState {
  private readonly topic: string
  private readonly onMessage = (topic: string, payload: Buffer) => {
    if (topic !== this.topic) return
    const m = parseMessage(topic, payload)
    if (m.ok) this.state = m.message as State
  }

  constructor(private readonly client: MqttClient, hall: string, counter: string, public state: State | null) {
    this.topic = topics.state(hall, counter)
  }

  async start(): Promise<void> {
    this.client.on('message', this.onMessage)
    await this.client.subscribeAsync(this.topic, { qos: 1 })
  }

  stop(): void {
    this.client.off('message', this.onMessage)
  }
}

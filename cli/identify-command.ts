import { idSchema } from '../edge/protocol/index.ts'
import { connectToHub, HUB_OPTIONS } from './hall-connection.ts'
import { commandWindow } from './window-command.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { waitMs } from './window-command.ts'

export const identifyCommand: Subcommand = {
  name: 'identify',
  summary: "blink a window's display so a technician can find it in the hall",
  usage: 'COUNTER_EDGE_PASSWORD=… counter-edge identify --counter w05 [--seconds 10] --username hall-1-tech',
  options: { ...HUB_OPTIONS, counter: { type: 'string', description: 'the window' }, seconds: { type: 'string', default: '10', description: 'how long to blink (1–300)' }, wait: { type: 'string', default: '10', description: 'seconds to wait for the window to answer' } },
  async run(v) {
    const counter = idSchema.safeParse(v.counter)
    if (!counter.success) throw new UsageError(`--counter: ${v.counter === undefined ? 'required' : counter.error.issues[0]!.message}`)
    const seconds = Number(v.seconds)
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300) throw new UsageError(`--seconds must be a whole number from 1 to 300, not "${v.seconds}"`)
    const client = await connectToHub(v, 'identify')
    try {
      const r = await commandWindow(client, v.hall as string, counter.data, 'identify', { seconds }, waitMs(v.wait))
      if (!r.ok) {
        console.error(`window ${counter.data} refused: ${r.code}: ${r.message}`)
        return 1
      }
      console.log(`window ${counter.data} is blinking "----" for ${seconds} s`)
      return 0
    } finally {
      await client.endAsync()
    }
  },
}

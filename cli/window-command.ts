import { randomBytes } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import { parseMessage, topics, type CommandName } from '../edge/protocol/index.ts'
import { UsageError } from './subcommand.ts'

/** --wait in seconds → ms, checked. */
export function waitMs(v: unknown): number {
  const s = Number(v)
  if (!(s > 0 && s <= 600)) throw new UsageError(`--wait must be a number of seconds from 1 to 600, not "${String(v)}"`)
  return s * 1000
}

export interface ReplyPayload {
  ok: boolean
  code?: string
  message?: string
  result?: Record<string, unknown>
}

/** Sends one command to a window and waits for its reply, as central would. */
export async function commandWindow(client: MqttClient, hall: string, counter: string, name: CommandName, args: Record<string, unknown>, timeoutMs: number): Promise<ReplyPayload> {
  const id = `cli-${randomBytes(6).toString('hex')}`
  const replyTopic = topics.reply(hall, counter)
  await client.subscribeAsync(replyTopic, { qos: 1 })
  const reply = new Promise<ReplyPayload>((resolve, reject) => {
    const t = setTimeout(() => {
      client.off('message', onMessage)
      reject(new Error(`window ${counter} did not reply within ${timeoutMs / 1000} s: is it online? (counter-edge status)`))
    }, timeoutMs)
    const onMessage = (topic: string, payload: Buffer) => {
      if (topic !== replyTopic) return
      const m = parseMessage(topic, payload)
      if (!m.ok) return
      const r = m.message as ReplyPayload & { cmd: string | null }
      if (r.cmd !== id) return
      clearTimeout(t)
      client.off('message', onMessage)
      resolve(r)
    }
    client.on('message', onMessage)
  })
  const payload = { id, expires: new Date(Date.now() + timeoutMs).toISOString(), ...args }
  await client.publishAsync(topics.cmd(hall, counter, name), JSON.stringify(payload), { qos: 1 })
  return reply
}

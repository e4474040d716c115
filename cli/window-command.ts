import { randomBytes } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import { parseMessage, topics, type CommandName } from '../edge/protocol/index.ts'
import { UsageError } from './subcommand.ts'

/** --wait in seconds → ms, checked. */
export function waitMs(v: unknown): number {
  const s = Number(v)
  if (!(s > 0 && s <= 600)) throw new UsageError(`--wait 须为 1 到 600 之间的秒数，而不是 "${String(v)}" / --wait must be a number of seconds from 1 to 600, not "${String(v)}"`)
  return s * 1000
}

export interface ReplyPayload {
  ok: boolean
  code?: string
  message?: string
  result?: Record<string, unknown>
}

/**
 * Sends one command to a window and waits for its reply, as central would.
 * Ctrl-C while it waits says whether the command had left: once the hub has
 * it, the window carries it out (a self-test runs to its end) whether or not
 * anyone still waits for the reply.
 */
export async function commandWindow(client: MqttClient, hall: string, counter: string, name: CommandName, args: Record<string, unknown>, timeoutMs: number): Promise<ReplyPayload> {
  let sent = false
  const onInterrupt = () => {
    console.error(
      sent
        ? `已中断：${name} 命令已发往窗口 ${counter}，窗口仍会执行完，只是这里不再显示结果 / interrupted: the ${name} command was already sent, so window ${counter} still carries it out; its result is not shown here`
        : `已中断：${name} 命令没有发出 / interrupted: the ${name} command was not sent`,
    )
    process.exit(130)
  }
  process.on('SIGINT', onInterrupt)
  try {
    return await sendAndAwaitReply(client, hall, counter, name, args, timeoutMs, () => (sent = true))
  } finally {
    process.off('SIGINT', onInterrupt)
  }
}

async function sendAndAwaitReply(client: MqttClient, hall: string, counter: string, name: CommandName, args: Record<string, unknown>, timeoutMs: number, onSent: () => void): Promise<ReplyPayload> {
  const id = `cli-${randomBytes(6).toString('hex')}`
  const replyTopic = topics.reply(hall, counter)
  await client.subscribeAsync(replyTopic, { qos: 1 })
  const reply = new Promise<ReplyPayload>((resolve, reject) => {
    const t = setTimeout(() => {
      client.off('message', onMessage)
      reject(new Error(`窗口 ${counter} 在 ${timeoutMs / 1000} 秒内没有回复：它在线吗？（counter-edge status）/ window ${counter} did not reply within ${timeoutMs / 1000} s: is it online? (counter-edge status)`))
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
  // Counted as sent from the write on: a Ctrl-C before the hub's PUBACK may still leave it with the hub.
  onSent()
  await client.publishAsync(topics.cmd(hall, counter, name), JSON.stringify(payload), { qos: 1 })
  return reply
}

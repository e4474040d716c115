import type { Aedes, Client } from 'aedes'
import { CONTRACT_VERSION, decodeJsonObject, messageIdOf, parseTopic, topics, type ErrorCode, type Reply } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import type { Principal } from './credentials.ts'
import type { Custody } from './custody-log.ts'
import type { HubCounters } from './hub-counters.ts'

/** The refusals the hub itself gives a command, before any board sees it (docs/integration.md, "Commands the hub answers"). */
export type HubRefusalCode = Extract<ErrorCode, 'unknown-counter' | 'qos-required' | 'retained-refused' | 'unsupported' | 'expired'>

export interface CommandRefusal {
  code: HubRefusalCode
  message: string
}

export interface CommandGateOptions {
  hall: string
  /** The hub's name and boot (as on hall/{hall}/hub/status): a hub reply carries them, so it can never pass for a board's. */
  hubId: string
  boot: string
  aedes: Aedes
  /** Stored subscriptions: the sessions a command for an offline board is held in. */
  sessions: { subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string }>> }
  /** The provisioned principals, read on every check so a reloaded credential file counts at once. */
  principals: () => Principal[]
  /** Where replies go to central: the bridge drains it. Null when the hub has no upstream. */
  custody: Custody | null
  counters: HubCounters
  log: Logger
}

/**
 * Answers the commands that would otherwise vanish without a word (issue 23):
 * one for a counter no board of this hall will take, one sent at QoS 0, one
 * retained at central. Each gets a reply on its counter's reply topic, in
 * the hall and, through the custody log, at central, as a board's reply
 * would; the command itself goes to no board.
 *
 * A counter is known when a board provisioned for it either is connected
 * now and subscribed to the command, or holds a stored subscription to it
 * (its persistent session): exactly when the broker would deliver the
 * command or hold it until the board is back. A counter in the credential file whose board has
 * never connected is not known: no session would keep the command, and it
 * would be lost in silence.
 */
export class CommandGate {
  private seq = 0

  constructor(private readonly opts: CommandGateOptions) {}

  /**
   * Null when a board may be given the command on `topic` from outside the hub (central, a technician's
   * MQTT tool); else the refusal: `update` is the hub's own (hub/fleet/rollout.ts), which paces a hall
   * and tracks each board, so one sent past it is refused; else as unknownCounter.
   */
  async judge(topic: string): Promise<CommandRefusal | null> {
    const t = parseTopic(topic)
    if (t && t.kind === 'cmd' && t.name === 'update') return { code: 'unsupported', message: '升级由大厅集线器发起 / updates are started at the hub (counter-edge update start), not sent as a command' }
    return this.unknownCounter(topic)
  }

  /** Null when a board will get (or is holding a session for) the command on `topic`; else why not. */
  async unknownCounter(topic: string): Promise<CommandRefusal | null> {
    const t = parseTopic(topic)
    if (!t || t.kind !== 'cmd' || t.hall !== this.opts.hall) return null
    const boards = this.opts.principals().filter((p) => p.role === 'board' && p.hall === t.hall && p.counter === t.counter)
    // Aedes keeps each client's subscriptions by filter; its types do not declare them.
    const clients = (this.opts.aedes as unknown as { clients: Record<string, (Client & { subscriptions: Record<string, unknown> }) | undefined> }).clients
    // Connected is not enough: between its CONNACK and its SUBACK a board (first connection, or a clean
    // session) subscribes to nothing, and the broker would acknowledge the command and hand it to no one.
    const filters = [topic, topics.counterCommands(t.hall, t.counter)]
    const connected = boards.filter((b) => clients[b.username])
    if (connected.some((b) => filters.some((f) => clients[b.username]?.subscriptions[f]))) return null
    const subs = await this.opts.sessions.subscriptionsByTopic(topic)
    if (subs.some((s) => boards.some((b) => b.username === s.clientId))) return null
    const why =
      boards.length === 0
        ? 'is not provisioned in this hall'
        : connected.length > 0
          ? 'is provisioned and its board is connected, but it has not subscribed to its commands yet, so nothing would take the command'
          : 'is provisioned, but its board has never connected to this hub, so nothing would hold the command'
    return { code: 'unknown-counter', message: `counter ${t.counter} of hall ${t.hall} ${why}; the command was not delivered` }
  }

  /**
   * Publishes the refusal as the reply to the command on `topic`: into the hall's broker, and into
   * custody for central. Resolves once the reply is durable (or, without an upstream, in the hall).
   */
  async answer(topic: string, payload: Buffer, refusal: CommandRefusal): Promise<void> {
    const t = parseTopic(topic)
    if (!t || t.kind !== 'cmd') return
    this.opts.counters.commandRefused(refusal.code)
    const reply: Reply = {
      v: CONTRACT_VERSION,
      id: `${this.opts.hubId}-${this.opts.boot}-r${this.seq}`,
      boot: this.opts.boot,
      seq: this.seq++,
      ts: new Date().toISOString(),
      synced: true,
      cmd: commandId(payload),
      name: t.name.slice(0, 64),
      ok: false,
      code: refusal.code,
      message: refusal.message.slice(0, 500),
    }
    const replyTopic = topics.reply(t.hall, t.counter)
    const bytes = Buffer.from(JSON.stringify(reply))
    this.opts.log.info({ topic: topic.slice(0, 200), cmd: reply.cmd, code: refusal.code }, 'answered a command no board will act on')
    await new Promise<void>((r) => this.opts.aedes.publish({ cmd: 'publish', topic: replyTopic, payload: bytes, qos: 1, retain: false, dup: false }, () => r()))
    if (this.opts.custody) await this.opts.custody.append({ topic: replyTopic, payload: bytes, qos: 1, retain: false })
  }
}

/** The command's id, when its payload has a readable one; null as a board's reply has it for a payload it cannot read. */
export function commandId(payload: Buffer): string | null {
  return messageIdOf(decodeJsonObject(payload))
}

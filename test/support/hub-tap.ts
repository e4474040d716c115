import { join } from 'node:path'
import type { AedesPublishPacket } from 'aedes'
import { makeEntry, writeCredentialFile } from '../../hub/credentials.ts'
import type { RunningHub } from '../../hub/main.ts'
import { MessageLog } from './probe.ts'

export interface BoardLogin {
  hall: string
  counter: string
  username: string
  password: string
}

/** A credentials file with one board; the password is fixed because tests restart boards with the same config. */
export async function writeBoardCredentials(dir: string, hall: string, counter: string): Promise<{ credentialsFile: string; board: BoardLogin }> {
  const credentialsFile = join(dir, 'credentials.json')
  const board = { hall, counter, username: `${hall}-${counter}`, password: `pw-${counter}-for-tests` }
  await writeCredentialFile(credentialsFile, [await makeEntry({ username: board.username, role: 'board', hall, counter, password: board.password })])
  return { credentialsFile, board }
}

/**
 * A consumer inside the hub process: it subscribes on the broker itself, so
 * it is listening from the moment the hub is, even across a hub restart
 * (an MQTT client would race the boards reconnecting). What it records is
 * exactly what the hub accepted from the boards.
 */
export class HubTap extends MessageLog {
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    this.record(packet.topic, Buffer.from(packet.payload), packet.retain)
    done()
  }

  private constructor(
    private readonly hub: RunningHub,
    private readonly filter: string,
  ) {
    super()
  }

  static async attach(hub: RunningHub, filter: string): Promise<HubTap> {
    const tap = new HubTap(hub, filter)
    await new Promise<void>((r) => hub.broker.aedes.subscribe(filter, tap.deliver, () => r()))
    return tap
  }

  /** Publishes on the hub as central's bridge would (QoS 1, not retained). */
  publish(topic: string, payload: unknown): Promise<void> {
    const body = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload))
    return new Promise((resolve, reject) =>
      this.hub.broker.aedes.publish({ cmd: 'publish', topic, payload: body, qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
    )
  }

  /** Ids of the messages received under a topic prefix, in arrival order (duplicates included). */
  ids(prefix: string): string[] {
    return this.messages.filter((m) => m.topic.startsWith(prefix)).map((m) => String(m.payload.id))
  }

  detach(): Promise<void> {
    return new Promise((r) => this.hub.broker.aedes.unsubscribe(this.filter, this.deliver, () => r()))
  }
}

/**
 * What the hub's broker holds retained under a filter: exactly what a new
 * subscriber would be replayed. Reading the store answers "nothing retained"
 * outright, where a subscriber could only show that nothing had come yet.
 */
export async function retainedAtHub(hub: RunningHub, filter: string): Promise<Array<{ topic: string; payload: string }>> {
  const out: Array<{ topic: string; payload: string }> = []
  for await (const p of hub.broker.persistence.createRetainedStream(filter) as AsyncIterable<{ topic: string; payload: Buffer }>) {
    out.push({ topic: p.topic, payload: Buffer.from(p.payload).toString('utf8') })
  }
  return out
}

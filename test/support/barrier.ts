import { topics } from '../../edge/protocol/index.ts'
import { command, eventually, type MessageLog, type Received } from './probe.ts'

/** Publishes as central or the hub would: a Probe (an MQTT client) or a HubTap (inside the hub). */
export interface Publisher {
  publish(topic: string, payload: unknown): Promise<unknown>
}

/** What one subscription received, with a way to wait for a message: a Probe, a HubTap, a Recorder. */
export type Subscriber = Pick<MessageLog, 'waitFor'>

/** Barrier command ids start with this, so a test that counts replies can leave them out. */
export const BARRIER_ID_PREFIX = 'barrier-'
let barriers = 0
const barrierId = () => `${BARRIER_ID_PREFIX}${process.pid}-${barriers++}`

/**
 * Board-side barrier, for "the board sent nothing more": a `sync` command and
 * its reply. The window handles commands and key presses one at a time, in
 * order, and the link sends what they produce (events, replies) in journal
 * order, so once the sync's reply has arrived, every event the board made for
 * an input given before the sync (a command published earlier, a key press
 * that resolved) has arrived before it — on the same subscription, which MQTT
 * keeps in order (so `subscriber` must be the subscription the assertion
 * reads, not another client's). A late duplicate would be caught by an assertion after it.
 *
 * Valid while the board is connected and live: a backlog drained after a
 * reconnect runs in its own lane and is not ordered against a live reply.
 * The sync also makes the board publish its birth and state again (what sync
 * is for), so do not count status/state messages across it.
 */
export async function syncBarrier(publisher: Publisher, subscriber: Subscriber, hall: string, counter: string, timeoutMs = 10_000): Promise<void> {
  const cmd = command({}, { id: barrierId() })
  await publisher.publish(topics.cmd(hall, counter, 'sync'), cmd)
  await subscriber.waitFor((m) => m.topic === topics.reply(hall, counter) && m.payload.cmd === cmd.id, timeoutMs, `the reply to sync ${String(cmd.id)} (barrier)`)
}

/**
 * Broker-side barrier, for "the broker delivered nothing more to this
 * subscriber": a QoS 1 marker published to `topic` (one the subscriber gets),
 * waited for until it arrives. A broker delivers one subscription's messages
 * in the order it accepted them, so whatever it had accepted for this
 * subscriber before the marker has been delivered once the marker is. It
 * covers only messages the broker already had when the marker was published:
 * use it after the action whose (absent) consequence it checks has been
 * accepted by the broker.
 */
export async function markerBarrier(publisher: Publisher, subscriber: Subscriber, topic: string, timeoutMs = 10_000): Promise<void> {
  const id = barrierId()
  await publisher.publish(topic, { id, barrier: true })
  await subscriber.waitFor((m) => m.topic === topic && m.payload.id === id, timeoutMs, `barrier marker ${id} on ${topic}`)
}

/** A Subscriber over messages a test collects itself (a plain array filled by a `message` handler), polled. */
export function polledSubscriber(messages: () => readonly Received[]): Subscriber {
  return { waitFor: (match, timeoutMs = 10_000, what = 'a matching message') => eventually(() => messages().find(match), timeoutMs, what).then((m) => m!) }
}

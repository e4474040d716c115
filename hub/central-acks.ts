/**
 * PUBACKs to central for its QoS 1 publishes, sent in the order the publishes
 * came (as MQTT 3.1.1 §4.6 asks), each only once its message may be
 * acknowledged: handed into the hall and, with memory-first deliveries, no
 * longer held only in this process's memory (hub/memory-first-outgoing.ts).
 *
 * mqtt.js sends a PUBACK when its handleMessage callback runs, and reads no
 * further packet before that: waiting there for each command's board to
 * acknowledge it made the bridge take one command per board round trip, which
 * at a thousand boards queued calls for hundreds of milliseconds
 * (docs/benchmarks.md, "Scale"). The bridge now lets mqtt.js read on as soon as
 * a message is handed in, in order, and acknowledges through this queue. One
 * queue per connection: what a dropped connection did not acknowledge, central
 * sends again, and the board drops the copy by its id.
 */
export class InOrderAcks {
  private readonly queue: Array<{ messageId: number; safe: boolean }> = []

  /** send: writes one PUBACK on this queue's connection. */
  constructor(private readonly send: (messageId: number) => void) {}

  /** Takes the next publish from central; returns what to call once it may be acknowledged (once; later calls do nothing). */
  take(messageId: number): () => void {
    const entry = { messageId, safe: false }
    this.queue.push(entry)
    return () => {
      if (entry.safe) return
      entry.safe = true
      while (this.queue[0]?.safe) this.send(this.queue.shift()!.messageId)
    }
  }

  /** Publishes taken and not yet acknowledged. */
  get waiting(): number {
    return this.queue.length
  }
}

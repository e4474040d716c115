import type { Writable } from 'node:stream'

/**
 * Makes every write to a batched stream within one turn of the event loop leave together: the
 * first write of a turn corks the stream, and one setImmediate per turn uncorks every stream
 * written in it, once the I/O callbacks of that turn (every PUBACK a group commit released, every
 * packet forwarded to a reader) have written. One write request and one syscall per connection per
 * turn instead of one per packet: socket writes were the largest part of the hub's CPU per message
 * (docs/benchmarks.md, issue 22). One instance per process serves all its streams, so a busy turn
 * costs one immediate, not one per connection it wrote to.
 *
 * mqtt-packet corks for a packet and uncorks on the next tick; that only joins what is written in
 * the same tick, and most packets are written from callbacks of their own. Cork is a counter, so
 * the two nest. Nothing is reordered (one buffer per stream), nothing is written earlier than its
 * caller wrote it, and backpressure stands: write() still returns false once the buffered bytes
 * pass the high-water mark, and 'drain' follows the flush. Not TCP_CORK: TCP_NODELAY stays as it
 * was set. A stream destroyed or ended during the turn is left alone (uncork on it is harmless).
 */
export class TurnWrites {
  /** The uncork of each stream written this turn, in the order they were first written. */
  private held: Array<() => void> = []
  private readonly flush = (): void => {
    // A write during the flush (a callback that writes again) corks for the next turn, not this one.
    const releases = this.held
    this.held = []
    for (const release of releases) release()
  }

  /** Wraps `stream.write` so its writes join this turn's batch; returns the stream. */
  batch<W extends Writable>(stream: W): W {
    const write = stream.write
    let corked = false
    const release = (): void => {
      corked = false
      if (!stream.destroyed && !stream.writableEnded) stream.uncork()
    }
    stream.write = ((...args: unknown[]) => {
      if (!corked && !stream.destroyed && !stream.writableEnded) {
        corked = true
        stream.cork()
        if (this.held.push(release) === 1) setImmediate(this.flush)
      }
      return (write as (...a: unknown[]) => boolean).apply(stream, args)
    }) as W['write']
    return stream
  }
}

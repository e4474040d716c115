import type { Writable } from 'node:stream'

/**
 * Makes every write to `stream` within one turn of the event loop leave together: the first write
 * of a turn corks the stream and a setImmediate uncorks it, once the I/O callbacks of that turn
 * (every PUBACK a group commit released, every packet forwarded to a reader) have written. One
 * write request and one syscall per connection per turn instead of one per packet: socket writes
 * were the largest part of the hub's CPU per message (docs/benchmarks.md, issue 22).
 *
 * mqtt-packet corks for a packet and uncorks on the next tick; that only joins what is written in
 * the same tick, and most packets are written from callbacks of their own. Cork is a counter, so
 * the two nest. Nothing is reordered (one buffer), nothing is written earlier than its caller
 * wrote it, and backpressure stands: write() still returns false once the buffered bytes pass the
 * high-water mark, and 'drain' follows the flush. Not TCP_CORK: TCP_NODELAY stays as it was set.
 * A stream destroyed or ended during the turn is left alone (uncork on it is harmless).
 */
export function batchWritesPerTurn<W extends Writable>(stream: W): W {
  const write = stream.write
  let corked = false
  const release = (): void => {
    corked = false
    if (!stream.destroyed && !stream.writableEnded) stream.uncork()
  }
  stream.write = function (this: W, ...args: Parameters<W['write']>) {
    if (!corked && !stream.destroyed && !stream.writableEnded) {
      corked = true
      stream.cork()
      setImmediate(release)
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args)
  } as W['write']
  return stream
}

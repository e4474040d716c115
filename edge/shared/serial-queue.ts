/**
 * Tasks run one at a time, in the order they were queued: for a bus whose
 * transfers must not interleave, a file whose writes must land in order, a
 * timer whose ticks must not overlap. A task that fails rejects only its own
 * promise; the next one runs as usual.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve()
  private queued = 0

  /** Tasks queued and not yet settled. */
  get pending(): number {
    return this.queued
  }

  /** Queues a task; resolves or rejects with its result once it has run. */
  run<T>(task: () => T | PromiseLike<T>): Promise<T> {
    const result = this.tail.then(task)
    this.queued++
    this.tail = result.then(
      () => {
        this.queued--
      },
      () => {
        this.queued--
      },
    )
    return result
  }

  /** Resolves once every task queued so far has settled (never rejects): what a stop waits for. */
  drain(): Promise<void> {
    return this.tail
  }
}

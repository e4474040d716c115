export interface GroupCommitOptions<T, R> {
  /**
   * Commits one group, in append order; resolves once it is durable, with one
   * result per item (or nothing). Called with an empty group after request():
   * for work the commit carries besides appends (deletes, releases).
   */
  write(batch: T[]): Promise<readonly R[] | void>
  /** When the first append of an idle period is committed (default: a microtask, so a synchronous burst is one group). */
  schedule?: (run: () => void) => void
  /** Most items in one commit; a larger burst goes in consecutive ones. */
  maxBatch?: number
}

interface Waiting<T, R> {
  item: T
  resolve: (result: R) => void
  reject: (err: unknown) => void
}

/**
 * Group commit: one write at a time, and every append that arrives while one
 * is in flight goes into the next, so a burst costs one fsync (or one Redis
 * round trip) rather than one each. An append's promise resolves once the
 * commit that carried it has landed, and rejects with that commit's error:
 * only the appends of the failed group see it.
 */
export class GroupCommit<T, R = void> {
  private waiting: Array<Waiting<T, R>> = []
  private state: 'idle' | 'scheduled' | 'writing' = 'idle'
  private again = false
  private idlers: Array<() => void> = []
  private readonly schedule: (run: () => void) => void
  private readonly maxBatch: number

  constructor(private readonly opts: GroupCommitOptions<T, R>) {
    this.schedule = opts.schedule ?? queueMicrotask
    this.maxBatch = opts.maxBatch ?? Infinity
  }

  /** Items appended and not yet in a commit. */
  get pending(): number {
    return this.waiting.length
  }

  append(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject })
      this.request()
    })
  }

  /** Asks for a commit even with nothing appended; during one, another follows it. */
  request(): void {
    if (this.state === 'writing') {
      this.again = true
      return
    }
    if (this.state === 'scheduled') return
    this.state = 'scheduled'
    this.schedule(() => void this.commit())
  }

  /** Resolves once no commit is in flight or due and nothing waits. */
  idle(): Promise<void> {
    if (this.state === 'idle' && this.waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idlers.push(resolve))
  }

  private async commit(): Promise<void> {
    this.state = 'writing'
    this.again = false
    const batch = this.waiting.splice(0, this.maxBatch)
    try {
      const results = await this.opts.write(batch.map((w) => w.item))
      batch.forEach((w, i) => w.resolve(results?.[i] as R))
    } catch (err) {
      for (const w of batch) w.reject(err)
    }
    // Straight on with whatever queued up during this write: it is the next group.
    // Not awaited: under steady load a chain of awaiting commits would grow without end.
    if (this.waiting.length > 0 || this.again) {
      void this.commit()
      return
    }
    this.state = 'idle'
    for (const r of this.idlers.splice(0)) r()
  }
}

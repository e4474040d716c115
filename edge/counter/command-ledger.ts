/**
 * Remembers the reply given to each recent command id, so a command delivered
 * twice (QoS 1 is at least once) is answered again instead of acted on again.
 * Bounded: a central system re-sends within seconds, not after thousands of commands.
 */
export class CommandLedger<R> {
  private readonly replies = new Map<string, R>()

  constructor(private readonly capacity = 2048) {}

  get(id: string): R | undefined {
    return this.replies.get(id)
  }

  /** The newest `n` entries, oldest first: what the state file keeps across a restart. */
  recent(n: number): Array<[string, R]> {
    return [...this.replies].slice(-n)
  }

  restore(entries: ReadonlyArray<readonly [string, R]>): void {
    for (const [id, reply] of entries) this.remember(id, reply)
  }

  remember(id: string, reply: R): void {
    this.replies.delete(id)
    this.replies.set(id, reply)
    if (this.replies.size > this.capacity) {
      const oldest = this.replies.keys().next().value
      if (oldest !== undefined) this.replies.delete(oldest)
    }
  }
}

/**
 * The message ids seen last, at most `keep` of them, the oldest forgotten first: how the hub's
 * followers of the hall drop the copies an at-least-once chain delivers again. The order is a ring
 * of `keep` slots beside the set, so forgetting one is one step. The two ways it was done before
 * each cost in proportion to what was kept, on every event once full (docs/benchmarks.md, issue 22,
 * sixth pass): shifting an array of the ids moved all 20,000 of them, and taking a Set's first
 * value walks past every entry deleted since the Set last compacted.
 */
export class RecentIds {
  private readonly ids = new Set<string>()
  private readonly ring: Array<string | undefined>
  private next = 0

  constructor(keep: number) {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a whole number of ids, at least 1 (got ${keep})`)
    this.ring = new Array<string | undefined>(keep).fill(undefined)
  }

  has(id: string): boolean {
    return this.ids.has(id)
  }

  /** Remembers an id; past `keep`, the oldest goes. True if it was new. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false
    const oldest = this.ring[this.next]
    if (oldest !== undefined) this.ids.delete(oldest)
    this.ring[this.next] = id
    this.next = (this.next + 1) % this.ring.length
    this.ids.add(id)
    return true
  }

  get size(): number {
    return this.ids.size
  }
}

/**
 * Which of two messages of one board was made later, for the hub's followers of a window that show
 * "the last" of something (the tile's 最近评价, its recent events). Not the order they reach the hub:
 * after a link outage the board's journal drains its backlog while live messages go on
 * (docs/architecture.md §4), so an older message can arrive after a newer one.
 */
export interface MadeAt {
  /** The board's boot and its seq within that boot; absent where not known (a feed line an older hub wrote). */
  boot?: string
  seq?: number
  /** The board's clock when it made the message. */
  ts: string
}

/**
 * Whether `a` was made after `b`: within one boot by the board's seq, whatever its clock; across
 * boots by the board's clock. What cannot be told (same seq, a time that cannot be read) goes to the
 * one that came later, as before.
 */
export function madeAfter(a: MadeAt, b: MadeAt): boolean {
  if (a.boot !== undefined && a.boot === b.boot && a.seq !== undefined && b.seq !== undefined && a.seq !== b.seq) return a.seq > b.seq
  const at = Date.parse(a.ts)
  const bt = Date.parse(b.ts)
  return !(Number.isFinite(at) && Number.isFinite(bt)) || at >= bt
}

/**
 * "Did you mean …?" for a mistyped name: a command, an option, a config key,
 * a board profile. Technicians type these at a terminal in an open hall; a
 * hint that names the right spelling saves a trip to the docs.
 */

/**
 * Edit distance where swapping two neighbouring letters counts as one edit
 * (optimal string alignment): "stauts" is one slip from "status", not two.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidates close enough to `name` to be what was meant, nearest first (case ignored): those it
 * begins ("--count" for --counter), then those within two edits, one for names of three letters or
 * fewer ("ls" is not a slip of "all").
 */
export function nearestNames(name: string, candidates: Iterable<string>): string[] {
  return ranked(name, candidates).map(({ c }) => c)
}

function ranked(name: string, candidates: Iterable<string>): Array<{ c: string; score: number }> {
  const typed = name.toLowerCase()
  const limit = typed.length <= 3 ? 1 : 2
  return [...new Set(candidates)]
    .filter((c) => c !== name)
    .map((c) => ({ c, score: typed.length >= 3 && c.toLowerCase().startsWith(typed) ? 0 : editDistance(typed, c.toLowerCase()) }))
    .filter(({ score }) => score <= limit)
    .sort((x, y) => x.score - y.score || x.c.localeCompare(y.c))
}

/** The hint in both languages, to append to each half of a `中文 / English` message; empty halves when nothing is near. */
export interface Hint {
  zh: string
  en: string
}

/**
 * The nearest candidate (two when tied) as a hint; `show` writes a name as the message does (e.g. `--hub`,
 * `"board"`). Empty when no candidate is near, so a caller appends it unconditionally.
 */
export function didYouMean(name: string, candidates: Iterable<string>, show: (candidate: string) => string = (c) => c): Hint {
  const near = ranked(name, candidates)
  if (near.length === 0) return { zh: '', en: '' }
  const shown = near.filter((n) => n.score === near[0]!.score).slice(0, 2).map((n) => show(n.c))
  return { zh: `，是不是 ${shown.join(' 或 ')}？`, en: ` (did you mean ${shown.join(' or ')}?)` }
}

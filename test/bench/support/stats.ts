/** Latency samples in milliseconds, summarised the way the report states them. */
export interface Summary {
  n: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentile of sorted samples (q in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b)
  const sum = s.reduce((a, b) => a + b, 0)
  return {
    n: s.length,
    p50: round(percentile(s, 0.5)),
    p90: round(percentile(s, 0.9)),
    p99: round(percentile(s, 0.99)),
    max: round(s[s.length - 1] ?? Number.NaN),
    mean: round(s.length ? sum / s.length : Number.NaN),
  }
}

/** Three significant decimals are more than loopback timing deserves. */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export function ratio(a: number, b: number): number {
  return b > 0 && Number.isFinite(a) ? round(a / b, 2) : Number.NaN
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

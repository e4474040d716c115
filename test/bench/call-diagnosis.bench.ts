/**
 * Where the call latency's tail comes from, by changing one thing about the
 * hub at a time and measuring the same level again (fresh brokers and boards
 * each time): as shipped; with a larger libuv thread pool (LevelDB and the
 * custody fsyncs share it with scrypt); with its data in memory (no LevelDB,
 * no fsync). Only the hub's environment or config changes, never its code.
 */
import { runCallLatency, type CallLatencyOptions, type LevelResult } from './call-latency.bench.ts'

export interface CallDiagnosisOptions {
  boards: number
  base: Omit<CallLatencyOptions, 'levels' | 'profileAt' | 'calmGapMs' | 'hub' | 'log'>
  variants: Array<{ name: string; env?: Record<string, string>; memory?: boolean }>
  log: (line: string) => void
}

export interface CallDiagnosisResult {
  boards: number
  variants: Array<{ name: string; level: LevelResult | null; error?: string }>
}

export async function runCallDiagnosis(o: CallDiagnosisOptions): Promise<CallDiagnosisResult> {
  const variants: CallDiagnosisResult['variants'] = []
  for (const v of o.variants) {
    try {
      const r = await runCallLatency({
        ...o.base,
        levels: [o.boards],
        profileAt: null,
        calmGapMs: 0,
        hub: { ...(v.env ? { env: v.env } : {}), ...(v.memory ? { memory: true } : {}) },
        log: (line) => o.log(`[${v.name}] ${line}`),
      })
      variants.push({ name: v.name, level: r.levels[0] ?? null })
    } catch (err) {
      variants.push({ name: v.name, level: null, error: (err as Error).message })
    }
  }
  return { boards: o.boards, variants }
}

/**
 * The shape of docs/benchmarks.json: every section's raw figures, the machine
 * they were measured on, and each target of issue 9 with its verdict.
 */
import type { CallLatencyResult } from './call-latency.bench.ts'
import type { CentralScaleResult } from './central-scale.bench.ts'
import type { FootprintResult } from './edge-footprint.bench.ts'
import type { ThroughputResult } from './hub-throughput.bench.ts'
import type { WritePathResult } from './write-path.bench.ts'
import type { LoginStormResult } from './login-storm.bench.ts'
import type { CallDiagnosisResult } from './call-diagnosis.bench.ts'
import type { LiveStreamsResult } from './live-streams.bench.ts'
import type { MachineInfo } from './support/machine.ts'

export interface SectionResults {
  writePath?: WritePathResult
  callLatency?: CallLatencyResult
  throughput?: ThroughputResult
  footprint?: FootprintResult
  centralScale?: CentralScaleResult
  loginStorm?: LoginStormResult
  callDiagnosis?: CallDiagnosisResult
  /** Hub memory under idle dashboard live streams (issue 20, C). */
  liveStreams?: LiveStreamsResult
  /** Reserved for the journal bench (append rate, 10,000-event backlog drain), written on the journal's branch. */
  journal?: unknown
}

export type SectionName = keyof SectionResults

export interface TargetVerdict {
  id: string
  target: string
  measured: string
  /** null: not measured in this run. */
  met: boolean | null
}

export interface BenchRun {
  schema: 1
  mode: 'full' | 'quick'
  startedAt: string
  durationS: number
  machine: MachineInfo
  /** When each section last ran (a --only run refreshes some and keeps the rest). */
  sectionRunAt: Partial<Record<SectionName, string>>
  /** The commit each section last ran at (absent in runs recorded before it was kept). */
  sectionCommit?: Partial<Record<SectionName, string>>
  /** The sections this run measured (absent: every one): the others are kept from earlier runs. */
  ran?: SectionName[]
  config: Record<string, unknown>
  results: SectionResults
  targets: TargetVerdict[]
  errors: Partial<Record<SectionName, string>>
}

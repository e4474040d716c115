/**
 * `npm run bench`: the whole suite in one run, written to docs/benchmarks.md
 * and docs/benchmarks.json. `npm run bench:quick`: the same code with tiny
 * sizes (CI's smoke; it checks the benches still run, its figures mean
 * nothing) written under .tmp/bench/quick/.
 *
 *   --quick            the smoke sizes
 *   --only a,b         run only these sections; the rest is kept from the
 *                      existing JSON at the output (each section records when it ran)
 *   --out <dir>        where benchmarks.md/.json go
 *   --render           only write benchmarks.md again from the existing JSON
 *
 * Sections: writePath, callLatency, callDiagnosis, loginStorm, liveStreams, throughput, footprint, centralScale.
 * A figure never fails the run; a section that throws does (exit code 1),
 * after everything else has run and been written.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runCallLatency } from './call-latency.bench.ts'
import { runCentralScale } from './central-scale.bench.ts'
import { runFootprint } from './edge-footprint.bench.ts'
import { runThroughput } from './hub-throughput.bench.ts'
import { runWritePath } from './write-path.bench.ts'
import { runLoginStorm } from './login-storm.bench.ts'
import { runCallDiagnosis } from './call-diagnosis.bench.ts'
import { runLiveStreams } from './live-streams.bench.ts'
import { renderMarkdown, spliceReport } from './report.ts'
import type { BenchRun, SectionName, SectionResults } from './results.ts'
import { benchDataRoot, REPO } from './support/bench-hub.ts'
import { describeMachine } from './support/machine.ts'
import { judge } from './targets.ts'
import { FULL, QUICK, type BenchConfig } from './config.ts'

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' }, render: { type: 'boolean', default: false } },
  strict: true,
})
const mode = values.quick ? 'quick' : 'full'
const config: BenchConfig = values.quick ? QUICK : FULL
const outDir = values.out ?? (values.quick ? join(REPO, '.tmp/bench/quick') : join(REPO, 'docs'))
const ALL: SectionName[] = ['writePath', 'callLatency', 'callDiagnosis', 'loginStorm', 'liveStreams', 'throughput', 'footprint', 'centralScale']
const only = values.only ? (values.only.split(',').map((s) => s.trim()) as SectionName[]) : ALL
for (const s of only) if (!ALL.includes(s)) throw new Error(`unknown section "${s}"; sections: ${ALL.join(', ')}`)

const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)}  ${line}`)
const jsonPath = join(outDir, 'benchmarks.json')
async function writeReport(report: string): Promise<void> {
  const path = join(outDir, 'benchmarks.md')
  await writeFile(path, spliceReport(existsSync(path) ? readFileSync(path, 'utf8') : null, report))
}
if (values.render) {
  const saved = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchRun
  saved.targets = saved.mode === 'full' ? judge(saved) : []
  await writeFile(jsonPath, JSON.stringify(saved, null, 2) + '\n')
  await writeReport(renderMarkdown(saved))
  log(`rendered ${join(outDir, 'benchmarks.md')} from ${jsonPath}`)
  process.exit(0)
}
const previous: BenchRun | null = only.length < ALL.length && existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchRun) : null

const startedAt = new Date()
const t0 = performance.now()
log(`counter-edge bench (${mode}): ${only.join(', ')}`)
const machine = describeMachine(await benchDataRoot(), config.fsyncRounds)
log(`machine: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverageAtStart.join(' ')}, fsync p50 ${machine.fsyncMs.p50} ms`)

const results: SectionResults = { ...(previous?.results ?? {}) }
const sectionRunAt: BenchRun['sectionRunAt'] = { ...(previous?.sectionRunAt ?? {}) }
const sectionCommit: NonNullable<BenchRun['sectionCommit']> = { ...(previous?.sectionCommit ?? {}) }
const errors: BenchRun['errors'] = {}
const runners: Record<SectionName, () => Promise<unknown>> = {
  writePath: () => runWritePath({ ...config.writePath, log }),
  callLatency: () => runCallLatency({ ...config.callLatency, log }),
  throughput: () => runThroughput({ ...config.throughput, log }),
  footprint: () => runFootprint({ ...config.footprint, log }),
  centralScale: () => runCentralScale({ ...config.centralScale, log }),
  loginStorm: () => runLoginStorm({ ...config.loginStorm, log }),
  callDiagnosis: () => runCallDiagnosis({ ...config.callDiagnosis, log }),
  liveStreams: () => runLiveStreams({ ...config.liveStreams, log }),
  journal: async () => undefined,
}
for (const section of only) {
  log(`— ${section}`)
  const s0 = performance.now()
  try {
    ;(results as Record<string, unknown>)[section] = await runners[section]()
    sectionRunAt[section] = new Date().toISOString()
    sectionCommit[section] = machine.commit
  } catch (err) {
    errors[section] = (err as Error).stack ?? String(err)
    log(`${section} FAILED: ${(err as Error).message}`)
  }
  log(`${section} took ${Math.round((performance.now() - s0) / 1000)} s`)
}

const run: BenchRun = {
  schema: 1,
  mode,
  startedAt: startedAt.toISOString(),
  durationS: Math.round((performance.now() - t0) / 1000),
  machine,
  sectionRunAt,
  sectionCommit,
  ...(only.length < ALL.length ? { ran: only } : {}),
  config: config as unknown as Record<string, unknown>,
  results,
  targets: [],
  errors,
}
// The smoke's sizes make its figures meaningless: it judges nothing.
run.targets = mode === 'full' ? judge(run) : []
await mkdir(outDir, { recursive: true })
await writeFile(jsonPath, JSON.stringify(run, null, 2) + '\n')
await writeReport(renderMarkdown(run))
log(`wrote ${join(outDir, 'benchmarks.md')} and benchmarks.json in ${run.durationS} s`)
for (const t of run.targets) log(`${t.met === null ? '·' : t.met ? '✓' : '✗'} ${t.target}: ${t.measured}`)
if (Object.keys(errors).length > 0) {
  for (const [s, e] of Object.entries(errors)) console.error(`\n${s} failed:\n${e}`)
  process.exitCode = 1
}
// Sockets of stopped clients must not keep the process alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref()

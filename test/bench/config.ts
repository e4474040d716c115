/**
 * Sizes of a full run and of the CI smoke. A full run takes about half an
 * hour on the 2-core box; the smoke about a minute.
 */
import type { CallLatencyOptions } from './call-latency.bench.ts'
import type { CentralScaleOptions } from './central-scale.bench.ts'
import type { FootprintOptions } from './edge-footprint.bench.ts'
import type { ThroughputOptions } from './hub-throughput.bench.ts'
import type { WritePathOptions } from './write-path.bench.ts'
import type { LoginStormOptions } from './login-storm.bench.ts'
import type { CallDiagnosisOptions } from './call-diagnosis.bench.ts'
import type { LiveStreamsOptions } from './live-streams.bench.ts'

type Sized<T> = Omit<T, 'log'>

export interface BenchConfig {
  fsyncRounds: number
  writePath: Sized<WritePathOptions>
  callLatency: Sized<CallLatencyOptions>
  throughput: Sized<ThroughputOptions>
  footprint: Sized<FootprintOptions>
  centralScale: Sized<CentralScaleOptions>
  loginStorm: Sized<LoginStormOptions>
  callDiagnosis: Sized<CallDiagnosisOptions>
  liveStreams: Sized<LiveStreamsOptions>
}

const LIVE_VARIANTS: LiveStreamsOptions['variants'] = [
  { name: 'as shipped (256 streams, 16 per address, 64 KiB each)' },
  { name: 'caps raised to 3,000 streams: the 64 KiB bound alone', limits: { maxLiveStreams: 3_000, maxLiveStreamsPerAddress: 3_000 } },
  { name: 'caps raised, no bound, no batching: the hub before issue 20', limits: { maxLiveStreams: 3_000, maxLiveStreamsPerAddress: 3_000, maxLiveStreamBufferedBytes: 1e15, liveStreamBatchMs: 0 } },
]

const HUB_VARIANTS: CallDiagnosisOptions['variants'] = [
  { name: 'hub as shipped' },
  { name: 'hub with UV_THREADPOOL_SIZE=16', env: { UV_THREADPOOL_SIZE: '16' } },
  { name: 'hub with its data in memory (no dataDir)', memory: true },
]

const LEVERS: FootprintOptions['variants'] = [
  { name: "dist under the board unit's flags, code cache off (COUNTER_EDGE_CODE_CACHE=off: the shipped start before issue 22)", bundle: 'dist', flags: [], unitFlags: true, codeCache: 'off' },
  { name: "code cache of the bundle, first start (none yet: a board's first start, or its first after an update)", bundle: 'dist', flags: [], unitFlags: true, codeCache: 'first' },
  { name: 'dist (npm run build), no node flags', bundle: 'dist', flags: [] },
  { name: 'dist + --max-semi-space-size=1', bundle: 'dist', flags: ['--max-semi-space-size=1'] },
  { name: 'dist + --lite-mode', bundle: 'dist', flags: ['--lite-mode'] },
  { name: 'esbuild bundle', bundle: 'plain', flags: [] },
  { name: 'esbuild bundle + --max-semi-space-size=1', bundle: 'plain', flags: ['--max-semi-space-size=1'] },
  { name: 'esbuild bundle + --lite-mode', bundle: 'plain', flags: ['--lite-mode'] },
  { name: 'trimmed bundle (minified; no ws, socks, pino-pretty)', bundle: 'trimmed', flags: [] },
  { name: 'trimmed bundle + --max-semi-space-size=1', bundle: 'trimmed', flags: ['--max-semi-space-size=1'] },
  { name: 'trimmed bundle + --lite-mode', bundle: 'trimmed', flags: ['--lite-mode'] },
  { name: 'V8 startup snapshot of the edge command, under the board unit\'s flags', bundle: 'snapshot', flags: [] },
]

export const FULL: BenchConfig = {
  fsyncRounds: 200,
  writePath: { packets: 20_000 },
  callLatency: {
    levels: [1, 50, 200, 500, 1000],
    warmupMs: 5_000,
    measureMs: 20_000,
    minCallSamples: 200,
    maxMeasureMs: 60_000,
    gapMs: 1_000,
    singleBoardGapMs: 100,
    floorIntervalMs: 50,
    idleFloorMs: 10_000,
    connectBatch: 25,
    calmGapMs: 15_000,
    calmMeasureMs: 60_000,
    profileAt: 200,
    profileMs: 8_000,
  },
  throughput: {
    publishers: 50,
    window: 10,
    warmupMs: 3_000,
    measureMs: 10_000,
    // Four: a neighbour can move one run by a third, and the ratio is the median over rounds.
    rounds: 4,
    variants: ['mosquitto', 'mosquitto+bridge', 'hub', 'hub-memory', 'aedes-bare'],
    profileMs: 6_000,
  },
  footprint: {
    repeats: 3,
    settleMs: 2_000,
    idleMs: 5_000,
    burst: 200,
    variants: LEVERS,
    modules: ['mqtt', 'zod', 'pino', 'pino-pretty', 'aedes', 'level', 'onoff', 'i2c-bus'],
    projectModules: ['edge/protocol/index.ts', 'boards/profile-schema.ts', 'edge/main.ts'],
  },
  centralScale: {
    halls: 20,
    windowsPerHall: 50,
    workers: 2,
    gapsMs: [4_000, 1_000],
    warmupMs: 8_000,
    measureMs: 20_000,
  },
  loginStorm: { sizes: [50, 200, 400], budgetMs: 60_000, guessStorm: { attempts: 400, logins: 15 } },
  liveStreams: { streams: 3_000, addresses: 150, events: 1_000, baselineEvents: 200, variants: LIVE_VARIANTS },
  callDiagnosis: {
    boards: 200,
    variants: HUB_VARIANTS,
    base: { warmupMs: 5_000, measureMs: 20_000, minCallSamples: 200, maxMeasureMs: 40_000, gapMs: 1_000, singleBoardGapMs: 100, floorIntervalMs: 50, idleFloorMs: 2_000, calmMeasureMs: 0, connectBatch: 25, profileMs: 0 },
  },
}

export const QUICK: BenchConfig = {
  fsyncRounds: 20,
  writePath: { packets: 2_000 },
  callLatency: {
    levels: [1, 5],
    warmupMs: 1_000,
    measureMs: 2_000,
    minCallSamples: 10,
    maxMeasureMs: 4_000,
    gapMs: 200,
    singleBoardGapMs: 50,
    floorIntervalMs: 50,
    idleFloorMs: 1_000,
    connectBatch: 25,
    calmGapMs: 1_000,
    calmMeasureMs: 2_000,
    profileAt: 5,
    profileMs: 1_000,
  },
  throughput: {
    publishers: 5,
    window: 5,
    warmupMs: 500,
    measureMs: 1_500,
    rounds: 1,
    variants: ['mosquitto', 'hub', 'aedes-bare'],
    profileMs: 0,
  },
  footprint: {
    repeats: 1,
    settleMs: 200,
    idleMs: 500,
    burst: 10,
    variants: [LEVERS[0]!],
    modules: ['mqtt'],
    projectModules: [],
  },
  centralScale: {
    halls: 2,
    windowsPerHall: 3,
    workers: 1,
    gapsMs: [300],
    warmupMs: 1_000,
    measureMs: 2_000,
  },
  loginStorm: { sizes: [5], budgetMs: 10_000, guessStorm: { attempts: 40, logins: 3 } },
  liveStreams: { streams: 30, addresses: 3, events: 30, baselineEvents: 10, variants: [LIVE_VARIANTS[0]!] },
  callDiagnosis: {
    boards: 3,
    variants: HUB_VARIANTS,
    base: { warmupMs: 500, measureMs: 1_000, minCallSamples: 3, maxMeasureMs: 2_000, gapMs: 200, singleBoardGapMs: 50, floorIntervalMs: 50, idleFloorMs: 500, calmMeasureMs: 0, connectBatch: 25, profileMs: 0 },
  },
}

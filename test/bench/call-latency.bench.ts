/**
 * Call and press latency with 1, 50, 200 … boards busy, and the floor under
 * the same load, in one run: central (a real Mosquitto) → hub (`counter-edge
 * hub`, its own process, data on disk, its dashboard open and watched) →
 * simulated windows in this process.
 *
 * The same run climbs on to 500 and 1,000 boards for the scale question: the
 * boards already started keep being served while more are added, and each
 * level is measured after a warm-up.
 */
import { loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { freePort } from '../support/ports.ts'
import { startBenchMosquitto } from './support/bench-mosquitto.ts'
import { boardAccount, counterName, startHubProcess, type Account } from './support/bench-hub.ts'
import { CentralClient } from './support/central.ts'
import { FloorProbe } from './support/floor.ts'
import { startBareAedes } from './support/bare-aedes.ts'
import { HubTap } from './support/hub-tap.ts'
import { benchBoardLogger, InProcessBoard, startBoards } from './support/fleet.ts'
import { CpuMeter, memory } from './support/proc.ts'
import { RemoteInspector, RemoteLoopMonitor, RemoteProfiler, SelfProfiler, summarizeProfile, type LoopFigures, type ProfileSummary } from './support/profile.ts'
import { ServiceDriver } from './support/service.ts'
import { ratio, round, sleep, summarize, type Summary } from './support/stats.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'

export interface CallLatencyOptions {
  /** Boards busy at each measured level, ascending. */
  levels: number[]
  warmupMs: number
  measureMs: number
  /** A level's measurement goes on past measureMs until it has this many calls, up to maxMeasureMs. */
  minCallSamples: number
  maxMeasureMs: number
  /** Mean pause between the steps of a window's service cycle (a cycle is about four). */
  gapMs: number
  /** The single-board level runs its cycle back to back (this gap), or it would take minutes to gather a p99. */
  singleBoardGapMs: number
  /** A floor message every this many ms, alongside the boards. */
  floorIntervalMs: number
  idleFloorMs: number
  /** After the climb, the top level is measured again at this pace (0: not), for this long. */
  calmGapMs: number
  calmMeasureMs: number
  /** Boards are brought online this many at a time (each batch connected before the next starts). */
  connectBatch: number
  /** Take CPU profiles of the bench process and the hub at this level (not during the measured window). */
  profileAt: number | null
  profileMs: number
  /** How the hub runs: as shipped unless a diagnosis changes its environment or keeps its data in memory. */
  hub?: { env?: Record<string, string>; memory?: boolean }
  log: (line: string) => void
}

export interface LevelResult {
  boards: number
  gapMs: number
  call: Summary
  floor: Summary
  /** The floor's messages read straight off central (one broker, no hub), same window. */
  centralOnly: Summary
  /** call / floor at p50 and p99: what the edge runtime adds to the bare transport. */
  callOverFloor: { p50: number; p99: number }
  press: Summary
  /** Press → the hub routed the event (custody fsync included); the rest is bridge and central. */
  pressToHub: Summary
  cyclesPerS: number
  callsPerS: number
  /** Messages central received per second (replies, events, state). */
  centralInPerS: number
  errors: number
  firstErrors: string[]
  cores: Record<string, number>
  benchRssMb: number
  hubRssMb: number
  /** Event-loop delay of the process that runs the boards, ms. */
  eventLoopDelay: { p50: number; p99: number; max: number }
  /** The hub's event loop in the same window (read through its inspector). */
  hubLoop: LoopFigures
  /** How long the boards added at this level took to come online (hub checks a scrypt hash per login). */
  onlineS: number
  measuredS: number
  /** 1-minute load average of the machine at the end of the level. */
  loadAverage: number
}

export interface CallLatencyResult {
  idleFloor: Summary
  idleCentralOnly: Summary
  /**
   * The same idle floor through a bare Aedes relay instead of the hub (support/bare-aedes-entry.ts:
   * no login, no disk, no checks), and central alone in that window: what any hub on Node, Aedes
   * and mqtt.js costs here. Measured with the hub as shipped only; null otherwise.
   */
  idleBare: { relay: Summary; centralOnly: Summary } | null
  /**
   * The same again with Mosquitto itself as the hall's broker, its own bridge bringing the hall's
   * commands in from central: what a broker in C costs on this two-hop path, so the idle call's
   * target (≤ 1.5× central alone) can be told apart from what two hops cost at all. Measured
   * with the hub as shipped only; null otherwise (and in results from before it was measured).
   */
  idleMosquittoHub?: { relay: Summary; centralOnly: Summary } | null
  levels: LevelResult[]
  /** The top level again at a hall's pace (a call per window about once a minute): what carrying that many boards means in service. */
  calm: LevelResult | null
  profiles: { boards: number; bench: ProfileSummary; hub: ProfileSummary } | null
  /** The level the climb could not reach, and why (null: every level was measured). */
  stoppedAt: { boards: number; reason: string } | null
  setup: { hubDataDir: string; boardLogLevel: string }
}

const HALL = 'bench-a'
/** The histogram records the whole timer interval; the delay is what exceeds it. */
const ELD_RESOLUTION_MS = 2
const lag = (ns: number) => round(Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS), 2)
const PASSWORD = 'bench-board-password'

export async function runCallLatency(o: CallLatencyOptions): Promise<CallLatencyResult> {
  const max = Math.max(...o.levels)
  const accounts: Account[] = [
    ...Array.from({ length: max }, (_, i) => boardAccount(HALL, counterName(i + 1), PASSWORD)),
    boardAccount(HALL, 'floor', 'bench-floor-password'),
    { username: `${HALL}-dashboard`, password: 'bench-dashboard-password', role: 'dashboard', hall: HALL, counter: null },
  ]
  const central = await startBenchMosquitto({ nodelay: true })
  // The hub is inspectable: its event loop is read every level, and it is profiled at one.
  const inspectPort = await freePort()
  const hub = await startHubProcess({ hall: HALL, accounts, upstreamUrl: central.url, inspectPort, watched: true, ...(o.hub?.env ? { env: o.hub.env } : {}), ...(o.hub?.memory ? { memory: true } : {}) })
  const inspector = new RemoteInspector(inspectPort)
  const hubLoop = new RemoteLoopMonitor(inspector)
  const boards: InProcessBoard[] = []
  let cc: CentralClient | null = null
  let floor: FloorProbe | null = null
  let tap: HubTap | null = null
  let driver: ServiceDriver | null = null
  try {
    cc = await CentralClient.connect(central.port, [HALL])
    floor = await FloorProbe.connect({ central: cc, centralPort: central.port, hubPort: hub.port, hall: HALL, counter: 'floor', username: `${HALL}-floor`, password: 'bench-floor-password' })
    tap = await HubTap.connect({ hubPort: hub.port, hall: HALL, username: `${HALL}-dashboard`, password: 'bench-dashboard-password' })

    // The bridge is up once a floor message comes through.
    const { through: idleFloor, centralOnly: idleCentralOnly } = await measureIdle(floor, { intervalMs: o.floorIntervalMs, measureMs: o.idleFloorMs, upWithinMs: 60_000, path: 'central → hub' })
    o.log(`idle floor: p50 ${idleFloor.p50} ms, p99 ${idleFloor.p99} ms (n=${idleFloor.n}); central alone p50 ${idleCentralOnly.p50}, p99 ${idleCentralOnly.p99}`)
    let idleBare: CallLatencyResult['idleBare'] = null
    let idleMosquittoHub: CallLatencyResult['idleMosquittoHub'] = null
    if (!o.hub) {
      floor.stop()
      const relayOpts = { central: cc, centralPort: central.port, floorIntervalMs: o.floorIntervalMs, measureMs: o.idleFloorMs }
      idleBare = await measureRelayIdle('bare Aedes', relayOpts)
      o.log(`idle floor through a bare Aedes: p50 ${idleBare.relay.p50} ms, p99 ${idleBare.relay.p99} ms (n=${idleBare.relay.n}); central alone p50 ${idleBare.centralOnly.p50}`)
      idleMosquittoHub = await measureRelayIdle('Mosquitto', relayOpts)
      o.log(`idle floor through Mosquitto as the hall's broker: p50 ${idleMosquittoHub.relay.p50} ms, p99 ${idleMosquittoHub.relay.p99} ms (n=${idleMosquittoHub.relay.n}); central alone p50 ${idleMosquittoHub.centralOnly.p50}`)
      floor.start(o.floorIntervalMs)
    }

    await hubLoop.start()
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    const log = benchBoardLogger()
    const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS })
    eld.enable()
    const levels: LevelResult[] = []
    let profiles: CallLatencyResult['profiles'] = null

    /** One measured window with the boards and pace as they are now. */
    const measure = async (level: number, gapMs: number, onlineS: number, measureMs = o.measureMs, maxMeasureMs = o.maxMeasureMs): Promise<LevelResult> => {
      const d = driver!
      const fl = floor!
      const cpu = new CpuMeter({ bench: process.pid, hub: hub.pid, mosquitto: central.pid })
      const centralBefore = cc!.totalReceived
      eld.reset()
      await hubLoop.read()
      d.startMeasuring()
      fl.startMeasuring()
      const m0 = performance.now()
      await sleep(measureMs)
      while (d.callCount < o.minCallSamples && performance.now() - m0 < maxMeasureMs) await sleep(250)
      const samples = d.stopMeasuring()
      const floorSamples = fl.stopMeasuring()
      const wallS = (performance.now() - m0) / 1000
      const cores = Object.fromEntries(Object.entries(cpu.stop()).map(([k, v]) => [k, v.cores]))
      const hubLoopFigures = await hubLoop.read()
      const call = summarize(samples.call)
      const floorS = summarize(floorSamples)
      const r: LevelResult = {
        boards: level,
        gapMs,
        call,
        floor: floorS,
        centralOnly: summarize(fl.directSamples),
        callOverFloor: { p50: ratio(call.p50, floorS.p50), p99: ratio(call.p99, floorS.p99) },
        press: summarize(samples.press),
        pressToHub: summarize(samples.pressToHub),
        cyclesPerS: round(samples.cycles / wallS, 1),
        callsPerS: round(samples.call.length / wallS, 1),
        centralInPerS: round((cc!.totalReceived - centralBefore) / wallS, 0),
        errors: samples.errors,
        firstErrors: samples.firstErrors,
        cores,
        benchRssMb: round(process.memoryUsage().rss / 2 ** 20, 1),
        hubRssMb: round(memory(hub.pid).rssMb, 1),
        eventLoopDelay: { p50: lag(eld.percentile(50)), p99: lag(eld.percentile(99)), max: lag(eld.max) },
        hubLoop: hubLoopFigures,
        onlineS: round(onlineS, 2),
        measuredS: round(wallS, 1),
        loadAverage: round(loadavg()[0]!, 2),
      }
      return r
    }

    let stoppedAt: CallLatencyResult['stoppedAt'] = null
    for (const level of o.levels) {
      const gapMs = level === 1 ? o.singleBoardGapMs : o.gapMs
      // A driver per level: its pace is the level's; the boards it serves are all started so far.
      await driver?.stop()
      const added: InProcessBoard[] = []
      for (let i = boards.length; i < level; i++) {
        const counter = counterName(i + 1)
        added.push(new InProcessBoard(HALL, counter, { profile, hubPort: hub.port, username: `${HALL}-${counter}`, password: PASSWORD, log: log.child({ counter }) }))
      }
      const t0 = performance.now()
      try {
        for (let i = 0; i < added.length; i += o.connectBatch) {
          const batch = added.slice(i, i + o.connectBatch)
          boards.push(...batch)
          await startBoards(batch)
          await cc.waitOnline(batch.map((b) => `${HALL}/${b.counter}`), 120_000)
        }
      } catch (err) {
        // What did not fit is a result too: the levels measured so far stand.
        stoppedAt = { boards: level, reason: (err as Error).message }
        o.log(`${level} boards: stopped: ${stoppedAt.reason}`)
        break
      }
      const onlineS = (performance.now() - t0) / 1000
      driver = new ServiceDriver(cc, { gapMs, tap })
      await driver.open(added)
      driver.start(boards)
      o.log(`${level} boards: ${added.length} added, online in ${round(onlineS, 1)} s; warming up`)
      await sleep(o.warmupMs)

      const r = await measure(level, gapMs, onlineS)
      levels.push(r)
      o.log(
        `${level} boards: call p50 ${r.call.p50} p99 ${r.call.p99} ms (n=${r.call.n}), floor p50 ${r.floor.p50} p99 ${r.floor.p99}, central alone p99 ${r.centralOnly.p99}, ` +
          `press p50 ${r.press.p50} p99 ${r.press.p99}, ${r.callsPerS} calls/s, errors ${r.errors}, cores ${JSON.stringify(r.cores)}, loop p99 ${r.eventLoopDelay.p99} ms`,
      )

      if (o.profileAt === level) {
        const self = new SelfProfiler()
        const remote = new RemoteProfiler(inspector)
        await remote.start()
        await self.start()
        await sleep(o.profileMs)
        // The bench's own profile stops first, so receiving the hub's profile is not in it.
        const bp = await self.stop()
        const hp = await remote.stop()
        profiles = { boards: level, bench: summarizeProfile(bp), hub: summarizeProfile(hp) }
        o.log(`profiled ${level} boards for ${o.profileMs} ms`)
      }
    }
    let calm: LevelResult | null = null
    if (o.calmGapMs > 0 && !stoppedAt && levels.length > 0) {
      const top = levels[levels.length - 1]!.boards
      await driver?.stop()
      driver = new ServiceDriver(cc, { gapMs: o.calmGapMs, tap })
      driver.start(boards)
      await sleep(o.warmupMs)
      calm = await measure(top, o.calmGapMs, 0, o.calmMeasureMs, o.calmMeasureMs)
      o.log(`${top} boards at a hall's pace: call p50 ${calm.call.p50} p99 ${calm.call.p99} ms (n=${calm.call.n}), floor p99 ${calm.floor.p99}, errors ${calm.errors}`)
    }
    eld.disable()
    return { idleFloor, idleCentralOnly, idleBare, idleMosquittoHub, levels, calm, profiles, stoppedAt, setup: { hubDataDir: hub.dataDir, boardLogLevel: process.env.BENCH_BOARD_LOG_LEVEL ?? 'info' } }
  } finally {
    await driver?.stop().catch(() => {})
    floor?.stop()
    await stopAll(boards)
    await floor?.close().catch(() => {})
    await tap?.close().catch(() => {})
    inspector.close()
    await cc?.close().catch(() => {})
    await hub.stop()
    await central.stop()
  }
}

async function stopAll(boards: InProcessBoard[]): Promise<void> {
  for (let i = 0; i < boards.length; i += 100) await Promise.all(boards.slice(i, i + 100).map((b) => b.stop().catch(() => {})))
}

/**
 * The idle floor's path with another relay where the hub was, in a window of
 * its own: a bare Aedes (no login, disk or checks) or Mosquitto with its own
 * bridge in from central. Same central, same pace, a client logged in the same
 * way (neither relay checks it), and central alone read alongside. The hub's
 * floor sends nothing meanwhile, and the relay serves another hall, so the hub
 * stays idle and every process on the path does what it does in the hub's
 * window.
 */
export async function measureRelayIdle(kind: 'bare Aedes' | 'Mosquitto', o: { central: CentralClient; centralPort: number; floorIntervalMs: number; measureMs: number }): Promise<{ relay: Summary; centralOnly: Summary }> {
  // A hall of its own, so the hub's bridge, the hub's floor client and its direct reader get none of these messages.
  const hall = kind === 'bare Aedes' ? `${HALL}-bare` : `${HALL}-mosquitto`
  const relay =
    kind === 'bare Aedes'
      ? await startBareAedes({ centralPort: o.centralPort, hall })
      : await startBenchMosquitto({ nodelay: true, bridge: { port: o.centralPort, topic: `hall/${hall}/#`, direction: 'in' } })
  let probe: FloorProbe | null = null
  try {
    probe = await FloorProbe.connect({ central: o.central, centralPort: o.centralPort, hubPort: relay.port, hall, counter: 'floor', username: `${hall}-floor`, password: 'bench-floor-password', directClientId: `bench-floor-relay-direct-${process.pid}` })
    const m = await measureIdle(probe, { intervalMs: o.floorIntervalMs, measureMs: o.measureMs, upWithinMs: 30_000, path: `central → ${kind}` })
    return { relay: m.through, centralOnly: m.centralOnly }
  } finally {
    await probe?.close()
    await relay.stop()
  }
}

/**
 * Starts a probe's messages, waits until one comes through (the path is up), lets it settle a second,
 * then measures: one-way times through the path and off central alone. The probe keeps sending.
 */
export async function measureIdle(probe: FloorProbe, o: { intervalMs: number; measureMs: number; upWithinMs: number; path: string }): Promise<{ through: Summary; centralOnly: Summary }> {
  probe.start(o.intervalMs)
  probe.startMeasuring()
  for (let waited = 0; probe.stopMeasuring().length === 0; waited += 200) {
    if (waited > o.upWithinMs) throw new Error(`no floor message came through ${o.path} within ${o.upWithinMs / 1000} s`)
    probe.startMeasuring()
    await sleep(200)
  }
  await sleep(1000)
  probe.startMeasuring()
  await sleep(o.measureMs)
  return { through: summarize(probe.stopMeasuring()), centralOnly: summarize(probe.directSamples) }
}

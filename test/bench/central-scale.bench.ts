/**
 * The central side: many simulated halls, a hub each, bridging into one
 * central Mosquitto, with one central client serving every window of every
 * hall. Halls run in worker processes (hub and windows of a hall share a
 * process, as `npm start` does); the bench process is central. Reported: call
 * and press latency across all halls, the message rate central sees, and what
 * each process costs.
 */
import { cpus } from 'node:os'
import { startBenchMosquitto } from './support/bench-mosquitto.ts'
import { CentralClient } from './support/central.ts'
import { HallWorker, WorkerBoard } from './support/hall-workers.ts'
import { CpuMeter, memory } from './support/proc.ts'
import { ServiceDriver } from './support/service.ts'
import { round, sleep, summarize, type Summary } from './support/stats.ts'

export interface CentralScaleOptions {
  halls: number
  windowsPerHall: number
  workers: number
  /** Service paces to measure, one after the other on the same halls (mean gap between steps, ms). */
  gapsMs: number[]
  warmupMs: number
  measureMs: number
  log: (line: string) => void
}

export interface PaceResult {
  gapMs: number
  call: Summary
  press: Summary
  callsPerS: number
  /** Messages per second central received (from the bridges) and sent (commands). */
  centralInPerS: number
  centralOutPerS: number
  errors: number
  firstErrors: string[]
  cores: Record<string, number>
  workerEventLoopP99Ms: number[]
}

export interface CentralScaleResult {
  halls: number
  windowsPerHall: number
  workers: number
  /** Time for every window of every hall to be online at central, s. */
  onlineS: number
  /** Largest clock offset between the bench and a worker, and the IPC round trip it was measured with, ms. */
  clock: { maxOffsetMs: number; rttMs: number }
  paces: PaceResult[]
  rssMb: { workers: number[]; mosquitto: number }
}

export async function runCentralScale(o: CentralScaleOptions): Promise<CentralScaleResult> {
  const central = await startBenchMosquitto({ nodelay: true })
  const workers: HallWorker[] = []
  let cc: CentralClient | null = null
  let driver: ServiceDriver | null = null
  try {
    cc = await CentralClient.connect(central.port, '+')
    const halls = Array.from({ length: o.halls }, (_, i) => `hall-${String(i + 1).padStart(2, '0')}`)
    const t0 = performance.now()
    for (let w = 0; w < o.workers; w++) workers.push(HallWorker.spawn())
    const assigned = workers.map((_, w) => halls.filter((_h, i) => i % o.workers === w))
    const ready = await Promise.all(workers.map((w, i) => w.start(assigned[i]!, o.windowsPerHall, central.url)))
    const boards = ready.flatMap((list, i) => list.map((b) => new WorkerBoard(workers[i]!, b.hall, b.counter)))
    await cc.waitOnline(
      boards.map((b) => `${b.hall}/${b.counter}`),
      300_000,
    )
    const onlineS = round((performance.now() - t0) / 1000, 1)
    o.log(`${o.halls} halls × ${o.windowsPerHall} windows in ${o.workers} workers: online at central in ${onlineS} s`)
    const offsets = await Promise.all(workers.map((w) => w.clockOffset()))
    const clock = { maxOffsetMs: round(Math.max(...offsets.map((x) => Math.abs(x.offsetMs))), 3), rttMs: round(Math.max(...offsets.map((x) => x.rttMs)), 3) }

    const paces: PaceResult[] = []
    let opened = false
    for (const gapMs of o.gapsMs) {
      await driver?.stop()
      driver = new ServiceDriver(cc, { gapMs, timeoutMs: 30_000 })
      if (!opened) {
        await driver.open(boards, 64)
        opened = true
      }
      driver.start(boards)
      await sleep(o.warmupMs)
      await Promise.all(workers.map((w) => w.stats())) // resets their loop-delay histograms
      const pids: Record<string, number> = { bench: process.pid, mosquitto: central.pid }
      workers.forEach((w, i) => (pids[`worker${i + 1}`] = w.pid))
      const cpu = new CpuMeter(pids)
      const in0 = cc.totalReceived
      const out0 = cc.sent
      driver.startMeasuring()
      const m0 = performance.now()
      await sleep(o.measureMs)
      const s = driver.stopMeasuring()
      const wallS = (performance.now() - m0) / 1000
      const cores = Object.fromEntries(Object.entries(cpu.stop()).map(([k, v]) => [k, v.cores]))
      const stats = await Promise.all(workers.map((w) => w.stats()))
      const r: PaceResult = {
        gapMs,
        call: summarize(s.call),
        press: summarize(s.press),
        callsPerS: round(s.call.length / wallS, 1),
        centralInPerS: round((cc.totalReceived - in0) / wallS, 0),
        centralOutPerS: round((cc.sent - out0) / wallS, 0),
        errors: s.errors,
        firstErrors: s.firstErrors,
        cores,
        workerEventLoopP99Ms: stats.map((x) => x.eventLoopP99Ms),
      }
      paces.push(r)
      o.log(
        `central, gap ${gapMs} ms: call p50 ${r.call.p50} p99 ${r.call.p99} ms (n=${r.call.n}), press p50 ${r.press.p50} p99 ${r.press.p99}, ` +
          `${r.callsPerS} calls/s, central in ${r.centralInPerS}/s out ${r.centralOutPerS}/s, errors ${r.errors}, cores ${JSON.stringify(cores)}`,
      )
    }
    const stats = await Promise.all(workers.map((w) => w.stats()))
    return {
      halls: o.halls,
      windowsPerHall: o.windowsPerHall,
      workers: o.workers,
      onlineS,
      clock,
      paces,
      rssMb: { workers: stats.map((x) => x.rssMb), mosquitto: round(memory(central.pid).rssMb, 1) },
    }
  } finally {
    await driver?.stop().catch(() => {})
    await Promise.all(workers.map((w) => w.stop().catch(() => {})))
    await cc?.close().catch(() => {})
    await central.stop()
  }
}

/** Workers to spread halls over: one per core is all the machine has. */
export function defaultWorkers(): number {
  return Math.max(1, cpus().length)
}

/**
 * `npm run bench:journal`: the board journal's figures for docs/benchmarks.md.
 *
 *   1. append rate on disk: bursts (grouped commits) and one event at a time
 *      (each waits for its own fsync, as events at a window's pace do);
 *   2. recovery time of a journal with many waiting entries;
 *   3. drain of a 10,000-event backlog through a real hub, and the round trip
 *      of a command sent while that backlog drains.
 *
 * BENCH_DIR chooses the filesystem (default: the OS temp dir); run it on the
 * board's SD card for the figures that matter there. Hub and board share this
 * machine and its cores, so the drain figures are a floor, not a ceiling.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { silentLogger } from '../../edge/shared/logger.ts'
import { Journal } from '../../edge/link/journal.ts'
import { SegmentStorage } from '../../edge/link/journal-segments.ts'
import { startHub } from '../../hub/main.ts'
import { HubTap, writeBoardCredentials } from '../support/hub-tap.ts'
import { freePort } from '../support/ports.ts'
import { command, eventually } from '../support/probe.ts'

const log = silentLogger()
const GENERATOR = fileURLToPath(new URL('../support/event-generator.ts', import.meta.url))
const root = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'journal-bench-'))
const topic = 'hall/hall-1/counter/w05/event/evaluated'
const payload = (i: number) =>
  Buffer.from(JSON.stringify({ v: 1, id: `w05-3f9a1c2b7d4e-${i}`, boot: '3f9a1c2b7d4e', seq: i, ts: new Date().toISOString(), synced: true, type: 'evaluated', ticket: 'A023', officer: 'li-na', score: 'satisfied', scale: 3, latencyMs: 4200 }))
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!
const ms = (x: number) => `${x.toFixed(2)} ms`
const lines: string[] = []
const out = (s: string) => {
  lines.push(s)
  console.log(s)
}

async function open(dir: string) {
  const storage = new SegmentStorage({ dir, log })
  const journal = new Journal({ storage, log })
  const t0 = performance.now()
  const recovered = await journal.open()
  return { journal, storage, openMs: performance.now() - t0, recovered }
}

out(`journal bench: node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, dir ${root}`)
out(`record: ${payload(0).length} B payload (an evaluated event)`)

// 1a. Bursts: 100,000 events, 1,000 per turn of the event loop.
{
  const { journal, storage } = await open(join(root, 'burst'))
  const total = 100_000
  const t0 = performance.now()
  for (let i = 0; i < total; i++) {
    journal.append({ cls: 'event', topic, payload: payload(i), qos: 1, retain: false })
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r))
  }
  await journal.flush()
  const s = (performance.now() - t0) / 1000
  out(`append, bursts of 1,000: ${Math.round(total / s).toLocaleString('en')} events/s, ${(storage.stats.bytes / s / 1e6).toFixed(1)} MB/s, ${storage.stats.syncs} fsyncs for ${total.toLocaleString('en')} events, ${storage.stats.segments} segments`)
  await journal.close()
  // 2. Recovery of those 100,000 waiting entries.
  const again = await open(join(root, 'burst'))
  out(`recovery: ${again.recovered.entries.length.toLocaleString('en')} waiting entries in ${again.recovered.segments} segments read in ${ms(again.openMs)}`)
  await again.journal.close()
}

// 1b. One at a time: each append waits for its commit (one fsync each).
{
  const { journal } = await open(join(root, 'single'))
  const n = 500
  const lat: number[] = []
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    journal.append({ cls: 'event', topic, payload: payload(i), qos: 1, retain: false })
    await journal.flush()
    lat.push(performance.now() - t)
  }
  const s = (performance.now() - t0) / 1000
  out(`append one at a time (fsync each): ${Math.round(n / s).toLocaleString('en')} events/s; commit latency p50 ${ms(quantile(lat, 0.5))}, p99 ${ms(quantile(lat, 0.99))}`)
  await journal.close()
}

// 3. A 10,000-event backlog drained through a real hub, with commands answered during the drain.
//    The board is its own process (the crash tests' generator: startEdge, sim hardware, on-disk journal).
async function drain(label: string, backlogRate: number | undefined) {
  const hall = 'hall-1'
  const counter = 'w05'
  const base = `hall/${hall}/counter/${counter}`
  const dir = await mkdtemp(join(root, 'drain-'))
  const { credentialsFile, board } = await writeBoardCredentials(dir, hall, counter)
  const port = await freePort()
  const backlog = 10_000
  const config = join(dir, 'board.json')
  await writeFile(config, JSON.stringify({ hall, counter, port, username: board.username, password: board.password, dataDir: join(dir, 'board'), limit: backlog, batch: backlog, ...(backlogRate ? { backlogRate } : {}) }))
  // The board starts while its hub is down: everything it produces waits in the journal.
  const child = spawn(process.execPath, ['--import', 'tsx', GENERATOR, config], { stdio: ['ignore', 'pipe', 'ignore'] })
  let stdout = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
  await eventually(() => stdout.includes('durable '), 60_000, 'the board to journal its backlog')
  const hub = await startHub({ hall, port, credentialsFile }, log)
  const tap = await HubTap.attach(hub, `${base}/#`)
  await tap.waitFor((m) => m.topic === `${base}/status` && m.payload.online === true, 30_000, 'the birth')
  const t0 = performance.now()
  let events = 0
  let drained = false
  const roundTrips: number[] = []
  const sync = async () => {
    const cmd = command({})
    const t = performance.now()
    await tap.publish(`${base}/cmd/sync`, cmd)
    await tap.waitFor((m) => m.topic === `${base}/reply` && m.payload.cmd === cmd.id, 10_000, 'a reply')
    return performance.now() - t
  }
  const during = (async () => {
    while (!drained) {
      const rt = await sync()
      if (!drained) roundTrips.push(rt)
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  const counted = tap.messages.length
  await eventually(() => {
    // Count and forget, so a long drain does not make each check slower.
    for (const m of tap.messages.splice(counted)) if (m.topic.startsWith(`${base}/event/`)) events++
    return events >= backlog
  }, 120_000, 'the backlog at the hub')
  const drainS = (performance.now() - t0) / 1000
  drained = true
  await during
  const idle: number[] = []
  for (let i = 0; i < 50; i++) idle.push(await sync())
  out(`drain of a ${backlog.toLocaleString('en')}-event backlog, ${label}: ${drainS.toFixed(2)} s (${Math.round(backlog / drainS).toLocaleString('en')} events/s)`)
  out(`  command → reply while draining: p50 ${ms(quantile(roundTrips, 0.5))}, p90 ${ms(quantile(roundTrips, 0.9))}, max ${ms(Math.max(...roundTrips))} (${roundTrips.length} commands); idle: p50 ${ms(quantile(idle, 0.5))}, p90 ${ms(quantile(idle, 0.9))}`)
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
  await hub.stop()
}
await drain('paced at the default 1,000/s (board in its own process, window 32, 8 kept for live)', undefined)
await drain('unpaced', 1e9)

await rm(root, { recursive: true, force: true })
process.exit(0)

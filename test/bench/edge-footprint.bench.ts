/**
 * The edge runtime's footprint as a board would run it: a child process
 * (`node cli/counter-edge.mjs edge --config board.json`, a simulated
 * board profile) against a real hub, timed from spawn to its birth at the hub,
 * with its resident memory once online and its CPU while idle; beside a bare
 * `node -e` process measured the same way.
 *
 * Then what the memory is made of: the RSS each dependency adds when imported
 * alone, and the cheap levers that need no change to the runtime — an esbuild
 * bundle (no TypeScript compile at start, one file per chunk) and V8 flags a
 * systemd unit could pass.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { MqttClient } from 'mqtt'
import { boardAccount, benchDataRoot, CLI, REPO, startHubProcess } from './support/bench-hub.ts'
import { buildEdgeBundle, type EdgeBundle } from './support/bundle.ts'
import { buildDist } from '../../cli/build/bundle.ts'
import { CACHE_SAVE_DELAY_MS } from '../../cli/board-main.ts'
import { buildBoardSnapshot, type BoardSnapshot } from './support/board-snapshot.ts'
import { boardUnitEnvironment, boardUnitNodeFlags } from '../support/systemd-units.ts'
import { connectPlain } from './support/net.ts'
import { cpuSeconds, memory } from './support/proc.ts'
import { round, sleep } from './support/stats.ts'

export interface FootprintOptions {
  /** Starts per variant; the median is reported. */
  repeats: number
  settleMs: number
  idleMs: number
  /**
   * Levers to try beyond what ships (the board unit, and the launcher a checkout runs): which bundle and which node flags.
   * 'snapshot': a V8 startup snapshot of the edge command, built and run under the board unit's flags (plus these).
   */
  variants: Array<{
    name: string
    bundle: 'plain' | 'trimmed' | 'dist' | 'snapshot'
    flags: string[]
    /** dist only: the board unit's flags before `flags`. */
    unitFlags?: boolean
    /**
     * dist only: the board bundle's code cache (cli/bundle-code-cache.ts). 'off' (the default for dist rows):
     * COUNTER_EDGE_CODE_CACHE=off, the ESM build as before issue 22; 'first': no cache at any start (each a
     * board's first); 'second': a cache written by an earlier start, as at every start of a board but its first.
     */
    codeCache?: 'off' | 'first' | 'second'
  }>
  /** Commands in the burst after the idle measurement (0: none). */
  burst: number
  modules: string[]
  /** Project modules (paths from the repository root), measured under tsx. */
  projectModules: string[]
  log: (line: string) => void
}

export interface StartFigures {
  variant: string
  command: string
  /** spawn → birth routed by the hub (for the bare baseline: spawn → TCP connect), ms; median, and the best start. */
  startMs: number
  startBestMs: number
  /**
   * CPU the process had used (its threads included) when it came online, ms; median. Unlike the wall-clock start,
   * it barely moves with the load of a shared machine, so it compares variants measured at different times.
   */
  startCpuMs: number
  /** RSS when it came online, and after settling. */
  rssOnlineMb: number
  rssSettledMb: number
  /** Share of one core while idle, %. */
  idleCpuPct: number
  /** From its own log lines (ms clock): spawn → devices built and link started; spawn → CONNACK from the hub. */
  runtimeStartedMs: number
  connectedMs: number
  /** A burst of commands sent at the hub (call, no-show, …): CPU the board spent per command, and command → reply at the hub. */
  cpuMsPerCommand: number
  commandReplyMs: number
  runs: number
  /** V8's view of the settled process (last run): what the RSS above the bare process is made of. */
  heap?: HeapStats
}

export interface HeapStats {
  heapCommittedMb: number
  heapUsedMb: number
  newSpaceCommittedMb: number
  oldSpaceCommittedMb: number
  largeObjectsMb: number
  codeSpaceMb: number
  externalMb: number
  scriptSourceMb: number
}

export interface ModuleCost {
  module: string
  /** 'node': imported into a bare process; 'tsx': a project module, relative to a process with tsx's loader registered. */
  base: 'node' | 'tsx'
  /** RSS added by importing it into a bare process, MB. */
  rssMb: number
  heapMb: number
}

export interface FootprintResult {
  starts: StartFigures[]
  modules: ModuleCost[]
  bareRssMb: number
  bundle: EdgeBundle
  trimmedBundle: EdgeBundle
  /** The startup snapshot's blob, when a variant runs one. */
  snapshot?: { blobMb: number; buildMs: number }
  /** CONNECT → CONNACK at the hub for a board account (one scrypt check), ms: part of every start-to-online. */
  hubLoginMs: number
}

/** Loaded with --import into every measured start: on SIGUSR2 it prints V8's heap figures to stderr. */
const HEAP_PROBE = `
import v8 from 'node:v8'
process.on('SIGUSR2', () => {
  const m = process.memoryUsage()
  const sp = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s]))
  const c = v8.getHeapCodeStatistics()
  const mb = (b) => Math.round((b / 1048576) * 10) / 10
  process.stderr.write('HEAPSTATS ' + JSON.stringify({
    heapCommittedMb: mb(m.heapTotal), heapUsedMb: mb(m.heapUsed),
    newSpaceCommittedMb: mb(sp.new_space?.physical_space_size ?? 0), oldSpaceCommittedMb: mb(sp.old_space?.physical_space_size ?? 0),
    largeObjectsMb: mb((sp.large_object_space?.physical_space_size ?? 0) + (sp.code_large_object_space?.physical_space_size ?? 0)),
    codeSpaceMb: mb(sp.code_space?.physical_space_size ?? 0), externalMb: mb(m.external), scriptSourceMb: mb(c.external_script_source_size),
  }) + '\\n')
})
`

/** The start every figure called "as shipped" refers to: the board's systemd unit. */
export const AS_SHIPPED = 'as shipped: the board unit'
/** Starts through the tsx launcher, as `npm start` and a checkout without dist/ run. */
export const LAUNCHER = 'launcher (tsx'
export const LAUNCHER_WARM = `${LAUNCHER}; a checkout without dist/), warm compile cache`

const HALL = 'bench-f'
const COUNTER = 'w0001'

export async function runFootprint(o: FootprintOptions): Promise<FootprintResult> {
  const account = boardAccount(HALL, COUNTER, 'bench-footprint-password')
  const watcher = { username: `${HALL}-dashboard`, password: 'bench-watch-password', role: 'dashboard' as const, hall: HALL, counter: null }
  // Commands go in at the hub under the bridge's role, as the bridge injects central's.
  const commander = { username: `${HALL}-bridge`, password: 'bench-commander-password', role: 'bridge' as const, hall: HALL, counter: null }
  const hub = await startHubProcess({ hall: HALL, accounts: [account, watcher, commander] })
  const dir = await mkdtemp(join(await benchDataRoot(), 'footprint-'))
  const listener = await tcpListener()
  try {
    const bundle = await buildEdgeBundle(join(dir, 'bundle'))
    const trimmedBundle = await buildEdgeBundle(join(dir, 'bundle-trimmed'), { minify: true, trim: true })
    // What `npm run build` ships for boards (packages stay in node_modules); built below the repository so it finds package.json.
    const dist = await buildDist(join(REPO, '.tmp', 'bench', `dist-${process.pid}`))
    const unitFlags = await boardUnitNodeFlags()
    // The unit's environment too (MALLOC_MMAP_THRESHOLD_): what a board runs with, for every start under the unit's flags.
    const unitEnv = await boardUnitEnvironment()
    const snapshotFlags = o.variants.find((v) => v.bundle === 'snapshot')?.flags
    const snapshot: BoardSnapshot | null = snapshotFlags ? await buildBoardSnapshot(join(REPO, '.tmp', 'bench', `snapshot-${process.pid}`), [...unitFlags, ...snapshotFlags]) : null
    if (snapshot) o.log(`startup snapshot built in ${snapshot.buildMs} ms: ${snapshot.blobMb} MB blob`)
    o.log(`bundles built: the edge command loads ${bundle.edgeKb} kB of bundled code, ${trimmedBundle.edgeKb} kB trimmed and minified`)
    const probe = join(dir, 'heap-probe.mjs')
    await writeFile(probe, HEAP_PROBE)
    const logins: number[] = []
    for (let i = 0; i < 5; i++) {
      const t = performance.now()
      const c = await connectPlain(hub.port, { clientId: `${watcher.username}-login-${i}`, username: watcher.username, password: watcher.password, clean: true })
      logins.push(performance.now() - t)
      await c.endAsync(true)
    }
    const hubLoginMs = round(median(logins), 1)
    const config = join(dir, 'board.json')
    // The profile by path: a bundle cannot find boards/ relative to itself.
    await writeFile(
      config,
      JSON.stringify({ hall: HALL, counter: COUNTER, board: join(REPO, 'boards/sim-window.json'), hub: [`mqtt://127.0.0.1:${hub.port}`], username: account.username, password: account.password }),
    )
    // Births seen at the hub, by boot id order: each start waits for the next one.
    const watch = await connectPlain(hub.port, { clientId: `${watcher.username}-fp`, username: watcher.username, password: watcher.password, clean: true })
    const births: Array<() => void> = []
    watch.on('message', (_t, payload) => {
      if ((JSON.parse(payload.toString()) as { online?: boolean }).online) births.shift()?.()
    })
    await watch.subscribeAsync(`hall/${HALL}/counter/${COUNTER}/status`, { qos: 1 })
    await sleep(300) // the retained status of an earlier start, if any, arrives now and is ignored
    births.length = 0
    const cmd = await Commander.connect(hub.port, commander)

    const coldTmp = join(dir, 'cold')
    // noProbe: a snapshot's start runs no --import, and the heap probe's SIGUSR2 would kill it.
    // The config has no dataDir, so the board bundle's code cache goes beside it, in the build's own dist/.
    const codeCacheDir = join(dirname(dist.entry), 'code-cache')
    const noCodeCache = async () => {
      await rm(codeCacheDir, { recursive: true, force: true })
      return {}
    }
    const variants: Array<{ name: string; args: string[]; fresh?: () => Promise<Record<string, string>>; noProbe?: boolean; env?: Record<string, string>; warm?: boolean }> = [
      // A board starts from the code cache its earlier start wrote, at every start but its first (and its first after an update).
      { name: `${AS_SHIPPED}, code cache of the bundle, second start (dist under node ${unitFlags.join(' ')})`, args: [...unitFlags, dist.entry, 'edge', '--config', config], env: unitEnv, warm: true },
      { name: LAUNCHER_WARM, args: [CLI, 'edge', '--config', config] },
      {
        name: `${LAUNCHER}), cold cache (as every start under PrivateTmp=yes)`,
        args: [CLI, 'edge', '--config', config],
        fresh: async () => ({ TMPDIR: await mkdtemp(coldTmp) }),
      },
      ...o.variants.map((v) => ({
        name: v.name,
        noProbe: v.bundle === 'snapshot',
        args:
          v.bundle === 'snapshot'
            ? [...unitFlags, ...v.flags, '--snapshot-blob', snapshot!.blob, 'edge', '--config', config]
            : [...(v.unitFlags ? unitFlags : []), ...v.flags, (v.bundle === 'dist' ? dist : v.bundle === 'plain' ? bundle : trimmedBundle).entry, 'edge', '--config', config],
        env: { ...(v.unitFlags || v.bundle === 'snapshot' ? unitEnv : {}), ...(v.bundle === 'dist' && (v.codeCache ?? 'off') === 'off' ? { COUNTER_EDGE_CODE_CACHE: 'off' } : {}) },
        ...(v.bundle === 'dist' && v.codeCache === 'first' ? { fresh: noCodeCache } : {}),
        ...(v.bundle === 'dist' && v.codeCache === 'second' ? { warm: true } : {}),
      })),
    ]
    // Warm tsx's cache once so "warm" means warm.
    await startOnce([CLI, 'edge', '--config', config], {}, births, { settleMs: 0, idleMs: 0, probe: null, burst: 0, cmd })

    const starts: StartFigures[] = []
    starts.push(await bare(listener, o))
    o.log(`bare node: start ${starts[0]!.startMs} ms, RSS ${starts[0]!.rssSettledMb} MB`)
    for (const v of variants) {
      const runs: Array<Omit<StartFigures, 'variant' | 'command' | 'runs' | 'heap' | 'startBestMs'>> = []
      let heap: HeapStats | undefined
      // A start that leaves the code cache behind: online, then long enough for the save (cli/board-main.ts).
      if (v.warm) await startOnce(v.args, { ...v.env }, births, { settleMs: CACHE_SAVE_DELAY_MS + 1_500, idleMs: 0, probe: null, burst: 0, cmd })
      for (let i = 0; i < o.repeats; i++) {
        const r = await startOnce(v.args, { ...v.env, ...(v.fresh ? await v.fresh() : {}) }, births, { settleMs: o.settleMs, idleMs: o.idleMs, probe: v.noProbe ? null : probe, burst: o.burst, cmd })
        heap = r.heap ?? heap
        delete r.heap
        runs.push(r)
      }
      const f = { ...medianOf(runs), startBestMs: Math.min(...runs.map((x) => x.startMs)) }
      const shown = v.args.map((a) => a.replace(REPO, '').replace(`${dir}/`, '.tmp/')).join(' ')
      starts.push({ variant: v.name, command: `node ${shown}`, ...f, runs: runs.length, ...(heap ? { heap } : {}) })
      o.log(
        `${v.name}: start ${f.startMs} ms, ${f.startCpuMs} ms CPU (runtime up ${f.runtimeStartedMs}, CONNACK ${f.connectedMs}), RSS online ${f.rssOnlineMb} MB, settled ${f.rssSettledMb} MB, ` +
          `idle CPU ${f.idleCpuPct} %, ${f.cpuMsPerCommand} ms CPU/command, reply ${f.commandReplyMs} ms`,
      )
    }
    await watch.endAsync(true)
    await cmd.close()

    const modules: ModuleCost[] = []
    const base = await importCost(null, o.repeats, false)
    for (const m of o.modules) {
      const c = await importCost(m, o.repeats, false)
      modules.push({ module: m, base: 'node', rssMb: round(c.rss - base.rss, 1), heapMb: round(c.heap - base.heap, 1) })
    }
    const tsxBase = await importCost(null, o.repeats, true)
    modules.push({ module: 'tsx loader (registered, nothing compiled)', base: 'node', rssMb: round(tsxBase.rss - base.rss, 1), heapMb: round(tsxBase.heap - base.heap, 1) })
    for (const m of o.projectModules) {
      const c = await importCost(join(REPO, m), o.repeats, true)
      modules.push({ module: m, base: 'tsx', rssMb: round(c.rss - tsxBase.rss, 1), heapMb: round(c.heap - tsxBase.heap, 1) })
    }
    o.log(`import costs: ${modules.map((m) => `${m.module} +${m.rssMb} MB`).join(', ')}`)
    return { starts, modules, bareRssMb: round(base.rss, 1), bundle, trimmedBundle, ...(snapshot ? { snapshot: { blobMb: snapshot.blobMb, buildMs: snapshot.buildMs } } : {}), hubLoginMs }
  } finally {
    listener.close()
    await hub.stop()
    await rm(dir, { recursive: true, force: true })
    await rm(join(REPO, '.tmp', 'bench', `dist-${process.pid}`), { recursive: true, force: true })
    await rm(join(REPO, '.tmp', 'bench', `snapshot-${process.pid}`), { recursive: true, force: true })
  }
}

/** Starts the runtime, waits for its birth at the hub, measures, stops it cleanly. */
async function startOnce(
  args: string[],
  env: Record<string, string>,
  births: Array<() => void>,
  o: { settleMs: number; idleMs: number; probe: string | null; burst: number; cmd: Commander },
): Promise<Omit<StartFigures, 'variant' | 'command' | 'runs' | 'startBestMs'>> {
  const { settleMs, idleMs, probe } = o
  const online = new Promise<void>((r) => births.push(r))
  const t0 = performance.now()
  const spawnedAt = Date.now()
  const child = spawn(process.execPath, [...(probe ? ['--import', probe] : []), ...args], {
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  // pino's time field (ms since the epoch) on the runtime's own milestones.
  const marks: Record<string, number> = {}
  let stdout = ''
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
    let nl: number
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, nl)
      stdout = stdout.slice(nl + 1)
      try {
        const j = JSON.parse(line) as { msg?: string; time?: number }
        if (j.msg && j.time && marks[j.msg] === undefined) marks[j.msg] = j.time - spawnedAt
      } catch {
        // not a log line
      }
    }
  })
  try {
    await Promise.race([
      online,
      sleep(30_000).then(() => {
        throw new Error(`no birth within 30 s from ${args.join(' ')}: ${stderr.slice(-1000)}`)
      }),
      new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`edge exited (${code}) before coming online: ${stderr.slice(-1000)}`)))),
    ])
    const startMs = performance.now() - t0
    const startCpuMs = cpuSeconds(child.pid!) * 1000
    const rssOnlineMb = memory(child.pid!).rssMb
    await sleep(settleMs)
    const c0 = cpuSeconds(child.pid!)
    const i0 = performance.now()
    await sleep(idleMs)
    const idleCpuPct = idleMs > 0 ? ((cpuSeconds(child.pid!) - c0) / ((performance.now() - i0) / 1000)) * 100 : Number.NaN
    const rssSettledMb = memory(child.pid!).rssMb
    let cpuMsPerCommand = Number.NaN
    let commandReplyMs = Number.NaN
    if (o.burst > 0) {
      const c1 = cpuSeconds(child.pid!)
      const replies = await o.cmd.burst(HALL, COUNTER, o.burst)
      cpuMsPerCommand = ((cpuSeconds(child.pid!) - c1) * 1000) / replies.length
      commandReplyMs = median(replies)
    }
    let heap: HeapStats | undefined
    if (probe) {
      const before = stderr.length
      child.kill('SIGUSR2')
      for (let i = 0; i < 50 && !stderr.slice(before).includes('\n'); i++) await sleep(20)
      const line = /HEAPSTATS (\{.*\})/.exec(stderr.slice(before))?.[1]
      if (line) heap = JSON.parse(line) as HeapStats
    }
    return {
      startMs: round(startMs, 0),
      startCpuMs: round(startCpuMs, 0),
      rssOnlineMb: round(rssOnlineMb, 1),
      rssSettledMb: round(rssSettledMb, 1),
      idleCpuPct: round(idleCpuPct, 2),
      runtimeStartedMs: marks['edge runtime started'] ?? Number.NaN,
      connectedMs: marks['connected to hub'] ?? Number.NaN,
      cpuMsPerCommand: round(cpuMsPerCommand, 2),
      commandReplyMs: round(commandReplyMs, 2),
      ...(heap ? { heap } : {}),
    }
  } finally {
    await stopChild(child)
    if (env.TMPDIR) await rm(env.TMPDIR, { recursive: true, force: true })
  }
}

/** A bare Node process that connects to a TCP port and stays: the floor for start time, memory and idle CPU. */
async function bare(listener: { port: number; connected: Array<() => void> }, o: FootprintOptions): Promise<StartFigures> {
  const runs: Array<Omit<StartFigures, 'variant' | 'command' | 'runs' | 'heap' | 'startBestMs'>> = []
  const script = `require('net').connect(${listener.port}, '127.0.0.1'); setInterval(() => {}, 1 << 30)`
  for (let i = 0; i < o.repeats; i++) {
    const connected = new Promise<void>((r) => listener.connected.push(r))
    const t0 = performance.now()
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' })
    try {
      await connected
      const startMs = performance.now() - t0
      const startCpuMs = cpuSeconds(child.pid!) * 1000
      const rssOnlineMb = memory(child.pid!).rssMb
      await sleep(o.settleMs)
      const c0 = cpuSeconds(child.pid!)
      const i0 = performance.now()
      await sleep(o.idleMs)
      const idleCpuPct = o.idleMs > 0 ? ((cpuSeconds(child.pid!) - c0) / ((performance.now() - i0) / 1000)) * 100 : Number.NaN
      runs.push({
        startMs: round(startMs, 0),
        startCpuMs: round(startCpuMs, 0),
        rssOnlineMb: round(rssOnlineMb, 1),
        rssSettledMb: round(memory(child.pid!).rssMb, 1),
        idleCpuPct: round(idleCpuPct, 2),
        runtimeStartedMs: Number.NaN,
        connectedMs: round(startMs, 0),
        cpuMsPerCommand: Number.NaN,
        commandReplyMs: Number.NaN,
      })
    } finally {
      await stopChild(child)
    }
  }
  return {
    variant: 'bare node -e (connects a TCP socket, then idles)',
    command: 'node -e "<connect, idle>"',
    ...medianOf(runs),
    startBestMs: Math.min(...runs.map((x) => x.startMs)),
    runs: runs.length,
  }
}

function tcpListener(): Promise<{ port: number; connected: Array<() => void>; close(): void }> {
  const connected: Array<() => void> = []
  const sockets = new Set<import('node:net').Socket>()
  const server: Server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
    connected.shift()?.()
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address()
      resolve({
        port: typeof a === 'object' && a ? a.port : 0,
        connected,
        close: () => {
          for (const s of sockets) s.destroy()
          server.close()
        },
      })
    }),
  )
}

/** RSS and heap of a fresh process after importing one module (null: nothing), settled; median of repeats. */
async function importCost(module: string | null, repeats: number, tsx: boolean): Promise<{ rss: number; heap: number }> {
  const code = [
    module ? `await import(${JSON.stringify(module.startsWith('/') ? pathToFileURL(module).href : module)})` : '',
    'await new Promise((r) => setTimeout(r, 300))',
    'const m = process.memoryUsage()',
    'console.log(JSON.stringify({ rss: m.rss / 1048576, heap: m.heapUsed / 1048576 }))',
  ].join(';')
  const out: Array<{ rss: number; heap: number }> = []
  for (let i = 0; i < repeats; i++) {
    const text = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [...(tsx ? ['--import', 'tsx/esm'] : []), '--input-type=module', '-e', code], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
      let s = ''
      let e = ''
      child.stdout!.on('data', (d: Buffer) => (s += d.toString()))
      child.stderr!.on('data', (d: Buffer) => (e += d.toString()))
      child.once('exit', (c) => (c === 0 ? resolve(s) : reject(new Error(`import ${module} failed: ${e.slice(-500)}`))))
    })
    out.push(JSON.parse(text) as { rss: number; heap: number })
  }
  return { rss: median(out.map((x) => x.rss)), heap: median(out.map((x) => x.heap)) }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  await Promise.race([exited, sleep(5000)])
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL')
    await exited
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]!
}

function medianOf<T extends Record<string, number>>(runs: T[]): T {
  const keys = Object.keys(runs[0]!) as Array<keyof T>
  return Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k] as number))])) as T
}

/** Sends commands into the hall at the hub (bridge role) and waits for the window's replies. */
class Commander {
  private waiting = new Map<string, () => void>()
  private seq = 0

  private constructor(private readonly client: MqttClient) {
    client.on('message', (_t, payload) => {
      const id = (JSON.parse(payload.toString()) as { cmd?: string }).cmd
      if (id) {
        this.waiting.get(id)?.()
        this.waiting.delete(id)
      }
    })
  }

  static async connect(port: number, a: { username: string; password: string }): Promise<Commander> {
    const client = await connectPlain(port, { clientId: `${a.username}-cmd-${process.pid}`, username: a.username, password: a.password, clean: true })
    await client.subscribeAsync(`hall/${HALL}/counter/+/reply`, { qos: 1 })
    return new Commander(client)
  }

  private async send(hall: string, counter: string, name: string, args: Record<string, unknown>): Promise<number> {
    const id = `fp-${process.pid}-${this.seq++}`
    const replied = new Promise<void>((r) => this.waiting.set(id, r))
    const t0 = performance.now()
    await this.client.publishAsync(`hall/${hall}/counter/${counter}/cmd/${name}`, JSON.stringify({ id, expires: new Date(Date.now() + 60_000).toISOString(), ...args }), { qos: 1 })
    await Promise.race([replied, sleep(10_000).then(() => Promise.reject(new Error(`no reply to ${name} ${id}`)))])
    return performance.now() - t0
  }

  /** An officer signs in, then call / no-show pairs: what a busy window does, n commands in all. Returns each command's reply time. */
  async burst(hall: string, counter: string, n: number): Promise<number[]> {
    const times: number[] = []
    times.push(await this.send(hall, counter, 'officer', { action: 'sign-in', officer: 'bench-officer' }))
    for (let i = 1; i < n; i++) {
      times.push(await this.send(hall, counter, i % 2 ? 'call' : 'no-show', i % 2 ? { ticket: `A${100 + (i % 800)}` } : {}))
    }
    return times
  }

  async close(): Promise<void> {
    await this.client.endAsync(true)
  }
}

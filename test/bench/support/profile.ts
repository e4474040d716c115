/**
 * CPU profiles of a measured window, summarised into where the time goes: by
 * package or project folder, and the functions with the most self time. The
 * bench profiles itself through node:inspector, and a child (the hub) through
 * the DevTools protocol on the inspector port it was started with.
 */
import { get } from 'node:http'
import { Session } from 'node:inspector/promises'
import { WebSocket } from 'ws'
import { REPO } from './bench-hub.ts'

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }>
  samples?: number[]
  startTime: number
  endTime: number
}

export interface ProfileSummary {
  wallMs: number
  /** Time the thread was busy (not idle), ms, and as cores (busy/wall). */
  busyMs: number
  busyCores: number
  /** Shares of busy time. */
  byGroup: Array<{ group: string; ms: number; share: number }>
  topFunctions: Array<{ fn: string; where: string; ms: number; share: number }>
}

const SAMPLING_US = 500

export class SelfProfiler {
  private readonly session = new Session()

  async start(): Promise<void> {
    this.session.connect()
    await this.session.post('Profiler.enable')
    await this.session.post('Profiler.setSamplingInterval', { interval: SAMPLING_US })
    await this.session.post('Profiler.start')
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = await this.session.post('Profiler.stop')
    await this.session.post('Profiler.disable')
    this.session.disconnect()
    return profile as unknown as CpuProfile
  }
}

/** A DevTools-protocol session with a process started with --inspect=127.0.0.1:<port>. */
export class RemoteInspector {
  private ws: WebSocket | null = null
  private seq = 0
  private readonly pending = new Map<number, (result: unknown) => void>()

  constructor(private readonly port: number) {}

  async connect(): Promise<void> {
    if (this.ws) return
    // node:http rather than fetch: undici would add its own WebAssembly parser to the bench's profile.
    const list = JSON.parse(await httpGet(`http://127.0.0.1:${this.port}/json/list`)) as Array<{ webSocketDebuggerUrl: string }>
    const url = list[0]?.webSocketDebuggerUrl
    if (!url) throw new Error(`no inspector target on port ${this.port}`)
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 512 * 1024 * 1024 })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown }
      if (msg.id !== undefined) {
        this.pending.get(msg.id)?.(msg.result)
        this.pending.delete(msg.id)
      }
    })
    this.ws = ws
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.seq
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      this.ws!.send(JSON.stringify({ id, method, params }))
    })
  }

  /** Evaluates an expression in the target (with the console's require) and returns its value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.call('Runtime.evaluate', { expression, includeCommandLineAPI: true, returnByValue: true })) as { result: { value: T } }
    return r.result.value
  }

  close(): void {
    this.ws?.close()
    this.ws = null
  }
}

/** Profiles the target for a while. */
export class RemoteProfiler {
  constructor(private readonly inspector: RemoteInspector) {}

  async start(): Promise<void> {
    await this.inspector.connect()
    await this.inspector.call('Profiler.enable')
    await this.inspector.call('Profiler.setSamplingInterval', { interval: SAMPLING_US })
    await this.inspector.call('Profiler.start')
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = (await this.inspector.call('Profiler.stop')) as { profile: CpuProfile }
    await this.inspector.call('Profiler.disable')
    return profile
  }
}

/** A sampled allocation profile: what the heap sampler saw allocated while it ran (HeapProfiler.startSampling). */
export interface AllocationProfile {
  head: AllocationNode
}
interface AllocationNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: AllocationNode[]
}

/**
 * Where a process allocates: the garbage collector's share of a profile says how much it costs,
 * not who causes it. Samples every 32 KiB on average, including objects already collected
 * (V8's flags keep them), so short-lived garbage counts.
 */
export class RemoteAllocations {
  constructor(private readonly inspector: RemoteInspector) {}

  async start(): Promise<void> {
    await this.inspector.connect()
    await this.inspector.call('HeapProfiler.enable')
    await this.inspector.call('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  }

  async stop(): Promise<AllocationProfile> {
    const { profile } = (await this.inspector.call('HeapProfiler.stopSampling')) as { profile: AllocationProfile }
    await this.inspector.call('HeapProfiler.disable')
    return profile
  }
}

/** The functions that allocated most, and the same charged to the nearest project or package frame. */
export function summarizeAllocations(p: AllocationProfile, top = 25): { totalMiB: number; byFunction: Array<{ fn: string; where: string; share: number }>; byCaller: Array<{ where: string; share: number }> } {
  const fns = new Map<string, { fn: string; where: string; bytes: number }>()
  const callers = new Map<string, number>()
  let total = 0
  const walk = (n: AllocationNode, nearest: string) => {
    const { functionName, url, lineNumber } = n.callFrame
    const here = url && !url.startsWith('node:') ? `${shortWhere(url, lineNumber)} ${functionName || '(anonymous)'}` : nearest
    if (n.selfSize) {
      total += n.selfSize
      const key = `${functionName}@${url}:${lineNumber}`
      const f = fns.get(key) ?? { fn: functionName || '(anonymous)', where: url ? shortWhere(url, lineNumber) : 'native', bytes: 0 }
      f.bytes += n.selfSize
      fns.set(key, f)
      callers.set(here, (callers.get(here) ?? 0) + n.selfSize)
    }
    for (const c of n.children) walk(c, here)
  }
  walk(p.head, '(root)')
  const share = (b: number) => Math.round((b / (total || 1)) * 1000) / 10
  return {
    totalMiB: Math.round((total / 2 ** 20) * 10) / 10,
    byFunction: [...fns.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top).map((f) => ({ fn: f.fn, where: f.where, share: share(f.bytes) })),
    byCaller: [...callers].sort((a, b) => b[1] - a[1]).slice(0, top).map(([where, b]) => ({ where, share: share(b) })),
  }
}

export interface LoopFigures {
  /** Event-loop delay beyond the timer's own interval, ms. */
  delayP50Ms: number
  delayP99Ms: number
  delayMaxMs: number
  /** Share of the window the loop was busy (event-loop utilisation). */
  utilization: number
}

const LOOP_RESOLUTION_MS = 2

/** The target's event-loop delay and utilisation, read through the inspector: the hub's own view of a stall. */
export class RemoteLoopMonitor {
  constructor(private readonly inspector: RemoteInspector) {}

  async start(): Promise<void> {
    await this.inspector.connect()
    await this.inspector.evaluate(
      `(() => { const { monitorEventLoopDelay, performance } = require('node:perf_hooks'); const h = monitorEventLoopDelay({ resolution: ${LOOP_RESOLUTION_MS} }); h.enable(); globalThis.__benchLoop = { h, performance, elu: performance.eventLoopUtilization() }; return true })()`,
    )
  }

  /** Figures since start() or the last read; then starts over. */
  async read(): Promise<LoopFigures> {
    const raw = await this.inspector.evaluate<string>(
      '(() => { const b = globalThis.__benchLoop; const u = b.performance.eventLoopUtilization(b.elu); b.elu = b.performance.eventLoopUtilization(); const r = { p50: b.h.percentile(50), p99: b.h.percentile(99), max: b.h.max, u: u.utilization }; b.h.reset(); return JSON.stringify(r) })()',
    )
    const r = JSON.parse(raw) as { p50: number; p99: number; max: number; u: number }
    const lag = (ns: number) => Math.round(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) * 100) / 100
    return { delayP50Ms: lag(r.p50), delayP99Ms: lag(r.p99), delayMaxMs: lag(r.max), utilization: Math.round(r.u * 1000) / 1000 }
  }
}

/** Which package, project folder or runtime part a profile node belongs to. */
export function groupOf(url: string, fn: string): string {
  if (fn === '(idle)') return '(idle)'
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(program)') return 'V8/native (program)'
  if (!url) return 'native/builtins'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/')
    return `npm:${parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url)
    return `node:${m?.[1] ?? url}`
  }
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url
  if (path.startsWith(REPO)) {
    const rel = path.slice(REPO.length).split('/')
    // edge/link/board-link.ts → edge/link; hub/broker.ts → hub
    return rel.length > 2 ? `${rel[0]}/${rel[1]}` : rel[0]!
  }
  return path
}

function shortWhere(url: string, line: number): string {
  const nm = url.lastIndexOf('/node_modules/')
  const s = nm >= 0 ? url.slice(nm + '/node_modules/'.length) : url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname).replace(REPO, '') : url
  return s ? `${s}:${line + 1}` : ''
}

export function summarizeProfile(p: CpuProfile, top = 15): ProfileSummary {
  const wallMs = (p.endTime - p.startTime) / 1000
  const total = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1
  const msPer = wallMs / total
  const groups = new Map<string, number>()
  const fns = new Map<string, { fn: string; where: string; ms: number }>()
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  // Native code (a syscall binding, a builtin) is charged to the package or project code that called it, past Node's own layers.
  const callerGroup = (id: number): string => {
    let nodeLayer: string | null = null
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame
      if (!f.url) continue
      if (f.url.startsWith('node:')) {
        nodeLayer ??= groupOf(f.url, f.functionName)
        continue
      }
      return groupOf(f.url, f.functionName)
    }
    return nodeLayer ?? 'native/builtins'
  }
  let idle = 0
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0
    if (!hits) continue
    const { functionName, url, lineNumber } = n.callFrame
    let g = groupOf(url, functionName)
    if (g === 'native/builtins') g = `${callerGroup(n.id)} (native)`
    if (g === '(idle)') {
      idle += hits * msPer
      continue
    }
    groups.set(g, (groups.get(g) ?? 0) + hits * msPer)
    const native = !url && !functionName.startsWith('(')
    const key = native ? `${functionName}@${g}` : `${functionName}@${url}:${lineNumber}`
    const f = fns.get(key) ?? { fn: functionName || '(anonymous)', where: native ? `native, called from ${g.replace(/ \(native\)$/, '')}` : shortWhere(url, lineNumber), ms: 0 }
    f.ms += hits * msPer
    fns.set(key, f)
  }
  const busyMs = wallMs - idle
  const r = (x: number) => Math.round(x * 10) / 10
  const share = (ms: number) => Math.round((ms / (busyMs || 1)) * 1000) / 10
  return {
    wallMs: r(wallMs),
    busyMs: r(busyMs),
    busyCores: Math.round((busyMs / (wallMs || 1)) * 100) / 100,
    byGroup: [...groups.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([group, ms]) => ({ group, ms: r(ms), share: share(ms) })),
    topFunctions: [...fns.values()].sort((a, b) => b.ms - a.ms).slice(0, top).map((f) => ({ ...f, ms: r(f.ms), share: share(f.ms) })),
  }
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve(body))
    }).on('error', reject)
  })
}

/**
 * For each target a run does not meet: what stands in the way, read from the
 * same run's figures (floors, profiles, write-path counts, heap figures), and
 * what would remove it. Text only states what the figures show.
 */
import type { BenchRun } from './results.ts'
import { AS_SHIPPED, LAUNCHER_WARM } from './edge-footprint.bench.ts'
import { CALL_OVER_FLOOR, CALL_P99_MS, EDGE_RSS_MB, EDGE_START_MS, HUB_OVER_MOSQUITTO } from './targets.ts'

const r2 = (x: number) => Math.round(x * 100) / 100

export function obstacles(run: BenchRun): string {
  const r = run.results
  const out: string[] = []
  const c = r.callLatency
  const l200 = c?.levels.find((l) => l.boards === 200)
  if (c && l200 && l200.call.p99 > CALL_P99_MS) {
    const transportBound = l200.floor.p99 >= l200.call.p99 * 0.5
    out.push(
      `- **Call p99 at 200 boards: ${l200.call.p99} ms.** ` +
        (transportBound
          ? `The bare floor in the same window has p99 ${l200.floor.p99} ms, and central alone (one Mosquitto, no hub) ${l200.centralOnly.p99} ms; with no boards at all the floor's p99 was ${c.idleFloor.p99} ms. ` +
            `So the tail is not the edge runtime's: it builds up ${l200.centralOnly.p99 * 3 < l200.floor.p99 ? 'in the hub' : 'in the transport'}` +
            (l200.hubLoop ? ` (the hub's own event loop was late by up to ${l200.hubLoop.delayP99Ms} ms at p99 and ${l200.hubLoop.delayMaxMs} ms at worst, busy ${Math.round(l200.hubLoop.utilization * 100)} % of the time)` : '') +
            `, while other tenants took ${l200.cores.others} of the 2 cores. `
          : `The floor in the same window has p99 ${l200.floor.p99} ms: the runtime itself adds the tail (see the profile). `) +
        `At p50 the runtime adds ${r2(l200.call.p50 - l200.floor.p50)} ms to the floor (${l200.floor.p50} ms), and the hub ${r2(l200.floor.p50 - l200.centralOnly.p50)} ms to central alone (${l200.centralOnly.p50} ms). ` +
        diagnosis(run) +
        (c.profiles
          ? `In the profiles below, the boards' process spends most on ${topGroups(c.profiles.bench.byGroup)}; the hub on ${topGroups(c.profiles.hub.byGroup)}.`
          : ''),
    )
  }
  if (l200 && l200.callOverFloor.p99 > CALL_OVER_FLOOR) {
    out.push(`- **Call vs floor: ${l200.callOverFloor.p99}× at p99 (${l200.callOverFloor.p50}× at p50).** What the runtime adds per call is in the boards-process profile: JSON and zod parsing, log lines, the state, three publishes, the I2C frame.`)
  }
  const t = r.throughput
  if (t && t.hubOverMosquitto < HUB_OVER_MOSQUITTO) {
    const wp = r.writePath?.cases
    const g = wp?.find((x) => x.path === 'hub guardedStream' && x.perTurn === 100)
    const s = wp?.find((x) => x.path !== 'hub guardedStream' && x.perTurn === 100)
    const hubUs = mean(t.runs.filter((x) => x.variant === 'hub').map((x) => x.brokerCpuUsPerMsg))
    const mosUs = mean(t.runs.filter((x) => x.variant === 'mosquitto').map((x) => x.brokerCpuUsPerMsg))
    const memUs = mean(t.runs.filter((x) => x.variant === 'hub-memory').map((x) => x.brokerCpuUsPerMsg))
    out.push(
      `- **Hub throughput: ${t.hubOverMosquitto}× Mosquitto.** ` +
        (t.bareOverMosquitto != null && t.bareOverMosquitto < HUB_OVER_MOSQUITTO
          ? `A bare Aedes with a dozen-line bridge, which logs no one in and checks, stores and shows nothing, reaches ${t.bareOverMosquitto}× Mosquitto on this machine in the same rounds, so ${HUB_OVER_MOSQUITTO}× asks of the hub more than Aedes itself gets here; the hub is at ${t.hubOverBare}× that bare Aedes. `
          : '') +
        bridgedLag(t.runs) +
        `Per message the hub spends ${Math.round(hubUs)} µs of CPU, Mosquitto ${Math.round(mosUs)} µs; one Node thread at that cost cannot reach ${HUB_OVER_MOSQUITTO}× a C broker, so the way there is cutting CPU per message. In order of size, from the hub profile: ` +
        (g && s
          ? g.writesPerPacket > s.writesPerPacket * 1.5
            ? `(1) socket writes — hub/frame-guard.ts \`guardedStream()\` passes mqtt-packet's chunks to the socket uncorked, ${g.writesPerPacket} write syscalls per packet where a corked socket needs ${s.writesPerPacket} (${g.cpuUsPerPacket} vs ${s.cpuUsPerPacket} µs CPU per packet, "Write path"); a writev that hands a corked batch to the socket at once removes it; `
            : `(1) socket writes are no longer one: \`guardedStream()\` hands a corked batch to the socket in one write (${g.writesPerPacket} write syscalls per packet, as the bare socket's ${s.writesPerPacket}; "Write path"); `
          : '') +
        `(2) LevelDB — the hub with its data in memory spends ${Math.round(memUs)} µs/msg: custody on disk costs the rest. Since issue 22 the custody log writes one key per group commit rather than a put and a delete per message, and a clean reader's PUBACK no longer asks LevelDB for a stored delivery Aedes never stores (that read was a fifth of the hub's CPU here); what is left is LevelDB's batch per group and the fsync it waits on. Deliveries to boards' persistent sessions are kept in memory while the board is connected (hub/memory-first-outgoing.ts): aedes-persistence-level stores only what waits for an absent board or outlives its 50 ms deadline; ` +
        '(3) schema checks — zod and edge/protocol once per board message (the hall view reuses the uplink\'s parse); (4) what is left is Aedes and mqtt-packet themselves, the bridge\'s mqtt.js client, socket writes and garbage collection.',
    )
  }
  const fp = r.footprint
  const shipped = fp?.starts.find((x) => x.variant.startsWith(AS_SHIPPED))
  if (fp && shipped && (shipped.rssSettledMb > EDGE_RSS_MB || shipped.startMs > EDGE_START_MS)) {
    const how = shipped.variant.slice(AS_SHIPPED.length).trim().replace(/^\((.*)\)$/, '$1')
    const launcher = fp.starts.find((x) => x.variant === LAUNCHER_WARM)
    const plainDist = fp.starts.find((x) => x.variant.startsWith('dist (npm run build), no node flags'))
    const trimmed = fp.starts.filter((x) => x.variant.startsWith('trimmed bundle')).sort((x, y) => x.rssSettledMb - y.rssSettledMb)[0]
    const bare = fp.starts[0]!
    const heavy = fp.modules
      // aedes is measured for the hub's sake and tsx for the launcher's; a board running dist loads neither.
      .filter((m) => m.base === 'node' && m.module !== 'aedes' && !m.module.startsWith('tsx'))
      .sort((x, y) => y.rssMb - x.rssMb)
      .slice(0, 3)
    const both = fp.starts.filter((x) => !x.variant.startsWith('bare') && x.rssSettledMb <= EDGE_RSS_MB && x.startMs <= EDGE_START_MS)
    out.push(
      `- **Edge RSS ${shipped.rssSettledMb} MB and start ${shipped.startMs} ms as shipped** (${how}). ` +
        `A bare node process is ${bare.rssSettledMb} MB and starts in ${bare.startMs} ms, and the hub's scrypt check is ${fp.hubLoginMs} ms of every start. ` +
        (shipped.rssSettledMb > EDGE_RSS_MB
          ? `The rest is the code a board loads: the heaviest imports are ${heavy.map((m) => `${m.module} (+${m.rssMb} MB alone)`).join(', ')}` +
            (trimmed ? `; stubbing what a board never uses (mqtt.js's WebSocket and SOCKS transports) gives ${trimmed.rssSettledMb} MB with ${trimmed.variant}. ` : '. ')
          : '') +
        (shipped.startMs > EDGE_START_MS
          ? `What the start is made of is in "Edge footprint": Node's built-in modules compiled from source (any V8 flag makes V8 reject the code cache Node ships for them), the bundled code's parse and top level in the interpreter, garbage collection` +
            (Number.isFinite(shipped.startCpuMs) ? `; ${shipped.startCpuMs} ms of CPU to online as shipped, ${bare.startCpuMs} ms for a bare node process` : '') +
            (plainDist ? ` (dist without node flags: ${plainDist.startMs} ms, ${plainDist.rssSettledMb} MB)` : '') +
            `; the best of the shipped starts was ${shipped.startBestMs} ms, and starts on this shared machine vary by a hundred milliseconds or more between runs. A board starts once per boot, so the unit keeps lite mode for the memory. `
          : '') +
        (launcher ? `A checkout run through the launcher, without dist/, is ${launcher.rssSettledMb} MB and ${launcher.startMs} ms: tsx compiles TypeScript at every start in a loader thread with its own V8 heap. ` : '') +
        (both.length
          ? `Measured here, ${both.map((x) => `**${x.variant}** (${x.rssSettledMb} MB, ${x.startMs} ms)`).join(' and ')} meet${both.length === 1 ? 's' : ''} both targets. `
          : 'No variant measured here meets both targets at once. ') +
        'Per variant in "Edge footprint".',
    )
  }
  const l1000 = c?.levels.find((l) => l.boards === 1000)
  if (l1000 && (l1000.call.p99 > CALL_P99_MS || l1000.errors > 0)) {
    out.push(
      `- **1,000 boards.** All came online and were served without a lost step, but at the busy pace the hub fell behind (${l1000.callsPerS} calls/s offered by a closed loop that wanted about ${Math.round(l1000.boards / ((l1000.gapMs * 4) / 1000))}; floor p50 ${l1000.floor.p50} ms): ` +
        `the hub got ${l1000.cores.hub} cores, the boards' process ${l1000.cores.bench}, other tenants ${l1000.cores.others}. The hub's CPU per message (above) is what bounds it.` +
        (c?.calm ? ` At a hall's pace the same 1,000 boards run at p50 ${c.calm.call.p50} / p99 ${c.calm.call.p99} ms.` : ''),
    )
  }
  if (c?.stoppedAt) out.push(`- **The climb stopped at ${c.stoppedAt.boards} boards** (${c.stoppedAt.reason}). See "Scale".`)
  const storm = r.loginStorm?.storms.find((x) => x.allInS === null)
  if (storm) {
    out.push(
      `- **Login storms (no target, found on the way).** ${storm.boards} boards logging in at once: ${storm.connected} got in within the budget. The hub's scrypt checks outlast the boards' 10 s connect timeout and abandoned logins are still checked, so retries pile up. See "Login storm".`,
    )
  }
  return out.length ? ['What stands in the way, and what would remove it:', '', ...out].join('\n') : ''
}

/** What the diagnosis runs at the same level say about the hub's share. */
function diagnosis(run: BenchRun): string {
  const d = run.results.callDiagnosis
  const shipped = d?.variants.find((v) => v.name === 'hub as shipped')?.level
  const mem = d?.variants.find((v) => v.name.includes('in memory'))?.level
  const pool = d?.variants.find((v) => v.name.includes('UV_THREADPOOL_SIZE'))?.level
  if (!d || !shipped || !mem) return ''
  const helps = (x: { call: { p99: number } } | null | undefined) => Boolean(x && x.call.p99 <= shipped.call.p99 * 0.7)
  const figures =
    `Measured again from scratch at ${d.boards} boards ("The hub's share of the tail"): as shipped, call p50 ${shipped.call.p50} / p99 ${shipped.call.p99} ms; ` +
    (pool ? `with UV_THREADPOOL_SIZE=16, p50 ${pool.call.p50} / p99 ${pool.call.p99} ms; ` : '') +
    `with the hub's data in memory, p50 ${mem.call.p50} / p99 ${mem.call.p99} ms (floor p99 ${mem.floor.p99} ms, central alone ${mem.centralOnly.p99} ms), the hub at ${mem.cores.hub} cores instead of ${shipped.cores.hub}. `
  const remedy =
    'Deliveries to connected boards already come from memory (hub/memory-first-outgoing.ts, issue 22); what LevelDB still does on this path is the custody log\'s group commit (a batch and its fsync per group of board messages) and the sessions of boards that are away. ' +
    'The hub now starts with UV_THREADPOOL_SIZE=16 (the launcher sets it for `hub` and `sim` unless the environment does, and the hub\'s unit sets it), so "as shipped" includes that lever. '
  if (helps(mem) && helps(pool)) {
    return (
      figures +
      'So the tail is the hub\'s LevelDB work waiting its turn on libuv\'s four threads (behind the custody log\'s fsyncs and each other). ' +
      'More threads shorten that queue; no LevelDB on the call path removes it, and most of the p50 with it. ' +
      remedy
    )
  }
  if (helps(mem)) {
    return (
      figures +
      'So what stands between the call path and the target is the hub\'s data on disk. ' +
      remedy
    )
  }
  return figures + 'Neither change moved the tail much in this run: it is the machine\'s. '
}

/** The three largest groups of a profile, with their shares. */
function topGroups(groups: ReadonlyArray<{ group: string; share: number }>): string {
  return groups
    .slice(0, 3)
    .map((g) => `${g.group} (${g.share} %)`)
    .join(', ')
}

/** The hub acknowledges into custody faster than its bridge drains it to central: said, since the acked rate is then not a sustained one. */
function bridgedLag(runs: ReadonlyArray<{ variant: string; ackedPerS: number; bridgedPerS: number | null }>): string {
  const hub = runs.filter((x) => x.variant === 'hub')
  const acked = mean(hub.map((x) => x.ackedPerS))
  const bridged = mean(hub.map((x) => x.bridgedPerS ?? Number.NaN))
  const mb = mean(runs.filter((x) => x.variant === 'mosquitto+bridge').map((x) => x.bridgedPerS ?? Number.NaN))
  if (!Number.isFinite(acked) || !Number.isFinite(bridged) || bridged >= acked * 0.9) return ''
  return (
    `Its bridge forwarded ${Math.round(bridged)} msg/s to central while it acknowledged ${Math.round(acked)}: the rest waited in custody, so over a longer run the acknowledged rate would settle near the forwarded one` +
    (Number.isFinite(mb) ? ` (Mosquitto with its own bridge forwarded ${Math.round(mb)}; ${r2(bridged / mb)}× that)` : '') +
    '. '
  )
}

function mean(xs: number[]): number {
  const f = xs.filter((x) => Number.isFinite(x))
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : Number.NaN
}

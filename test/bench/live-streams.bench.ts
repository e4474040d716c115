/**
 * Hub memory under idle dashboard live streams (issue 20, C): N clients open
 * GET /api/live from many loopback addresses and never read, while a board
 * publishes events at QoS 1. Before the fix 3,000 such streams took the hub
 * from 300 to 859 MB after 270 events, and the board's acknowledgements from
 * 9 to 120 ms median. Reported per variant of the limits: what was open, what
 * was refused (503) and dropped (a reader past its bound), the hub's resident
 * memory before, with the streams open, and after the events, and the board's
 * QoS 1 acknowledgement times with no stream open and during.
 */
import mqtt from 'mqtt'
import { topics } from '../../edge/protocol/index.ts'
import { boardEvent } from '../hub/support/hub-fixture.ts'
import { SseReader } from '../support/sse-reader.ts'
import { boardAccount, counterName, startHubProcess } from './support/bench-hub.ts'
import { memory } from './support/proc.ts'
import { round, summarize, type Summary } from './support/stats.ts'

export interface LiveStreamsVariantOptions {
  name: string
  /** Limits beside the hub's defaults (hub/limits.ts); none: as shipped. */
  limits?: Record<string, number>
}

export interface LiveStreamsOptions {
  streams: number
  /** Loopback addresses the streams come from, round robin. */
  addresses: number
  /** Events the board publishes while the streams are open. */
  events: number
  /** Events published before any stream is open, for the acknowledgement baseline. */
  baselineEvents: number
  variants: LiveStreamsVariantOptions[]
  log: (line: string) => void
}

export interface LiveStreamsVariant {
  name: string
  limits: Record<string, number>
  streamsAsked: number
  open: number
  refused: number
  dropped: number
  /** What the hub still held for the open streams after the events. */
  bufferedKb: number
  events: number
  rssBeforeMb: number
  rssStreamsOpenMb: number
  rssAfterMb: number
  peakRssMb: number
  ackIdleMs: Summary
  ackDuringMs: Summary
}

export interface LiveStreamsResult {
  variants: LiveStreamsVariant[]
}

const HALL = 'bench-l'
const PASSWORD = 'bench-live-password'

function address(i: number, addresses: number): string {
  const a = i % addresses
  return `127.0.${10 + Math.floor(a / 250)}.${(a % 250) + 1}`
}

async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`))
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN
}

export async function runLiveStreams(o: LiveStreamsOptions): Promise<LiveStreamsResult> {
  const variants: LiveStreamsVariant[] = []
  const account = boardAccount(HALL, counterName(1), PASSWORD)
  for (const v of o.variants) {
    const hub = await startHubProcess({ hall: HALL, accounts: [account], http: true, limits: v.limits ?? {}, logLevel: 'warn' })
    const readers: SseReader[] = []
    const board = await mqtt.connectAsync(hub.url, { clientId: account.username, username: account.username, password: PASSWORD, clean: false, reconnectPeriod: 0, protocolVersion: 4 })
    try {
      let seq = 0
      const publish = async (): Promise<number> => {
        seq++
        const t0 = performance.now()
        await board.publishAsync(topics.event(HALL, counterName(1), 'called'), JSON.stringify(boardEvent('called', 'bench', seq, { ticket: `B${seq}` })), { qos: 1 })
        return performance.now() - t0
      }
      const idle: number[] = []
      for (let i = 0; i < o.baselineEvents; i++) idle.push(await publish())
      const rssBeforeMb = memory(hub.pid).rssMb

      const httpPort = hub.httpPort!
      for (let i = 0; i < o.streams; i += 200) {
        const batch = await Promise.all(Array.from({ length: Math.min(200, o.streams - i) }, (_, j) => SseReader.open(httpPort, address(i + j, o.addresses))))
        for (const r of batch) {
          if (r.status === 200) r.stopReading()
          else r.socket.destroy()
          readers.push(r)
        }
      }
      const open = readers.filter((r) => r.status === 200).length
      const rssStreamsOpenMb = memory(hub.pid).rssMb
      o.log(`live streams (${v.name}): ${open} of ${o.streams} open, hub RSS ${Math.round(rssBeforeMb)} → ${Math.round(rssStreamsOpenMb)} MB`)

      const during: number[] = []
      for (let i = 0; i < o.events; i++) during.push(await publish())
      const m = memory(hub.pid)
      const r: LiveStreamsVariant = {
        name: v.name,
        limits: v.limits ?? {},
        streamsAsked: o.streams,
        open,
        refused: await metric(httpPort, 'counter_edge_live_streams_refused_total'),
        dropped: await metric(httpPort, 'counter_edge_live_streams_dropped_total'),
        bufferedKb: round((await metric(httpPort, 'counter_edge_live_streams_buffered_bytes')) / 1024, 0),
        events: o.events,
        rssBeforeMb: round(rssBeforeMb, 0),
        rssStreamsOpenMb: round(rssStreamsOpenMb, 0),
        rssAfterMb: round(m.rssMb, 0),
        peakRssMb: round(m.hwmMb, 0),
        ackIdleMs: summarize(idle),
        ackDuringMs: summarize(during),
      }
      variants.push(r)
      o.log(`live streams (${v.name}): ${r.dropped} dropped, ${r.refused} refused, RSS after ${o.events} events ${r.rssAfterMb} MB (peak ${r.peakRssMb}), QoS 1 ack p50 ${r.ackIdleMs.p50} → ${r.ackDuringMs.p50} ms`)
    } finally {
      for (const r of readers) r.socket.destroy()
      await board.endAsync(true).catch(() => {})
      await hub.stop()
    }
  }
  return { variants }
}

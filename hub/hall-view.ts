import type { Aedes, AedesPublishPacket } from 'aedes'
import { parseMessage, topics, type BoardEvent, type CentralStatus, type HubBridge, type OfflineReason, type State, type Status, type Telemetry } from '../edge/protocol/index.ts'
import type { Logger } from '../edge/shared/logger.ts'
import type { HubCounters } from './hub-counters.ts'

export interface EventSummary {
  type: BoardEvent['type']
  id: string
  ts: string
  ticket: string | null
}

/** One window as a technician needs to see it: is it there, what is it doing, what went wrong. */
export interface WindowView {
  counter: string
  /** From the board's status: its birth, its will or its clean stop. */
  online: boolean
  /** Whether the board holds an MQTT session at this hub right now. */
  connected: boolean
  /** The boot the online flag belongs to; null until the board was heard from. */
  boot: string | null
  since: string | null
  offlineReason: OfflineReason | null
  version: string | null
  board: string | null
  capabilities: string[]
  /** The window's retained state, only ever from the current boot. */
  state: State | null
  telemetry: Telemetry | null
  lastEvent: EventSummary | null
  recentEvents: EventSummary[]
  /** When the hub last heard anything from this window (hub clock). */
  lastSeen: string | null
  /** In the credentials file of this hall (a window provisioned but never seen is listed too). */
  provisioned: boolean
}

export interface HallSnapshot {
  hall: string
  at: string
  bridge: HubBridge | null
  central: CentralStatus | null
  windows: WindowView[]
}

export interface HallViewOptions {
  hall: string
  aedes: Aedes
  counters: HubCounters
  log: Logger
  /** Retained messages already in the broker, to start from after a restart. */
  retained?: (pattern: string) => AsyncIterable<{ topic: string; payload: Buffer }>
  /** Counters provisioned for this hall. */
  provisioned?: () => string[]
  recentEvents?: number
}

/**
 * The live state of every window of the hall, built from what the boards
 * publish. Offline comes from wills and clean stops, and boot ids decide
 * which message is current: an offline status, or a state, from a boot other
 * than the one the board was last born with is stale (a will delivered late,
 * a journal replay) and never overrides the fresher birth.
 */
export class HallView {
  private readonly windows = new Map<string, WindowView>()
  /** A state that arrived before its own boot's birth, adopted when that birth comes. */
  private readonly earlyStates = new Map<string, State>()
  private bridge: HubBridge | null = null
  private central: CentralStatus | null = null
  private readonly listeners = new Set<(counter: string | null) => void>()
  private readonly filter: string
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    this.apply(packet.topic, packet.payload)
    done()
  }

  constructor(private readonly opts: HallViewOptions) {
    this.filter = topics.hallTree(opts.hall)
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.opts.aedes.subscribe(this.filter, this.deliver, () => r()))
    if (this.opts.retained) {
      for await (const m of this.opts.retained(this.filter)) this.apply(m.topic, m.payload)
    }
  }

  onChange(listener: (counter: string | null) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  window(counter: string): WindowView | undefined {
    const w = this.windows.get(counter)
    return w ? structuredClone(w) : undefined
  }

  snapshot(): HallSnapshot {
    for (const c of this.opts.provisioned?.() ?? []) this.get(c).provisioned = true
    const windows = [...this.windows.values()].sort((a, b) => a.counter.localeCompare(b.counter)).map((w) => structuredClone(w))
    return { hall: this.opts.hall, at: new Date().toISOString(), bridge: this.bridge, central: this.central, windows }
  }

  /** The broker reports board sessions coming and going. */
  boardSession(counter: string, connected: boolean): void {
    this.get(counter).connected = connected
    this.changed(counter)
  }

  /** Takes one message of the hall; anything that is not a valid contract message is ignored. */
  apply(topic: string, payload: Uint8Array | string): void {
    const m = parseMessage(topic, payload)
    if (!m.ok || m.topic.hall !== this.opts.hall) return
    switch (m.kind) {
      case 'hub-bridge':
        this.bridge = m.message
        return this.changed(null)
      case 'central-status':
        this.central = m.message
        return this.changed(null)
      case 'hub-status':
      case 'cmd':
      case 'reply':
        return
    }
    const w = this.get(m.topic.counter)
    w.lastSeen = new Date().toISOString()
    switch (m.kind) {
      case 'status':
        this.status(w, m.message)
        break
      case 'state':
        this.state(w, m.message)
        break
      case 'telemetry':
        if (w.boot === null || m.message.boot === w.boot) w.telemetry = m.message
        break
      case 'event': {
        const e = m.message
        const summary: EventSummary = { type: e.type, id: e.id, ts: e.ts, ticket: 'ticket' in e ? (e.ticket ?? null) : null }
        if (w.recentEvents.some((r) => r.id === e.id)) return // a duplicate from the at-least-once chain
        w.lastEvent = summary
        w.recentEvents = [summary, ...w.recentEvents].slice(0, this.opts.recentEvents ?? 20)
        break
      }
    }
    this.changed(w.counter)
  }

  private status(w: WindowView, s: Status): void {
    if (s.online) {
      w.online = true
      w.boot = s.boot
      w.since = s.ts
      w.offlineReason = null
      w.version = s.version
      w.board = s.board
      w.capabilities = s.capabilities
      if (w.state && w.state.boot !== s.boot) w.state = null
      const early = this.earlyStates.get(w.counter)
      if (early?.boot === s.boot) w.state = early
      this.earlyStates.delete(w.counter)
      return
    }
    if (w.boot !== null && s.boot !== w.boot) {
      // The board has been born again since this boot ended: its will is history, not news.
      this.opts.counters.staleWills++
      this.opts.log.info({ counter: w.counter, willBoot: s.boot, currentBoot: w.boot }, 'ignored an offline status from an earlier boot')
      return
    }
    w.online = false
    w.boot = s.boot
    w.since = s.ts
    w.offlineReason = s.reason
  }

  private state(w: WindowView, s: State): void {
    if (w.boot !== null && s.boot !== w.boot) {
      // Either stale (an earlier boot) or early (a new boot whose birth is still on its way).
      this.earlyStates.set(w.counter, s)
      return
    }
    if (w.state && w.state.boot === s.boot && s.seq < w.state.seq) return // replayed out of order
    w.state = s
  }

  private get(counter: string): WindowView {
    let w = this.windows.get(counter)
    if (!w) {
      w = {
        counter, online: false, connected: false, boot: null, since: null, offlineReason: null, version: null, board: null, capabilities: [],
        state: null, telemetry: null, lastEvent: null, recentEvents: [], lastSeen: null, provisioned: false,
      }
      this.windows.set(counter, w)
    }
    return w
  }

  private changed(counter: string | null): void {
    for (const l of this.listeners) {
      try {
        l(counter)
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message }, 'hall view listener failed')
      }
    }
  }

  async stop(): Promise<void> {
    this.listeners.clear()
    if (this.opts.aedes.closed) return
    await new Promise<void>((r) => this.opts.aedes.unsubscribe(this.filter, this.deliver, () => r()))
  }
}

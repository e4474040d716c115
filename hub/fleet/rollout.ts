import { randomBytes } from 'node:crypto'
import type { Aedes, AedesPublishPacket } from 'aedes'
import { parseMessage, topics, type Reply } from '../../edge/protocol/index.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import type { HallView, WindowView } from '../hall-view.ts'
import type { ReleaseStore } from './release-store.ts'
import { planWave, type PlanWindow } from './rollout-plan.ts'
import { RolloutRefusal, type BoardRollout, type RolloutRequest, type RolloutStatus } from './rollout-status.ts'

export interface RolloutOptions {
  hall: string
  aedes: Aedes
  hallView: HallView
  store: ReleaseStore
  /** Counters provisioned in this hall (`--all`). */
  provisioned: () => string[]
  /** The hub address the board's MQTT connection reached, or null while it is not connected (hub/broker.ts). */
  boardAddress: (counter: string) => string | null
  /** The hub's HTTP port, where boards download (GET /releases/<v>/<file>). */
  httpPort: () => number | null
  /** Added to the command's confirmWithinS before a silent board counts as failed: its download and restart. */
  marginS?: number
  log: Logger
}

export type UpdateResult = 'confirmed' | 'rolled-back' | 'failed'

const EMPTY: RolloutStatus = { state: 'none', version: null, atATime: 0, confirmWithinS: 0, started: null, finished: null, wave: [], waves: 0, boards: [], halted: null }

/**
 * The hub's rollout of a release to the hall's boards (docs/operations.md,
 * "Updating a hall"): one wave at a time as hub/fleet/rollout-plan.ts picks it,
 * the `update` command sent by the hub itself on each board's command topic,
 * each board followed by its retained `update` report. The next wave goes
 * when every board of this one is `confirmed`; a board that rolls back, fails
 * or says nothing within confirmWithinS + margin halts the rollout, naming the
 * board and its reason, so a bad release reaches one wave of boards at most.
 */
export class RolloutController {
  private current: RolloutStatus = EMPTY
  private readonly boards = new Map<string, BoardRollout>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly results: Record<UpdateResult, number> = { confirmed: 0, 'rolled-back': 0, failed: 0 }
  private unsubscribe: (() => void) | null = null
  private readonly onReply = (packet: AedesPublishPacket, done: () => void) => {
    done()
    const m = parseMessage(packet.topic, packet.payload)
    if (!m.ok || m.kind !== 'reply' || !('counter' in m.topic)) return
    this.reply(m.topic.counter, m.message as Reply)
  }

  constructor(private readonly opts: RolloutOptions) {}

  async start(): Promise<void> {
    await new Promise<void>((r) => this.opts.aedes.subscribe(topics.hallReplies(this.opts.hall), this.onReply, () => r()))
    this.unsubscribe = this.opts.hallView.onChange((counter) => {
      if (counter !== null) this.follow(counter)
      this.tick()
    })
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = null
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    await new Promise<void>((r) => this.opts.aedes.unsubscribe(topics.hallReplies(this.opts.hall), this.onReply, () => r()))
  }

  /** Updates this hub saw end, by result, since it started: for /metrics. */
  resultCounts(): Readonly<Record<UpdateResult, number>> {
    return this.results
  }

  /** Whether a rollout under way uses this release (it may not be deleted then). */
  uses(version: string): boolean {
    return this.current.state === 'running' && this.current.version === version
  }

  status(): RolloutStatus {
    return { ...this.current, wave: this.wave(), boards: [...this.boards.values()].map((b) => ({ ...b })) }
  }

  begin(request: RolloutRequest): RolloutStatus {
    if (this.current.state === 'running') throw new RolloutRefusal(409, `升级进行中 / a rollout of ${this.current.version} is under way: wait for it or cancel it first`)
    const release = this.opts.store.get(request.version)
    if (!release) throw new RolloutRefusal(404, `集线器上没有版本 ${request.version} / no release ${request.version} on this hub: upload it first`)
    if (!release.complete) throw new RolloutRefusal(400, `版本 ${request.version} 不完整 / release ${request.version} has no payload yet: upload the .tar.gz`)
    if (this.opts.httpPort() === null) throw new RolloutRefusal(503, 'the hub serves no HTTP: boards would have nowhere to download from')
    const provisioned = new Set(this.opts.provisioned())
    const chosen = request.boards === 'all' ? [...provisioned].sort() : [...new Set(request.boards)]
    const unknown = chosen.filter((c) => !provisioned.has(c))
    if (unknown.length) throw new RolloutRefusal(400, `未登记的窗口 / not boards of this hall: ${unknown.join(', ')}`)
    if (chosen.length === 0) throw new RolloutRefusal(400, '没有窗口可升级 / no boards are provisioned in this hall')
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    this.boards.clear()
    for (const counter of chosen) this.boards.set(counter, { counter, state: 'pending', reported: null, running: null, reason: null, cmd: null })
    this.current = { state: 'running', version: request.version, atATime: request.atATime, confirmWithinS: request.confirmWithinS, started: new Date().toISOString(), finished: null, wave: [], waves: 0, boards: [], halted: null }
    this.opts.log.info({ version: request.version, boards: chosen.length, atATime: request.atATime }, 'rollout started')
    for (const counter of chosen) this.follow(counter)
    this.tick()
    return this.status()
  }

  cancel(): RolloutStatus {
    if (this.current.state !== 'running') throw new RolloutRefusal(409, `没有进行中的升级 / no rollout is under way (${this.current.state})`)
    this.finish('cancelled')
    for (const b of this.boards.values()) if (b.state === 'pending') Object.assign(b, { state: 'skipped', reason: '已取消 / cancelled' })
    this.opts.log.info({ version: this.current.version }, 'rollout cancelled; boards already sent the command finish their update')
    return this.status()
  }

  private wave(): string[] {
    return [...this.boards.values()].filter((b) => b.state === 'sent').map((b) => b.counter)
  }

  /** Sends the next wave when none is under way; ends the rollout when every board is done. */
  private tick(): void {
    if (this.current.state !== 'running' || this.wave().length > 0) return
    const version = this.current.version!
    const pending = [...this.boards.values()].filter((b) => b.state === 'pending')
    if (pending.length === 0) return this.finish('done')
    const plan = planWave({
      windows: this.opts.hallView.snapshot().windows.map(planWindow),
      chosen: pending.map((b) => b.counter),
      target: version,
      atATime: this.current.atATime,
      sent: new Set(),
    })
    for (const c of plan.alreadyThere) Object.assign(this.boards.get(c)!, { state: 'confirmed', reason: '已是此版本 / already running it' })
    for (const w of plan.waiting) this.boards.get(w.counter)!.reason = w.why
    const sent = plan.wave.filter((c) => this.send(c))
    if (sent.length > 0) {
      this.current.waves++
      this.opts.log.info({ version, wave: this.current.waves, boards: sent }, 'rollout wave sent')
    } else if (plan.alreadyThere.length > 0) {
      this.tick()
    }
  }

  private send(counter: string): boolean {
    const b = this.boards.get(counter)!
    const release = this.opts.store.get(this.current.version!)
    const address = this.opts.boardAddress(counter)
    const port = this.opts.httpPort()
    if (!release?.complete) {
      this.halt(counter, `release ${this.current.version} is no longer on this hub`)
      return false
    }
    if (!address || port === null) {
      b.reason = '未连接到集线器 / not connected to this hub'
      return false
    }
    const host = address.includes(':') ? `[${address}]` : address
    const cmd = `rollout-${randomBytes(6).toString('hex')}`
    const confirmWithinS = this.current.confirmWithinS
    const payload = {
      id: cmd,
      expires: new Date(Date.now() + confirmWithinS * 1000).toISOString(),
      release: release.signed,
      url: `http://${host}:${port}/releases/${encodeURIComponent(release.version)}/${encodeURIComponent(release.manifest.payload.file)}`,
      confirmWithinS,
    }
    Object.assign(b, { state: 'sent', cmd, reason: null })
    const limitS = confirmWithinS + (this.opts.marginS ?? 60)
    this.timers.set(
      counter,
      setTimeout(() => this.end(counter, 'failed', `${limitS} 秒内未确认 / not confirmed within ${limitS} s (confirmWithinS ${confirmWithinS} + margin)`), limitS * 1000),
    )
    this.opts.aedes.publish({ cmd: 'publish', topic: topics.cmd(this.opts.hall, counter, 'update'), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false }, () => undefined)
    return true
  }

  private reply(counter: string, r: Reply): void {
    const b = this.boards.get(counter)
    if (!b || b.state !== 'sent' || r.cmd !== b.cmd || r.ok) return
    this.clearTimer(counter)
    if (r.code === 'busy') {
      // An applicant came between the plan and the command: nothing happened on the board; it goes again in a later wave.
      Object.assign(b, { state: 'pending', cmd: null, reason: `${r.message ?? 'busy'}` })
      return this.tick()
    }
    this.end(counter, 'failed', `拒绝 / refused (${r.code}): ${r.message ?? ''}`.trim())
  }

  /** Takes in a board's latest update report. */
  private follow(counter: string): void {
    const b = this.boards.get(counter)
    if (!b) return
    const w = this.opts.hallView.updateOf(counter)
    if (!w) return
    const u = w.update
    b.running = u?.running ?? w.version
    b.reported = u?.state ?? null
    if (b.state !== 'sent' || !u) return
    const version = this.current.version
    const ours = u.cmd === b.cmd
    if (u.running === version && (u.state === 'confirmed' || u.state === 'idle')) return this.end(counter, 'confirmed', null)
    if (ours && u.state === 'rolled-back') return this.end(counter, 'rolled-back', u.reason ?? 'rolled back')
    if (ours && u.state === 'failed') return this.end(counter, 'failed', u.reason ?? 'failed')
  }

  private end(counter: string, result: UpdateResult, reason: string | null): void {
    const b = this.boards.get(counter)
    if (!b || b.state !== 'sent') return
    this.clearTimer(counter)
    this.results[result]++
    Object.assign(b, { state: result, reason })
    this.opts.log[result === 'confirmed' ? 'info' : 'warn']({ counter, version: this.current.version, result, reason }, 'board update ended')
    if (result !== 'confirmed') this.halt(counter, reason ?? result)
    this.tick()
  }

  private halt(counter: string, reason: string): void {
    if (this.current.state !== 'running') return
    this.current.halted = { counter, reason }
    this.finish('halted')
    this.opts.log.warn({ version: this.current.version, counter, reason }, 'rollout halted')
  }

  private finish(state: 'done' | 'halted' | 'cancelled'): void {
    this.current.state = state
    this.current.finished = new Date().toISOString()
    if (state === 'done') this.opts.log.info({ version: this.current.version, waves: this.current.waves }, 'rollout done')
  }

  private clearTimer(counter: string): void {
    const t = this.timers.get(counter)
    if (t) clearTimeout(t)
    this.timers.delete(counter)
  }
}

function planWindow(w: WindowView): PlanWindow {
  return { counter: w.counter, number: w.state?.window?.number ?? null, mode: w.state?.mode ?? null, online: w.online && w.connected, running: w.update?.running ?? w.version }
}

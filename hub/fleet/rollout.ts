import { randomBytes } from 'node:crypto'
import type { Aedes, AedesPublishPacket } from 'aedes'
import { hasApplicantMode, parseMessage, topics, type Reply } from '../../edge/protocol/index.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import type { HallView, WindowView } from '../hall-view.ts'
import type { ReleaseStore } from './release-store.ts'
import { RolloutFile, type SavedRollout } from './rollout-file.ts'
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
  /**
   * Where the rollout is kept across hub restarts (`<dataDir>/rollout.json`);
   * without one it lives in memory only (a hub cluster, which has no data directory).
   */
  file?: RolloutFile
  /** After a restart, how long a board the old run had sent the command to may show no sign of it once connected before it is sent the same command again. */
  resendGraceMs?: number
  log: Logger
}

export type UpdateResult = 'confirmed' | 'rolled-back' | 'failed'

/** A board's own update states while it takes a release: the hub follows it rather than sending anything. */
const IN_PROGRESS: ReadonlySet<string> = new Set(['downloading', 'verifying', 'installing', 'restarting', 'confirming'])

const EMPTY: RolloutStatus = { state: 'none', version: null, atATime: 0, confirmWithinS: 0, started: null, finished: null, wave: [], waves: 0, boards: [], halted: null }

/**
 * The hub's rollout of a release to the hall's boards (docs/operations.md,
 * "Updating a hall"): one wave at a time as hub/fleet/rollout-plan.ts picks it,
 * the `update` command sent by the hub itself on each board's command topic,
 * each board followed by its retained `update` report. The next wave goes
 * when every board of this one is `confirmed`; a board that rolls back, fails
 * or says nothing within confirmWithinS + margin halts the rollout, naming the
 * board and its reason, so a bad release reaches one wave of boards at most.
 *
 * Every change is saved (hub/fleet/rollout-file.ts) before a command goes
 * out, and read back at start: a rollout that was running goes on; one that
 * ended is shown as it ended. A board the old run had sent the command is
 * never sent a new one: it is followed by its retained `update` report, and
 * only if, once connected, it shows neither the target version, nor an update
 * in progress, nor the command, is it sent the same command (same id, which
 * the board answers once) again.
 */
export class RolloutController {
  private current: RolloutStatus = EMPTY
  private readonly boards = new Map<string, BoardRollout>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  /** When each board was sent its command (kept in the file). */
  private readonly sentAt = new Map<string, string>()
  /** Boards the run before a restart had sent the command, not yet seen to have it on this run. */
  private readonly unchecked = new Set<string>()
  private readonly graceTimers = new Map<string, NodeJS.Timeout>()
  /** Boards whose time ran out while their update waited for an applicant to leave: their time starts again when the window is free. */
  private readonly heldByApplicant = new Set<string>()
  private readonly file: RolloutFile
  private readonly results: Record<UpdateResult, number> = { confirmed: 0, 'rolled-back': 0, failed: 0 }
  private unsubscribe: (() => void) | null = null
  private readonly onReply = (packet: AedesPublishPacket, done: () => void) => {
    done()
    const m = parseMessage(packet.topic, packet.payload)
    if (!m.ok || m.kind !== 'reply' || !('counter' in m.topic)) return
    this.reply(m.topic.counter, m.message as Reply)
  }

  constructor(private readonly opts: RolloutOptions) {
    this.file = opts.file ?? new RolloutFile(null, opts.log)
  }

  async start(): Promise<void> {
    const saved = await this.file.load()
    await new Promise<void>((r) => this.opts.aedes.subscribe(topics.hallReplies(this.opts.hall), this.onReply, () => r()))
    if (saved) this.resume(saved)
    this.unsubscribe = this.opts.hallView.onChange((counter) => {
      if (counter !== null) this.follow(counter)
      this.tick()
    })
    if (this.current.state === 'running') {
      for (const counter of [...this.boards.keys()]) this.follow(counter)
      this.tick()
      this.save()
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = null
    for (const t of [...this.timers.values(), ...this.graceTimers.values()]) clearTimeout(t)
    this.timers.clear()
    this.graceTimers.clear()
    await new Promise<void>((r) => this.opts.aedes.unsubscribe(topics.hallReplies(this.opts.hall), this.onReply, () => r()))
    await this.file.flush()
  }

  /** Every change so far is on disk (or its failure logged). */
  saved(): Promise<void> {
    return this.file.flush()
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
    if (this.opts.httpPort() === null) throw new RolloutRefusal(503, '集线器未开 HTTP 服务 / the hub serves no HTTP: boards would have nowhere to download from')
    const provisioned = new Set(this.opts.provisioned())
    const chosen = request.boards === 'all' ? [...provisioned].sort() : [...new Set(request.boards)]
    const unknown = chosen.filter((c) => !provisioned.has(c))
    if (unknown.length) throw new RolloutRefusal(400, `未登记的窗口 / not boards of this hall: ${unknown.join(', ')}`)
    if (chosen.length === 0) throw new RolloutRefusal(400, '没有窗口可升级 / no boards are provisioned in this hall')
    for (const t of [...this.timers.values(), ...this.graceTimers.values()]) clearTimeout(t)
    this.timers.clear()
    this.graceTimers.clear()
    this.boards.clear()
    this.heldByApplicant.clear()
    this.sentAt.clear()
    this.unchecked.clear()
    for (const counter of chosen) this.boards.set(counter, { counter, state: 'pending', reported: null, running: null, reason: null, cmd: null })
    this.current = { state: 'running', version: request.version, atATime: request.atATime, confirmWithinS: request.confirmWithinS, started: new Date().toISOString(), finished: null, wave: [], waves: 0, boards: [], halted: null }
    this.opts.log.info({ version: request.version, boards: chosen.length, atATime: request.atATime }, 'rollout started')
    for (const counter of chosen) this.follow(counter)
    this.tick()
    this.save()
    return this.status()
  }

  cancel(): RolloutStatus {
    if (this.current.state !== 'running') throw new RolloutRefusal(409, `没有进行中的升级 / no rollout is under way (${this.current.state})`)
    this.finish('cancelled')
    for (const b of this.boards.values()) if (b.state === 'pending') Object.assign(b, { state: 'skipped', reason: '已取消 / cancelled' })
    this.save()
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
    if (plan.alreadyThere.length > 0) this.save()
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
    this.sentAt.set(counter, new Date().toISOString())
    this.armTimer(counter)
    // On disk before it goes out: a hub killed in between finds the board `sent` and asks it before sending anything again.
    void this.save().then(() => this.publish(counter, payload))
    return true
  }

  /** The command for a board sent before a restart, rebuilt with the same id (the board acts on an id once). */
  private resend(counter: string): void {
    const b = this.boards.get(counter)!
    const release = this.opts.store.get(this.current.version!)
    const address = this.opts.boardAddress(counter)
    const port = this.opts.httpPort()
    if (!release?.complete) return this.halt(counter, `release ${this.current.version} is no longer on this hub`)
    if (!address || port === null || !b.cmd) return
    const host = address.includes(':') ? `[${address}]` : address
    const confirmWithinS = this.current.confirmWithinS
    this.unchecked.delete(counter)
    this.sentAt.set(counter, new Date().toISOString())
    this.armTimer(counter)
    this.opts.log.warn({ counter, cmd: b.cmd }, '重启后窗口无此升级的迹象，以同一命令重发 / after the restart the board shows no sign of its update: the same command sent again')
    const payload = {
      id: b.cmd,
      expires: new Date(Date.now() + confirmWithinS * 1000).toISOString(),
      release: release.signed,
      url: `http://${host}:${port}/releases/${encodeURIComponent(release.version)}/${encodeURIComponent(release.manifest.payload.file)}`,
      confirmWithinS,
    }
    void this.save().then(() => this.publish(counter, payload))
  }

  private publish(counter: string, payload: object): void {
    if (this.unsubscribe === null) return
    this.opts.aedes.publish({ cmd: 'publish', topic: topics.cmd(this.opts.hall, counter, 'update'), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false }, () => undefined)
  }

  private armTimer(counter: string): void {
    this.clearTimer(counter)
    const confirmWithinS = this.current.confirmWithinS
    const limitS = confirmWithinS + (this.opts.marginS ?? 60)
    this.timers.set(
      counter,
      setTimeout(() => {
        // The board took the command with nobody at the window, but a call may come while it downloads: it then
        // installs and waits for the window to be free before its restart (edge/update/installer.ts). A service
        // outlasting confirmWithinS is not a failed update: its time starts again once the window is free.
        if (this.waitsForApplicant(counter)) {
          this.heldByApplicant.add(counter)
          this.opts.log.info({ counter, mode: this.opts.hallView.modeOf(counter) }, '窗口有办事群众，升级等其办完 / the board\'s update waits for the applicant at its window; its time starts again once the window is free')
          return this.armTimer(counter)
        }
        this.end(counter, 'failed', `${limitS} 秒内未确认 / not confirmed within ${limitS} s (confirmWithinS ${confirmWithinS} + margin)`)
      }, limitS * 1000),
    )
  }

  /** Sent our command, still taking it (not failed, not rolled back), and an applicant at its window. */
  private waitsForApplicant(counter: string): boolean {
    const b = this.boards.get(counter)
    const u = this.opts.hallView.updateOf(counter)?.update
    const mode = this.opts.hallView.modeOf(counter)
    return b?.state === 'sent' && u?.cmd === b.cmd && IN_PROGRESS.has(u.state) && mode !== null && hasApplicantMode(mode)
  }

  /** Takes back the rollout the hub saved before it stopped or died. */
  private resume(saved: SavedRollout): void {
    const s = saved.status
    if (s.state === 'none') return
    for (const b of s.boards) this.boards.set(b.counter, { ...b })
    for (const [counter, at] of Object.entries(saved.sentAt)) this.sentAt.set(counter, at)
    this.current = { ...s, wave: [], boards: [] }
    if (s.state !== 'running') {
      this.opts.log.info({ version: s.version, state: s.state, halted: s.halted }, '显示重启前结束的升级 / the rollout ended before the restart; shown as it ended')
      return
    }
    const sent = s.boards.filter((b) => b.state === 'sent').map((b) => b.counter)
    for (const counter of sent) {
      this.unchecked.add(counter)
      this.armTimer(counter)
    }
    this.opts.log.info({ version: s.version, waves: s.waves, sent }, '集线器重启后继续升级 / rollout carried on after a hub restart')
  }

  /**
   * A board sent the command before the restart: done if it runs the target,
   * followed if it has the command or an update in progress; sent the same
   * command again only if, connected and given resendGraceMs for its journal
   * to bring its latest report, it shows none of that.
   */
  private recheck(counter: string, b: BoardRollout, w: WindowView): void {
    const u = w.update
    const version = this.current.version
    if (u?.running === version && (u.state === 'confirmed' || u.state === 'idle')) {
      this.unchecked.delete(counter)
      return this.end(counter, 'confirmed', null)
    }
    if (u && (u.cmd === b.cmd || IN_PROGRESS.has(u.state))) {
      if (u.cmd === b.cmd) this.unchecked.delete(counter)
      this.clearGrace(counter)
      if (u.cmd === b.cmd) this.follow(counter)
      return
    }
    // A rollout cancelled since sends nothing more: the board is only followed, in case it confirms.
    if (this.current.state !== 'running' || !w.connected || this.opts.boardAddress(counter) === null) return this.clearGrace(counter)
    if (this.graceTimers.has(counter)) return
    this.graceTimers.set(
      counter,
      setTimeout(() => {
        this.graceTimers.delete(counter)
        const now = this.opts.hallView.window(counter)
        const nb = this.boards.get(counter)
        if (!now || !nb || nb.state !== 'sent' || !this.unchecked.has(counter) || this.current.state !== 'running') return
        const nu = now.update
        if (nu?.running === version || (nu && (nu.cmd === nb.cmd || IN_PROGRESS.has(nu.state)))) return this.follow(counter)
        this.resend(counter)
      }, this.opts.resendGraceMs ?? 10_000),
    )
  }

  private clearGrace(counter: string): void {
    const t = this.graceTimers.get(counter)
    if (t) clearTimeout(t)
    this.graceTimers.delete(counter)
  }

  private save(): Promise<void> {
    return this.file.save(() => ({ status: this.status(), sentAt: Object.fromEntries(this.sentAt) }))
  }

  private reply(counter: string, r: Reply): void {
    const b = this.boards.get(counter)
    if (!b || b.state !== 'sent' || r.cmd !== b.cmd || r.ok) return
    this.clearTimer(counter)
    if (r.code === 'busy') {
      // An applicant came between the plan and the command: nothing happened on the board; it goes again in a later wave.
      Object.assign(b, { state: 'pending', cmd: null, reason: `${r.message ?? 'busy'}` })
      this.sentAt.delete(counter)
      this.save()
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
    if (b.state !== 'sent') return
    if (this.heldByApplicant.has(counter) && !this.waitsForApplicant(counter)) {
      this.heldByApplicant.delete(counter)
      this.armTimer(counter)
    }
    if (this.unchecked.has(counter)) {
      // Only boards a restarted hub has not heard from since: rare, so the whole window is read here.
      const whole = this.opts.hallView.window(counter)
      return whole ? this.recheck(counter, b, whole) : undefined
    }
    if (!u) return
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
    this.clearGrace(counter)
    this.unchecked.delete(counter)
    this.heldByApplicant.delete(counter)
    this.results[result]++
    Object.assign(b, { state: result, reason })
    this.opts.log[result === 'confirmed' ? 'info' : 'warn']({ counter, version: this.current.version, result, reason }, 'board update ended')
    if (result !== 'confirmed') this.halt(counter, reason ?? result)
    this.tick()
    this.save()
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
    this.save()
    if (state === 'done') this.opts.log.info({ version: this.current.version, waves: this.current.waves }, 'rollout done')
  }

  private clearTimer(counter: string): void {
    const t = this.timers.get(counter)
    if (t) clearTimeout(t)
    this.timers.delete(counter)
  }
}

function planWindow(w: WindowView): PlanWindow {
  const updating = w.update && IN_PROGRESS.has(w.update.state) ? (w.update.target ?? '?') : null
  return { counter: w.counter, number: w.state?.window?.number ?? null, mode: w.state?.mode ?? null, online: w.online && w.connected, running: w.update?.running ?? w.version, updating }
}

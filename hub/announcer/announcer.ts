import type { Aedes, AedesPublishPacket } from 'aedes'
import { defaultPublicWindow, parseMessage, lastLevel, topics, type EventOf, type PublicWindow } from '../../edge/protocol/index.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import { SerialQueue } from '../../edge/shared/serial-queue.ts'
import type { ResolvedAnnouncerConfig } from './announcer-config.ts'
import { HallClock } from './hall-clock.ts'
import { DEFAULT_TEMPLATES, fillTemplate } from './script.ts'
import { speechFor } from './speech.ts'
import type { Speaker } from './speakers.ts'
import type { VoicePack } from './voice-pack.ts'
import { RecentIds } from '../recent-ids.ts'

/**
 * One announcement as the dashboard lists it. `status`: queued (waiting for
 * the speaker), said, quiet (quiet hours: listed, not said), silent (the pack
 * had none of its clips), failed (the speaker refused; `error` says why).
 */
export interface AnnouncementView {
  /** The id of the event that caused it: one announcement per event, however many copies arrive. */
  id: string
  counter: string
  type: 'called' | 'recalled'
  ticket: string
  window: PublicWindow
  /** What is said, as the hall reads it: "请A012号到3号窗口办理"; and the English, when it is said too. */
  text: string
  textEn: string | null
  /** The clips of one saying, in order (Chinese, then English), and those the pack lacked. */
  clips: string[]
  missing: string[]
  times: number
  status: 'queued' | 'said' | 'quiet' | 'silent' | 'late' | 'failed'
  error: string | null
  /** When the hub had the event, and that time on the hall's clock ("HH:MM:SS"). */
  at: string
  localTime: string
}

export interface AnnouncerOptions {
  hall: string
  config: ResolvedAnnouncerConfig
  pack: VoicePack
  speaker: Speaker
  log: Logger
  /** The hub's broker: the announcer follows the hall's call events in process. Absent: fed through offer() only. */
  aedes?: Aedes
  now?: () => number
  /** Announcements the dashboard lists. */
  recent?: number
  /**
   * Ids of calls said before this start (the hub's kept feed, hub/dashboard/feed-history.ts): a board
   * resends an event the hub took but never acknowledged (a kill -9), and the applicant heard it already.
   */
  announced?: Iterable<string>
  /** Why the pack is empty, when its maker knows (espeak-ng missing): said at start and on the dashboard. */
  noVoiceWhy?: string
}

/** Event ids remembered against at-least-once copies: far more than the calls of a busy hour. */
const SEEN_KEPT = 10_000

/**
 * The hall's voice caller (issue 17): from each `called` and `recalled` it
 * says the template as a run of voice-pack clips, one announcement at a time
 * (the next waits until the speaker has said the last, so two never overlap).
 */
export class Announcer {
  private readonly queue = new SerialQueue()
  private readonly seen = new RecentIds(SEEN_KEPT)
  private readonly recentList: AnnouncementView[] = []
  private readonly listeners = new Set<(a: AnnouncementView) => void>()
  private readonly clock: HallClock
  private readonly english: string | null
  private lastError: string | null = null
  private stopped = false
  private readonly filter: string
  private readonly deliver = (packet: AedesPublishPacket, done: () => void) => {
    done()
    this.offer(packet.topic, packet.payload)
  }

  constructor(private readonly opts: AnnouncerOptions) {
    this.clock = new HallClock(opts.config.timeZone)
    this.english = opts.config.english === true ? DEFAULT_TEMPLATES.en : opts.config.english === false ? null : opts.config.english
    this.filter = topics.hallEvents(opts.hall)
    for (const id of opts.announced ?? []) this.seen.add(id)
  }
  /** The hall's time zone (IANA), as its clock reads: the dashboard shows every time in it. */
  get timeZone(): string {
    return this.clock.timeZone
  }


  async start(): Promise<void> {
    const { aedes } = this.opts
    if (aedes) await new Promise<void>((r) => aedes.subscribe(this.filter, this.deliver, () => r()))
    const h = this.health()
    if (h.working) this.opts.log.info({ voice: this.opts.pack.dir, clips: this.opts.pack.size, rate: this.opts.pack.rate, output: this.opts.speaker.describe }, 'announcer started')
    else this.opts.log.warn(`${h.problem} — 播报仅列出，不发声 / announcements are listed, not said`)
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.listeners.clear()
    const { aedes } = this.opts
    if (aedes && !aedes.closed) await new Promise<void>((r) => aedes.unsubscribe(this.filter, this.deliver, () => r()))
    // What is being said finishes; what is still queued is dropped (stopped is checked before each).
    // A speaker that only paces itself (the simulated hall's files, seconds an announcement) ends its wait now:
    // the hall's stop has a deadline, and a hub left waiting out a pause past it did not stop cleanly.
    this.opts.speaker.stop?.()
    await this.queue.drain()
  }

  /** Whether the announcer can speak, and if not, why (the dashboard shows it). */
  health(): { working: boolean; problem: string | null } {
    if (this.opts.pack.size === 0) return { working: false, problem: this.opts.noVoiceWhy ?? `no voice pack in ${this.opts.pack.dir} (counter-edge announcer make-voice-pack --dir ${this.opts.pack.dir})` }
    if (this.lastError) return { working: false, problem: this.lastError }
    return { working: true, problem: null }
  }

  recent(): AnnouncementView[] {
    return this.recentList.map((a) => structuredClone(a))
  }

  onAnnouncement(listener: (a: AnnouncementView) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Resolves once everything queued so far has been said (or has failed). */
  idle(): Promise<void> {
    return this.queue.drain()
  }

  /** Takes one message of the hall; anything but a valid call event of this hall is ignored. */
  offer(topic: string, payload: Uint8Array | string): void {
    if (this.stopped) return
    // Every event of the hall passes here: only a call's payload is worth parsing.
    const leaf = lastLevel(topic)
    if (leaf !== 'called' && leaf !== 'recalled') return
    const m = parseMessage(topic, payload)
    if (!m.ok || m.kind !== 'event' || m.topic.hall !== this.opts.hall) return
    const e = m.message
    if (e.type !== 'called' && e.type !== 'recalled') return
    if (this.seen.has(e.id)) return // a copy from the at-least-once chain: said once already
    this.remember(e.id)
    this.announce(m.topic.counter, e)
  }

  private remember(id: string): void {
    this.seen.add(id)
  }

  private announce(counter: string, e: EventOf<'called'> | EventOf<'recalled'>): void {
    const { config, pack } = this.opts
    // A board older than the public window does not send it: the same default it would have used.
    const window = e.window ?? defaultPublicWindow(counter)
    const values = { ticket: e.ticket, window: window.number }
    const times = config.repeat[e.type]
    const speech = speechFor(pack, this.speechSettings(), values, times)
    const now = this.opts.now?.() ?? Date.now()
    const a: AnnouncementView = {
      id: e.id,
      counter,
      type: e.type,
      ticket: e.ticket,
      window,
      text: fillTemplate(config.template, values),
      textEn: this.english ? fillTemplate(this.english, values) : null,
      clips: speech.clips,
      missing: speech.missing,
      times,
      status: 'queued',
      error: null,
      at: new Date(now).toISOString(),
      localTime: this.clock.time(now),
    }
    if (speech.missing.length) this.opts.log.warn({ counter, ticket: e.ticket, missing: speech.missing }, 'voice pack lacks clips: said without them')
    if (config.quietHours && this.clock.within(now, config.quietHours)) {
      a.status = 'quiet'
      this.opts.log.info({ counter, ticket: e.ticket, quietHours: config.quietHours }, 'quiet hours: announcement not said')
      return this.publish(a, true)
    }
    this.publish(a, true)
    // The audio is made when its turn comes: a long queue holds announcements, not their samples.
    void this.queue.run(() => this.say(a, madeAt(e, now)))
  }

  private speechSettings() {
    return { ...this.opts.config, english: this.english }
  }

  /** `since`: when the call was made (madeAt), or when the hub had it where the board's clock cannot say. */
  private async say(a: AnnouncementView, since: { at: number; byBoard: boolean }): Promise<void> {
    if (this.stopped) return
    const waited = (this.opts.now?.() ?? Date.now()) - since.at
    if (waited > this.opts.config.maxDelayS * 1000) {
      a.status = 'late'
      this.opts.log.warn(
        { counter: a.counter, ticket: a.ticket, waitedMs: waited, maxDelayS: this.opts.config.maxDelayS },
        since.byBoard
          ? `呼叫已过时，不再播报（叫号时间起已超过 ${this.opts.config.maxDelayS} 秒）/ announcement dropped: the call was made more than ${this.opts.config.maxDelayS} s ago`
          : `排队过久，不再播报（已等待超过 ${this.opts.config.maxDelayS} 秒）/ announcement dropped: it waited more than ${this.opts.config.maxDelayS} s behind others`,
      )
      return this.publish(a)
    }
    const { audio } = speechFor(this.opts.pack, this.speechSettings(), { ticket: a.ticket, window: a.window.number }, a.times)
    if (!audio) {
      a.status = 'silent'
      this.opts.log.warn({ counter: a.counter, ticket: a.ticket }, 'nothing to say: the voice pack has none of the clips')
      return this.publish(a)
    }
    try {
      await this.opts.speaker.play(audio, `${a.counter}-${a.ticket}`)
      a.status = 'said'
      this.lastError = null
      this.opts.log.info({ counter: a.counter, ticket: a.ticket, text: a.text, times: a.times }, 'announced')
    } catch (err) {
      a.status = 'failed'
      a.error = (err as Error).message.slice(0, 300)
      this.lastError = a.error
      this.opts.log.error({ counter: a.counter, ticket: a.ticket, err: a.error }, 'announcement failed')
    }
    this.publish(a)
  }

  /** A new announcement joins the list; a later status replaces its entry (gone already if the list moved on). */
  private publish(a: AnnouncementView, isNew = false): void {
    const i = this.recentList.findIndex((r) => r.id === a.id)
    if (i >= 0) this.recentList[i] = a
    else if (isNew) {
      this.recentList.unshift(a)
      this.recentList.length = Math.min(this.recentList.length, this.opts.recent ?? 20)
    }
    for (const l of this.listeners) {
      try {
        l(structuredClone(a))
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message }, 'announcement listener failed')
      }
    }
  }
}

/**
 * Where a call's age counts from. A board's journal may hold a call through a link outage, so the
 * hub's receive time can be long after it was made: where the board's clock was set (`synced`) the
 * age counts from the event's own `ts`. Where it was not, that `ts` means nothing and the wait counts
 * from when the hub had it, as before. A board clock ahead of the hub's counts from the hub's time,
 * and so does everything on a hub whose own clock is not set yet (it reads earlier than any ts).
 */
function madeAt(e: { ts: string; synced: boolean }, hubNow: number): { at: number; byBoard: boolean } {
  const ts = Date.parse(e.ts)
  return e.synced && Number.isFinite(ts) && ts < hubNow ? { at: ts, byBoard: true } : { at: hubNow, byBoard: false }
}

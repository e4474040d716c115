import { describe, it, expect, afterEach } from 'vitest'
import { mkdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { topics, type CommandName, type EvaluationScore, type WindowMode } from '../../edge/protocol/index.ts'
import { Central } from '../hub/support/central.ts'
import { HubProcess } from '../hub/support/hub-process.ts'
import { user, writeUsers } from '../hub/support/hub-fixture.ts'
import { EdgeProcess } from '../support/edge-process.ts'
import { SteppedWallClock } from '../support/faketime.ts'
import { CentralRatings, tallyRatings, type CentralReply } from '../support/central-ratings.ts'
import { seeded } from '../support/fault-rig.ts'
import { freePort } from '../support/ports.ts'
import { letTimePass } from '../support/pace.ts'
import { eventually } from '../support/probe.ts'

/**
 * Issue 16, end to end: ratings counted at central equal the services served,
 * none doubled, none missing, through the hall's hub and a real Mosquitto
 * central, while the boards are killed and restarted (also with an
 * evaluation open), the hub is killed and restarted, and the boards' wall
 * clocks step back and forth by minutes to hours with services and
 * evaluations open.
 *
 *   edge processes (SimWindow on simulated hardware, libfaketime wall clock)
 *     ──▶ hub (child process, data dir) ──bridge──▶ Mosquitto ──▶ central (persistent session, QoS 1)
 *                                                      ▲
 *                                  central's driver: call, start, finish, no-show (resent by id)
 *
 * The driver runs each window through services: most finished as served
 * (the applicant presses a key, sometimes at once so `early`, or lets the
 * evaluator lapse), some finished as transferred or abandoned, some
 * no-shows. Central counts as docs/integration.md tells it to: dedup by the
 * envelope id, one outcome per served record. A wall-clock step is real
 * as the process sees it: libfaketime (test/support/faketime.ts) moves
 * CLOCK_REALTIME only, the monotonic clock runs on.
 *
 * CI runs about a minute of traffic; RATINGS_E2E_MINUTES=<n> runs n minutes
 * (`npm run soak` runs it too). RATINGS_E2E_SEED replays a schedule.
 */

const MINUTES = Number(process.env.RATINGS_E2E_MINUTES ?? 0)
const RUN_MS = MINUTES > 0 ? MINUTES * 60_000 : 45_000
const SEED = process.env.RATINGS_E2E_SEED ? Number(process.env.RATINGS_E2E_SEED) : Math.floor(Math.random() * 2 ** 31)
const WINDOWS = Number(process.env.RATINGS_E2E_WINDOWS ?? 3)
const HALL = 'h1'
/** Central's commands expire 10 minutes out: a board stepped forward by minutes still takes them, by hours refuses them `expired`. */
const EXPIRES_MS = 10 * 60_000
const SCORES: EvaluationScore[] = ['satisfied', 'neutral', 'dissatisfied']
const verbose = process.env.RATINGS_E2E_VERBOSE === '1'

type Plan = 'press' | 'press-early' | 'lapse' | 'transferred' | 'abandoned' | 'no-show'
/** Most services are served and rated; a fair share lapse or are not served at all. */
const PLANS: Array<[Plan, number]> = [
  ['press', 0.45],
  ['press-early', 0.1],
  ['lapse', 0.2],
  ['transferred', 0.08],
  ['abandoned', 0.07],
  ['no-show', 0.1],
]

type Chaos = 'edge-kill' | 'edge-kill-mid-evaluation' | 'edge-kill-on-press' | 'edge-restart' | 'edge-restart-mid-evaluation' | 'hub-kill' | 'hub-restart' | 'clock-step' | 'clock-step-while-down'
const CHAOS: Chaos[] = ['edge-kill-mid-evaluation', 'clock-step', 'hub-kill', 'edge-restart-mid-evaluation', 'clock-step', 'edge-kill-on-press', 'edge-kill', 'clock-step-while-down', 'hub-restart', 'clock-step', 'edge-restart']

interface Board {
  counter: string
  proc: EdgeProcess
  clock: SteppedWallClock
  plan: Plan
  ticketNo: number
}

class Hall {
  readonly rand: () => number
  readonly boards: Board[] = []
  readonly servedCmds = new Set<string>()
  /** Outcomes each board reported durable (journalled), by id → record: each must be at central under that id. */
  readonly outcomesMade = new Map<string, string>()
  readonly refusals: Record<string, number> = {}
  readonly problems: string[] = []
  readonly restarts = { edgeKill: 0, edgeKillMidEvaluation: 0, edgeClean: 0, edgeCleanMidEvaluation: 0, hubKill: 0, hubClean: 0 }
  readonly clockSteps = { forward: 0, backward: 0, whileEvaluating: 0, whileServing: 0, whileDown: 0, largestMs: 0 }
  presses = 0
  /** Kinds of fault injected so far: a run lasts until each has struck at least once. */
  readonly injected = new Set<Chaos>()
  private cmdNo = 0
  private driver!: MqttClient
  central!: Central
  ratings!: CentralRatings
  hub!: HubProcess
  private hubOutput = ''

  private constructor(
    readonly dir: string,
    readonly hubPort: number,
    readonly configPath: string,
  ) {
    this.rand = seeded(SEED)
  }

  static async start(): Promise<Hall> {
    const dir = await mkdtemp(join(tmpdir(), 'ratings-e2e-'))
    const hall = new Hall(dir, await freePort(), join(dir, 'hub.json'))
    await hall.boot()
    return hall
  }

  log(line: string): void {
    if (verbose) console.log(`[ratings-e2e] ${line}`)
  }

  private async boot(): Promise<void> {
    this.central = await Central.start()
    // Central's session exists before any board publishes: nothing the bridge delivers can pass it by.
    this.ratings = await CentralRatings.start(this.central.url, HALL)
    this.driver = await mqtt.connectAsync(this.central.url, { clientId: `central-driver-${HALL}`, reconnectPeriod: 200, connectTimeout: 5_000 })
    this.driver.on('error', () => {})
    const users = Array.from({ length: WINDOWS }, (_, i) => user('board', HALL, `e${String(i + 1).padStart(2, '0')}`))
    const credentialsFile = join(this.dir, 'credentials.json')
    await writeUsers(credentialsFile, users)
    const dataDir = join(this.dir, 'hub-data')
    mkdirSync(dataDir, { recursive: true })
    await writeFile(
      this.configPath,
      JSON.stringify({
        hall: HALL,
        host: '127.0.0.1',
        port: this.hubPort,
        credentialsFile,
        dataDir,
        upstream: { url: this.central.url, clientId: `hub-${HALL}` },
        bridge: { window: 32, reconnectMinMs: 100, reconnectMaxMs: 1_000, stateIntervalMs: 500 },
      }),
    )
    this.hub = await HubProcess.start(this.configPath, this.hubPort)
    for (const u of users) {
      const boardDir = join(this.dir, `edge-${u.counter}`)
      mkdirSync(boardDir, { recursive: true })
      const clock = SteppedWallClock.in(boardDir)
      const proc = new EdgeProcess(
        { hall: HALL, counter: u.counter!, host: '127.0.0.1', port: this.hubPort, username: u.username, password: u.password, dataDir: join(boardDir, 'sd') },
        (e) => {
          if (e.type === 'evaluated' || e.type === 'evaluation-missed') this.outcomesMade.set(e.id, String(e.fields.record))
        },
        clock.env(),
      )
      await proc.start()
      this.boards.push({ counter: u.counter!, proc, clock, plan: 'press', ticketNo: 0 })
    }
    await letTimePass(1_200, "the hub's bridge subscribes at central, which nothing announces")
    for (const b of this.boards) {
      // A short evaluator, so a lapse takes seconds; saved in the board's state file, so it holds across restarts.
      const r = await this.command(b, 'config', { settings: { evaluationTimeoutS: 5 } })
      if (!r?.ok) throw new Error(`config on ${b.counter}: ${JSON.stringify(r)}`)
    }
  }

  between(min: number, max: number): number {
    return Math.round(min + this.rand() * (max - min))
  }

  private pickPlan(): Plan {
    let x = this.rand()
    for (const [plan, p] of PLANS) if ((x -= p) < 0) return plan
    return 'press'
  }

  /** As central sends a command: one id, the same payload resent every 3 s until a reply comes. */
  async command(b: Board, name: CommandName, args: Record<string, unknown>): Promise<CentralReply | null> {
    const id = `${b.counter}-${name}-${this.cmdNo++}`
    const payload = JSON.stringify({ id, expires: new Date(Date.now() + EXPIRES_MS).toISOString(), ...args })
    const giveUp = Date.now() + 60_000
    for (;;) {
      this.driver.publish(topics.cmd(HALL, b.counter, name), payload, { qos: 1 }, () => {})
      const r = await this.ratings.reply(id, 3_000)
      if (r) {
        if (!r.ok) this.refusals[r.code ?? 'none'] = (this.refusals[r.code ?? 'none'] ?? 0) + 1
        // Refused as expired: the board's clock runs ahead of ours. Central tries again a little later, with a new id.
        if (r.code === 'expired') await letTimePass(500, "central waits before it sends again to a board whose clock runs ahead")
        if (r.ok && name === 'finish' && args.outcome === 'served') this.servedCmds.add(id)
        return r
      }
      if (Date.now() > giveUp) {
        this.problems.push(`${id}: no reply within 60 s`)
        return null
      }
    }
  }

  // ------------------------------------------------------------ central's driver

  async drive(b: Board, done: () => boolean): Promise<void> {
    while (!done()) {
      const mode: WindowMode | null = await b.proc.mode()
      if (done()) break
      switch (mode) {
        case null:
          await letTimePass(100, 'the board is down; ask again in a moment')
          break
        case 'closed':
          await this.command(b, 'officer', { action: 'sign-in', officer: `officer-${b.counter}` })
          break
        case 'idle': {
          b.plan = this.pickPlan()
          const ticket = String(b.ticketNo++ % 10_000).padStart(4, '0')
          await this.command(b, 'call', { ticket, caseNo: `CJ-${b.counter}-${ticket}`, item: 'passport-first-issue' })
          break
        }
        case 'calling':
          await letTimePass(this.between(0, 300), 'the applicant walks to the window')
          await this.command(b, b.plan === 'no-show' ? 'no-show' : 'start', {})
          break
        case 'serving':
          await letTimePass(this.between(100, 800), 'the officer serves')
          await this.command(b, 'finish', { outcome: b.plan === 'transferred' || b.plan === 'abandoned' ? b.plan : 'served' })
          break
        case 'evaluating':
          if (b.plan === 'lapse') {
            await letTimePass(200, 'the applicant walks away; the evaluator stays open until it lapses')
            break
          }
          // An early press comes within the evaluator's dwell (1 s) and is flagged `early`; the rest take a while.
          await letTimePass(b.plan === 'press-early' ? this.between(0, 300) : this.between(1_200, 3_000), 'the applicant reads the evaluator')
          // Pressed once the evaluator closed; a board killed under the press did not take it, so the applicant presses again once it is back.
          if (await b.proc.press(SCORES[Math.floor(this.rand() * SCORES.length)]!)) {
            this.presses++
            b.plan = 'lapse'
          }
          break
        case 'paused':
          await this.command(b, 'resume', {})
          break
      }
    }
  }

  // ------------------------------------------------------------ restarts and clock steps

  /** A board in one of these modes, waiting a little for one; else any board. */
  private async boardIn(modes: WindowMode[], waitMs: number): Promise<{ b: Board; mode: WindowMode | null }> {
    const deadline = Date.now() + waitMs
    for (;;) {
      for (const b of this.boards) {
        const mode = await b.proc.mode()
        if (mode && modes.includes(mode)) return { b, mode }
      }
      if (Date.now() > deadline) break
      await letTimePass(100, 'waiting for a board to be in the mode the fault should strike in')
    }
    const b = this.boards[Math.floor(this.rand() * this.boards.length)]!
    return { b, mode: await b.proc.mode() }
  }

  async chaos(done: () => boolean): Promise<void> {
    let next = Math.floor(this.rand() * CHAOS.length)
    while (!done()) {
      await letTimePass(this.between(800, 2_000), 'the gap between two faults')
      if (done()) break
      const kind = CHAOS[next++ % CHAOS.length]!
      try {
        await this.inject(kind)
        this.injected.add(kind)
      } catch (err) {
        this.problems.push(`${kind}: ${(err as Error).message.slice(0, 400)}`)
      }
    }
  }

  private async inject(kind: Chaos): Promise<void> {
    switch (kind) {
      case 'edge-kill':
      case 'edge-kill-mid-evaluation':
      case 'edge-restart':
      case 'edge-restart-mid-evaluation': {
        const mid = kind.endsWith('mid-evaluation')
        const { b, mode } = mid ? await this.boardIn(['evaluating'], 6_000) : await this.boardIn(['serving', 'calling', 'idle'], 0)
        const clean = kind.startsWith('edge-restart')
        this.log(`${kind} ${b.counter} (${mode})`)
        if (clean) await b.proc.stop()
        else await b.proc.kill()
        if (clean) this.restarts.edgeClean++
        else this.restarts.edgeKill++
        if (mode === 'evaluating') {
          if (clean) this.restarts.edgeCleanMidEvaluation++
          else this.restarts.edgeKillMidEvaluation++
        }
        // Down for a while; sometimes past the evaluator's 5 s, so it lapses while the board is off.
        await letTimePass(this.rand() < 0.25 ? this.between(5_000, 6_000) : this.between(0, 1_500), 'the board stays off')
        await b.proc.start(30_000)
        return
      }
      case 'edge-kill-on-press': {
        // Power lost within a few milliseconds of the applicant's press: the rating is the board's once saved, and then exactly once.
        const { b, mode } = await this.boardIn(['evaluating'], 6_000)
        this.log(`${kind} ${b.counter} (${mode})`)
        if (mode === 'evaluating') {
          void b.proc.press(SCORES[Math.floor(this.rand() * SCORES.length)]!)
          await letTimePass(this.between(0, 60), 'the press reaches the key driver, and power fails around it')
          this.restarts.edgeKillMidEvaluation++
        }
        await b.proc.kill()
        this.restarts.edgeKill++
        await letTimePass(this.between(0, 1_000), 'the board stays off')
        await b.proc.start(30_000)
        return
      }
      case 'hub-kill':
      case 'hub-restart': {
        this.log(kind)
        await this.hub.kill(kind === 'hub-kill' ? 'SIGKILL' : 'SIGTERM')
        if (kind === 'hub-kill') this.restarts.hubKill++
        else this.restarts.hubClean++
        await letTimePass(this.between(0, 1_000), 'the hub stays down')
        this.hubOutput += this.hub.output
        this.hub = await HubProcess.start(this.configPath, this.hubPort)
        return
      }
      case 'clock-step': {
        const { b, mode } = await this.boardIn(this.rand() < 0.5 ? ['evaluating'] : ['serving', 'evaluating'], 4_000)
        await this.stepClock(b, mode)
        // A board far ahead refuses central's commands as expired: after a while its clock comes back (NTP catching up).
        if (b.clock.offsetMs > EXPIRES_MS) {
          await letTimePass(this.between(1_500, 3_500), 'the board runs hours ahead for a while')
          await this.stepClock(b, await b.proc.mode(), -this.between(60, 3 * 3600) * 1000)
        }
        return
      }
      case 'clock-step-while-down': {
        const { b, mode } = await this.boardIn(['evaluating', 'serving'], 4_000)
        this.log(`clock-step-while-down ${b.counter} (${mode})`)
        await b.proc.kill()
        this.restarts.edgeKill++
        if (mode === 'evaluating') this.restarts.edgeKillMidEvaluation++
        await this.stepClock(b, null)
        await letTimePass(this.between(0, 1_000), 'the board stays off')
        await b.proc.start(30_000)
        if (b.clock.offsetMs > EXPIRES_MS) {
          await letTimePass(this.between(1_500, 3_500), 'the board runs hours ahead for a while')
          await this.stepClock(b, await b.proc.mode(), -this.between(60, 3 * 3600) * 1000)
        }
        return
      }
    }
  }

  /** Steps a board's wall clock to `to` (default: by minutes to hours either way) and checks the board sees it. */
  async stepClock(b: Board, mode: WindowMode | null, to?: number): Promise<void> {
    // Forwards and back in turn, by minutes to hours in turn, so even a short run has both directions and both sizes.
    const n = this.clockSteps.forward + this.clockSteps.backward
    // Steps to a given time (a board restarting behind) can take the turns meant for the hours-long one:
    // until a step of an hour or more was made, every default step after the first is one, towards
    // whichever side has the room for it within the ±6 h the clocks stay in.
    const needHours = to === undefined && n >= 1 && this.clockSteps.largestMs < 3_600_000
    let direction = this.clockSteps.forward <= this.clockSteps.backward ? 1 : -1
    if (needHours && Math.abs(direction * 6 * 3_600_000 - b.clock.offsetMs) < 3 * 3_600_000) direction = -direction
    const size = needHours ? 3 * 3_600_000 : [40 * 60_000, 3 * 3_600_000, 2 * 60_000, 7 * 60_000][n % 4]!
    const target = Math.max(-6 * 3_600_000, Math.min(6 * 3_600_000, to ?? b.clock.offsetMs + direction * size))
    const before = b.clock.offsetMs
    b.clock.stepTo(target)
    const delta = b.clock.offsetMs - before
    if (delta === 0) return
    this.log(`clock ${b.counter} ${delta > 0 ? '+' : ''}${Math.round(delta / 60_000)} min → ${Math.round(b.clock.offsetMs / 60_000)} min (${mode ?? 'down'})`)
    if (delta > 0) this.clockSteps.forward++
    else this.clockSteps.backward++
    this.clockSteps.largestMs = Math.max(this.clockSteps.largestMs, Math.abs(delta))
    if (mode === 'evaluating') this.clockSteps.whileEvaluating++
    else if (mode === 'serving') this.clockSteps.whileServing++
    else if (mode === null) this.clockSteps.whileDown++
    if (mode !== null) {
      // The step is real as the board sees it: its own Date.now() moved, not a number we pass it.
      await eventually(
        async () => {
          const wall = await b.proc.wallClock()
          return wall !== null && Math.abs(wall - (Date.now() + b.clock.offsetMs)) < 2_000
        },
        10_000,
        `${b.counter}'s wall clock to read ${b.clock.offsetMs} ms off`,
        50,
      )
    }
  }

  /** Ends the run: every board's clock back within command reach, every open evaluation closed, everything at central. */
  async settle(): Promise<void> {
    for (const b of this.boards) {
      if (b.clock.offsetMs > 0) await this.stepClock(b, await b.proc.mode(), 0)
      if (!b.proc.alive) await b.proc.start(30_000)
    }
    await eventually(async () => (await Promise.all(this.boards.map((b) => b.proc.mode()))).every((m) => m !== null && m !== 'evaluating'), 20_000, 'every open evaluation to close', 200)
    // Everything a served finish owes has reached central, or the wait ends and the tally names what did not.
    await eventually(
      () => {
        const t = tallyRatings(this.ratings, this.servedCmds)
        return t.missing.length === 0 && t.finishLost.length === 0
      },
      30_000,
      'every served service to have its outcome at central',
      200,
    ).catch(() => {})
    // Barrier: a sync to each board, answered at central. The board made its events before it answered, and the
    // hub bridges in custody order, so any copy or second outcome still on its way is here before the reply.
    for (const b of this.boards) {
      const r = await this.command(b, 'sync', {})
      if (!r?.ok) this.problems.push(`sync to ${b.counter}: ${JSON.stringify(r)}`)
    }
  }

  hubErrors(): string[] {
    return (this.hubOutput + this.hub.output).split('\n').filter((l) => /"level":60/.test(l))
  }

  async stop(): Promise<void> {
    for (const b of this.boards) await b.proc.stop().catch(() => {})
    await this.driver?.endAsync(true).catch(() => {})
    await this.ratings?.close()
    if (this.hub?.alive) await this.hub.kill('SIGTERM')
    await this.central?.dispose()
    await rm(this.dir, { recursive: true, force: true })
  }
}

const halls: Hall[] = []
afterEach(async () => {
  for (const h of halls.splice(0)) await h.stop()
})

describe('ratings at central (issue 16), real processes', () => {
  it(`every served service has exactly one outcome at central, across board and hub restarts and wall-clock steps (${MINUTES > 0 ? `${MINUTES} min` : 'CI size'})`, async () => {
    const hall = await Hall.start()
    halls.push(hall)
    const started = Date.now()
    const end = started + RUN_MS
    // Past its time once every kind of fault struck at least once (a minute more at most).
    const done = () => Date.now() > end + 60_000 || (Date.now() > end && CHAOS.every((k) => hall.injected.has(k)))
    await Promise.all([...hall.boards.map((b) => hall.drive(b, done)), hall.chaos(done)])
    await hall.settle()

    const t = tallyRatings(hall.ratings, hall.servedCmds)
    const r = hall.restarts
    const c = hall.clockSteps
    const restarts = r.edgeKill + r.edgeClean + r.hubKill + r.hubClean
    console.log(
      `[ratings-e2e] seed ${SEED}, ${Math.round((Date.now() - started) / 1000)} s, ${WINDOWS} boards: ${t.services} services (${hall.presses} key presses), ${t.served} served, ${t.rated} rated (${t.early} early), ${t.missed} missed ${JSON.stringify(t.missedBy)}, ${t.notServed} not served; ${hall.outcomesMade.size} outcomes reported durable by the boards; ` +
        `transport duplicates ${t.transportDuplicates}; doubled ${t.doubled.length}, missing ${t.missing.length}, unserved rated ${t.unserved.length}; ` +
        `restarts ${restarts} (board SIGKILL ${r.edgeKill}, ${r.edgeKillMidEvaluation} mid-evaluation; board clean ${r.edgeClean}, ${r.edgeCleanMidEvaluation} mid-evaluation; hub SIGKILL ${r.hubKill}, clean ${r.hubClean}); ` +
        `clock steps ${c.forward + c.backward} (${c.forward} forward, ${c.backward} back, largest ${Math.round(c.largestMs / 60_000)} min; ${c.whileEvaluating} with an evaluation open, ${c.whileServing} while serving, ${c.whileDown} while off); refusals ${JSON.stringify(hall.refusals)}`,
    )
    // What a board promised (reported durable) is at central with the same id: the outcome counted is the one the board made.
    const madeLost = [...hall.outcomesMade].filter(([id, record]) => hall.ratings.events.get(id)?.fields.record !== record).map(([id]) => id)
    const failures = { problems: [...hall.problems, ...t.problems], doubled: t.doubled, missing: t.missing, unserved: t.unserved, finishLost: t.finishLost, madeLost }
    if (Object.values(failures).some((l) => l.length > 0)) console.log(`[ratings-e2e] seed ${SEED}: ${JSON.stringify(failures).slice(0, 4_000)}`)

    expect(failures, `seed ${SEED}`).toEqual({ problems: [], doubled: [], missing: [], unserved: [], finishLost: [], madeLost: [] })
    expect(hall.outcomesMade.size).toBeGreaterThanOrEqual(t.served - hall.restarts.edgeKill)
    // Windows and durations on the monotonic clock: no wall-clock step shortens or stretches the evaluator's 5 s.
    const outcomes = [...hall.ratings.events.values()]
    expect(outcomes.filter((e) => e.type === 'evaluated' && !(Number(e.fields.latencyMs) <= 5_000)).map((e) => e.fields)).toEqual([])
    expect(outcomes.filter((e) => e.type === 'evaluation-missed' && e.fields.reason === 'timeout' && !(Number(e.fields.afterMs) >= 5_000)).map((e) => e.fields)).toEqual([])
    // No key fault was staged, so none may be reported: a wall-clock step once made a good key look chattering.
    expect(outcomes.filter((e) => e.type === 'fault' || (e.type === 'evaluation-missed' && e.fields.reason !== 'timeout')).map((e) => e.fields)).toEqual([])
    // Every served finish central had acknowledged is a served record at central, and no other.
    expect(t.served, `seed ${SEED}`).toBe(hall.servedCmds.size)
    expect(t.rated + t.missed, `seed ${SEED}`).toBe(t.served)
    expect(hall.hubErrors()).toEqual([])

    // The run did what it claims: enough of every case to mean something.
    expect(t.served).toBeGreaterThanOrEqual(10)
    expect(t.rated).toBeGreaterThanOrEqual(3)
    expect(t.missedBy.timeout ?? 0).toBeGreaterThanOrEqual(1)
    expect(t.notServed).toBeGreaterThanOrEqual(1)
    expect(r.edgeKill).toBeGreaterThanOrEqual(2)
    expect(r.edgeKillMidEvaluation + r.edgeCleanMidEvaluation).toBeGreaterThanOrEqual(1)
    expect(r.edgeClean).toBeGreaterThanOrEqual(1)
    expect(r.hubKill).toBeGreaterThanOrEqual(1)
    expect(r.hubClean).toBeGreaterThanOrEqual(1)
    expect(c.forward).toBeGreaterThanOrEqual(1)
    expect(c.backward).toBeGreaterThanOrEqual(1)
    expect(c.largestMs).toBeGreaterThanOrEqual(3_600_000)
    expect(c.whileEvaluating + c.whileServing).toBeGreaterThanOrEqual(1)
  }, RUN_MS + 300_000)
})

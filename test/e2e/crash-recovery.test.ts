import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { startEdge } from '../../edge/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { scanSegment } from '../../edge/link/journal-records.ts'
import { eventually, command } from '../support/probe.ts'
import { HubTap, writeBoardCredentials, type BoardLogin } from '../support/hub-tap.ts'
import { freePort } from '../support/ports.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { letTimePass } from '../support/pace.ts'
import { syncBarrier } from '../support/barrier.ts'

const GENERATOR = fileURLToPath(new URL('../support/event-generator.ts', import.meta.url))
const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))
const HALL = 'hall-5'

/** A child process with its stdout split into lines as they come. */
class Child {
  readonly lines: string[] = []
  stderr = ''
  readonly exited: Promise<number | null>
  private partial = ''

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d: Buffer) => {
      const parts = (this.partial + d.toString()).split('\n')
      this.partial = parts.pop()!
      this.lines.push(...parts)
    })
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)))
  }

  ids(kind: 'appended' | 'durable'): string[] {
    return this.lines.filter((l) => l.startsWith(`${kind} `)).flatMap((l) => l.slice(kind.length + 1).split(' '))
  }
}


describe('the board survives being killed at any point (journal on disk, real hub)', () => {
  let dir: string
  let hub: RunningHub
  let tap: HubTap
  let board: BoardLogin
  const children: Child[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crash-'))
    const creds = await writeBoardCredentials(dir, HALL, 'w01')
    board = creds.board
    hub = await startHub({ hall: HALL, port: await freePort(), credentialsFile: creds.credentialsFile }, silentLogger())
    tap = await HubTap.attach(hub, `hall/${HALL}/counter/+/event/#`)
  })

  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL')
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('SIGKILLed again and again while producing events, it delivers every committed event, and nothing it did not produce', async () => {
    const configFile = join(dir, 'generator.json')
    const dataDir = join(dir, 'w01')
    const write = (limit?: number) => writeFile(configFile, JSON.stringify({ hall: HALL, counter: 'w01', port: hub.port, username: board.username, password: board.password, dataDir, ...(limit ? { limit } : {}) }))
    const spawnGenerator = () => {
      const c = new Child(spawn(process.execPath, ['--import', 'tsx', GENERATOR, configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_FORMAT: 'json' } }))
      children.push(c)
      return c
    }

    await write()
    const runs = 7
    for (let run = 0; run < runs; run++) {
      const c = spawnGenerator()
      if (run % 3 === 2) {
        // Sometimes while it is still starting: recovering the journal, connecting, resending.
        await letTimePass(200 + Math.random() * 1000, 'killed at a random point while it starts')
      } else {
        await eventually(() => c.lines.some((l) => l.startsWith('boot ')), 20_000, `run ${run} to start (stderr: ${c.stderr})`)
        await letTimePass(100 + Math.random() * 900, 'killed at a random point while it produces')
      }
      c.proc.kill('SIGKILL')
      expect(await c.exited).toBeNull()
    }
    // A last run that is left alone: it recovers, drains, produces a few more and stops cleanly.
    await write(50)
    const last = spawnGenerator()

    const durableBeforeLast = children.slice(0, -1).flatMap((c) => c.ids('durable'))
    expect(durableBeforeLast.length).toBeGreaterThan(200)
    await eventually(() => last.ids('durable').length === 50, 20_000, `the last run to produce its events (stderr: ${last.stderr})`)
    const durable = [...durableBeforeLast, ...last.ids('durable')]
    const received = () => new Set(tap.ids(`hall/${HALL}/counter/w01/event/`))
    const missing = () => {
      const got = received()
      const lost = durable.filter((id) => !got.has(id))
      const boots = new Map<string, string[]>()
      for (const id of lost) boots.set(id.split('-')[1]!, [...(boots.get(id.split('-')[1]!) ?? []), id])
      const byBoot = [...boots].map(([b, ids]) => `${b}: ${ids.length} (${ids.slice(0, 3).join(', ')}…)`)
      return `${lost.length} missing [${byBoot.join('; ')}]; last run: ${last.lines.filter((l) => l.startsWith('status')).slice(-1)[0]} stderr: ${last.stderr.slice(-1500)}`
    }
    // One Set per poll: the hub runs in this process, and a slow check here would starve it.
    await eventually(() => {
      const got = received()
      return durable.every((id) => got.has(id))
    }, 30_000, 'every committed event at the hub').catch((err: Error) => {
      throw new Error(`${err.message}: ${missing()}`)
    })

    last.proc.kill('SIGTERM')
    expect(await last.exited).toBe(0)
    const appended = new Set(children.flatMap((c) => c.ids('appended')))
    const got = received()
    const raw = tap.ids(`hall/${HALL}/counter/w01/event/`)
    // No loss: every event that was committed before a kill arrived.
    for (const id of durable) expect(got.has(id), `committed event ${id} never arrived`).toBe(true)
    // Nothing invented: every arrival is an event some run appended (one not yet committed at a kill may or may not arrive).
    for (const id of got) expect(appended.has(id), `${id} arrived but was never produced`).toBe(true)
    // Exactly once in effect: after dropping duplicates by id, one of each; re-sends after a kill are the only duplicates.
    expect(got.size).toBeLessThanOrEqual(appended.size)
    expect(raw.length - got.size).toBeLessThan(raw.length / 2)
    expect(new Set(children.map((c) => c.lines.find((l) => l.startsWith('boot '))).filter(Boolean)).size).toBeGreaterThanOrEqual(5)
  }, 90_000)

  it('starts from a journal cut in the middle of a record and delivers everything before the cut', async () => {
    const counter = 'w02'
    await mkdir(join(dir, 'cut'))
    const creds = await writeBoardCredentials(join(dir, 'cut'), HALL, counter)
    const cutHub = await startHub({ hall: HALL, port: 0, credentialsFile: creds.credentialsFile }, silentLogger())
    // All of the board's topics: the barrier below needs its replies on the same subscription as its events.
    const cutTap = await HubTap.attach(cutHub, `hall/${HALL}/counter/${counter}/#`)
    const dataDir = join(dir, counter)
    try {
      // The board runs with its hub unreachable, so every event stays in the journal; then stops.
      const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
      const hardware = new SimWindowHardware(profile)
      const edge = await startEdge(
        { hall: HALL, counter, hub: [{ host: '127.0.0.1', port: await freePort() }], username: creds.board.username, password: creds.board.password, dataDir },
        { profile, gpio: hardware.gpio, bus: hardware.bus, log: silentLogger() },
      )
      const ids = Array.from({ length: 40 }, (_, i) => edge.link.publish('event', { type: 'help-requested', ticket: `B${String(i).padStart(3, '0')}`, officer: null }))
      await edge.stop()
      await hardware.stop()

      // Power fails while the last record is being written: cut the file inside it.
      const journalDir = join(dataDir, 'journal')
      const [segment] = (await readdir(journalDir)).sort().reverse()
      const path = join(journalDir, segment!)
      const bytes = await readFile(path)
      const whole = scanSegment(bytes)
      expect(whole.records.filter((r) => r.kind === 'entry')).toHaveLength(40)
      const lastStart = scanSegment(bytes.subarray(0, bytes.length - 1)).goodBytes
      const cut = lastStart + 1 + Math.floor(Math.random() * (bytes.length - lastStart - 2))
      await writeFile(path, bytes.subarray(0, cut))

      // The real command line starts on the cut journal.
      const config = join(dir, 'board-w02.json')
      await writeFile(config, JSON.stringify({ hall: HALL, counter, board: 'sim-window', hub: [`mqtt://127.0.0.1:${cutHub.port}`], username: creds.board.username, password: creds.board.password, dataDir }))
      const c = new Child(spawn(process.execPath, [CLI, 'edge', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_FORMAT: 'json' } }))
      children.push(c)
      const before = ids.slice(0, -1)
      await eventually(() => before.every((id) => cutTap.ids(`hall/${HALL}/counter/${counter}/event/`).includes(id)), 20_000, `the 39 events before the cut (output: ${c.stderr}${c.lines.join('\n')})`)
      // Barrier: the board answers a sync only once it runs; a torn 40th event, had it been recovered,
      // would have gone out in the same backlog pass as the 39, which had all arrived before the sync was sent.
      await syncBarrier(cutTap, cutTap, HALL, counter, 20_000)
      expect(new Set(cutTap.ids(`hall/${HALL}/counter/${counter}/event/`))).toEqual(new Set(before))
      expect(c.lines.join('\n')).toMatch(/torn tail/)
      c.proc.kill('SIGTERM')
      expect(await c.exited).toBe(0)
    } finally {
      await cutHub.stop()
    }
  }, 60_000)

  it('a rating saved with the state but not yet journalled when power fails is sent after the restart with its own id, not asked for again, and a resent command is answered as before', async () => {
    const counter = 'w03'
    await mkdir(join(dir, counter + '-hub'))
    const creds = await writeBoardCredentials(join(dir, counter + '-hub'), HALL, counter)
    const h = await startHub({ hall: HALL, port: 0, credentialsFile: creds.credentialsFile }, silentLogger())
    const t = await HubTap.attach(h, `hall/${HALL}/counter/${counter}/#`)
    const base = `hall/${HALL}/counter/${counter}`
    const dataDir = join(dir, counter)
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    const boot = async (hardware: SimWindowHardware) =>
      startEdge(
        { hall: HALL, counter, hub: [{ host: '127.0.0.1', port: h.port }], username: creds.board.username, password: creds.board.password, dataDir },
        { profile, gpio: hardware.gpio, bus: hardware.bus, log: silentLogger() },
      )
    const hw1 = new SimWindowHardware(profile)
    let hw2: SimWindowHardware | undefined
    try {
      const edge1 = await boot(hw1)
      await t.waitFor((m) => m.topic === `${base}/status` && m.payload.online === true, 20_000, 'online')
      const sent: Record<string, Record<string, unknown>> = {}
      for (const [name, args] of [
        ['officer', { action: 'sign-in', officer: 'li-na', officerName: 'Li Na' }],
        ['call', { ticket: 'C007' }],
        ['start', {}],
        ['finish', { outcome: 'served' }],
      ] as const) {
        sent[name] = command(args)
        await t.publish(`${base}/cmd/${name}`, sent[name])
        await t.waitFor((m) => m.topic === `${base}/reply` && m.payload.name === name, 10_000, `reply to ${name}`)
      }
      await eventually(() => edge1.window.current.mode === 'evaluating', 5000, 'evaluation open')
      await hw1.press('satisfied')
      const rated = await t.waitFor((m) => m.topic === `${base}/event/evaluated`, 10_000, 'the rating')
      // The state file written for the rating holds the rating itself until the next save.
      const statePath = join(dataDir, 'window-state.json')
      const atRating = await readFile(statePath, 'utf8')
      expect(JSON.parse(atRating).outbox.map((r: { id: string }) => r.id)).toEqual([rated.payload.id])

      await edge1.stop()
      await hw1.stop()
      // A clean stop clears the outbox once the journal has it: no re-send on an ordinary restart.
      expect(JSON.parse(await readFile(statePath, 'utf8')).outbox).toEqual([])
      // Power cut instead: the state file of the rating is on disk, the journal's commit of it is not.
      await rm(join(dataDir, 'journal'), { recursive: true, force: true })
      await writeFile(statePath, atRating)

      hw2 = new SimWindowHardware(profile)
      const edge2 = await boot(hw2)
      await eventually(() => t.messages.filter((m) => m.topic === `${base}/event/evaluated`).length === 2, 20_000, 'the rating sent again')
      const ratings = t.messages.filter((m) => m.topic === `${base}/event/evaluated`)
      expect(ratings.map((m) => m.payload.id)).toEqual([rated.payload.id, rated.payload.id])
      expect(ratings[1]!.payload).toEqual(rated.payload)
      // The window came back rated: idle, evaluator shut, a key press is not a second rating.
      expect(edge2.window.current.mode).toBe('idle')
      await hw2.press('dissatisfied')
      await syncBarrier(t, t, HALL, counter)
      expect(t.messages.filter((m) => m.topic === `${base}/event/evaluated`)).toHaveLength(2)
      // Central, unsure whether its `finish` arrived, sends it again: the restarted board answers as it did the first time.
      const replies = () => t.messages.filter((m) => m.topic === `${base}/reply` && m.payload.cmd === sent.finish!.id)
      await t.publish(`${base}/cmd/finish`, sent.finish)
      await eventually(() => replies().length === 2, 10_000, 'the resent finish answered')
      expect(replies()[1]!.payload).toMatchObject({ ok: true, name: 'finish' })
      expect(edge2.window.current.mode).toBe('idle')
      await edge2.stop()
    } finally {
      await hw2?.stop()
      await h.stop()
    }
  }, 60_000)
})

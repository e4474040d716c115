import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { topics, type CommandName } from '../../edge/protocol/index.ts'
import { startTestHub, user, type TestHub } from '../hub/support/hub-fixture.ts'
import { EdgeProcess, type ChildEvent } from '../support/edge-process.ts'
import { SteppedWallClock } from '../support/faketime.ts'
import { HubTap } from '../support/hub-tap.ts'
import { command, eventually } from '../support/probe.ts'

const H = 'h-restep'
const w04 = user('board', H, 'w04')
const HOUR = 3_600_000

/**
 * A board that booted six hours behind (no real-time clock, NTP not through) has an applicant at the
 * evaluator when its runtime restarts (a crash, an update); NTP sets the clock while it is down, a few
 * seconds. The restart counted the six hours of the step as gone: the open evaluation closed as missed
 * at once and the applicant's press was no rating. The time that passed is the machine's monotonic
 * clock's, which no step moves. Real hub, real board process on a libfaketime wall clock.
 */
describe('a board\'s runtime restarts while NTP steps its clock', () => {
  let t: TestHub
  let tap: HubTap
  let dir: string
  let board: EdgeProcess
  let clock: SteppedWallClock
  const events: Array<ChildEvent & { boot: string }> = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restart-step-'))
    t = await startTestHub([w04], { hall: H })
    tap = await HubTap.attach(t.hub, topics.hallTree(H))
    clock = SteppedWallClock.in(dir)
    clock.stepTo(-6 * HOUR)
    board = new EdgeProcess({ hall: H, counter: 'w04', host: '127.0.0.1', port: t.hub.port, username: w04.username, password: w04.password, dataDir: join(dir, 'sd') }, (e, boot) => events.push({ ...e, boot }), clock.env())
  })
  afterAll(async () => {
    await board?.kill()
    await t?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function send(name: CommandName, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const p = command(args)
    const reply = tap.waitFor((m) => m.topic === topics.reply(H, 'w04') && m.payload.cmd === p.id, 10_000, `reply to ${name}`)
    await tap.publish(topics.cmd(H, 'w04', name), p)
    return (await reply).payload
  }

  it('the open evaluation stays open for the rest of its time, and the applicant\'s press is the rating', async () => {
    await board.start()
    await eventually(async () => (await send('sync', {})).ok === true, 20_000, 'the board answering a sync')
    expect(await send('officer', { action: 'sign-in', officer: 'P10482', officerName: 'Li Wei' })).toMatchObject({ ok: true })
    expect(await send('call', { ticket: 'A031' })).toMatchObject({ ok: true })
    expect(await send('start', {})).toMatchObject({ ok: true })
    expect(await send('finish', { outcome: 'served' })).toMatchObject({ ok: true })
    expect(await board.mode()).toBe('evaluating')

    await board.kill()
    // NTP's first sync while the runtime is down.
    clock.stepTo(0)
    await board.start()
    expect(Math.abs((await board.wallClock())! - Date.now())).toBeLessThan(60_000)
    expect(await board.mode()).toBe('evaluating')
    expect(await board.press('dissatisfied')).toBe(true)
    const outcomes = () => events.filter((e) => e.type === 'evaluated' || e.type === 'evaluation-missed')
    await eventually(() => outcomes().length > 0, 10_000, 'the evaluation\'s outcome')
    expect(outcomes().map((e) => [e.type, e.fields.ticket, e.fields.score])).toEqual([['evaluated', 'A031', 'dissatisfied']])
  }, 90_000)
})

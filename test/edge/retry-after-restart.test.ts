import { afterEach, describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub, type RunningHub } from '../../hub/main.ts'
import { startEdge, type RunningEdge } from '../../edge/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { command, eventually } from '../support/probe.ts'
import { HubTap, writeBoardCredentials } from '../support/hub-tap.ts'
import { syncBarrier } from '../support/barrier.ts'
import { EdgeHarness, type RecordedPublish } from '../support/edge-harness.ts'
import { topics } from '../../edge/protocol/index.ts'

/**
 * A command id the board has answered gets that answer again, never a second
 * action (docs/integration.md, "Retry with the same id"), also across a power
 * cut. A refusal changes no state; its answer must be on disk all the same,
 * or a retry after the restart meets a window that may now take it: a `call`
 * refused while the window was busy put the ticket up after all, while central
 * held the refusal (and got both answers for one id).
 */
const HALL = 'hall-7'
const COUNTER = 'w04'
const base = `hall/${HALL}/counter/${COUNTER}`

let cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined)
  cleanup = []
})

describe('a command retried after a power cut', () => {
  it('a call refused while the window was busy stays refused after the restart, though the window is free by then', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'retry-restart-'))
    cleanup.push(() => rm(dir, { recursive: true, force: true }))
    const creds = await writeBoardCredentials(dir, HALL, COUNTER)
    const hub: RunningHub = await startHub({ hall: HALL, port: 0, credentialsFile: creds.credentialsFile }, silentLogger())
    cleanup.push(() => hub.stop())
    const tap = await HubTap.attach(hub, `${base}/#`)
    const dataDir = join(dir, 'board')
    const statePath = join(dataDir, 'window-state.json')
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    const boot = async (): Promise<RunningEdge> => {
      const hw = new SimWindowHardware(profile)
      cleanup.push(() => hw.stop())
      const edge = await startEdge(
        { hall: HALL, counter: COUNTER, hub: [{ host: '127.0.0.1', port: hub.port }], username: creds.board.username, password: creds.board.password, dataDir },
        { profile, gpio: hw.gpio, bus: hw.bus, log: silentLogger() },
      )
      cleanup.push(() => edge.stop())
      return edge
    }
    const replyTo = (id: unknown) => tap.messages.filter((m) => m.topic === `${base}/reply` && m.payload.cmd === id).map((m) => m.payload)
    const send = async (name: string, args: Record<string, unknown>) => {
      const cmd = command(args)
      await tap.publish(`${base}/cmd/${name}`, cmd)
      await eventually(() => replyTo(cmd.id).length > 0, 10_000, `the reply to ${name}`)
      return { cmd, reply: replyTo(cmd.id)[0]! }
    }

    const edge1 = await boot()
    await tap.waitFor((m) => m.topic === `${base}/status` && m.payload.online === true, 20_000, 'online')
    await send('officer', { action: 'sign-in', officer: 'li-na' })
    await send('call', { ticket: 'A001' })
    // The window is calling A001: a call for A002 is refused, and nothing else happens at the window.
    const { cmd: second, reply: refused } = await send('call', { ticket: 'A002' })
    expect(refused).toMatchObject({ ok: false, code: 'wrong-mode' })
    // Power fails now: the state file is as the refusal left it (a clean stop would save more).
    const atCut = await readFile(statePath, 'utf8')
    await edge1.stop()
    await writeFile(statePath, atCut)

    const edge2 = await boot()
    await eventually(() => edge2.link.connected, 20_000, 'back online')
    expect(edge2.window.current.ticket?.number).toBe('A001')
    // A001 does not come; the window is free again.
    expect((await send('no-show', {})).reply).toMatchObject({ ok: true })
    // Central, which had no answer for A002 while the board was off, sends the very same command again.
    await tap.publish(`${base}/cmd/call`, second)
    await eventually(() => replyTo(second.id).length >= 2, 10_000, 'the retried call answered')
    await syncBarrier(tap, tap, HALL, COUNTER)
    const answers = replyTo(second.id)
    expect(answers[answers.length - 1]).toMatchObject({ cmd: second.id, name: 'call', ok: false, code: 'wrong-mode', message: refused.message })
    // Nothing on the display that central was told was refused, and no `called` for it.
    expect(edge2.window.current.mode).toBe('idle')
    expect(tap.messages.filter((m) => m.topic === `${base}/event/called` && m.payload.cmd === second.id)).toEqual([])
  }, 60_000)
})

/**
 * The same promise over random sequences on the runtime (simulated window, faked clocks): commands
 * in any mode, some refused, central retrying earlier ids, keys, time passing and power cuts (the
 * state file as the last answer left it). Over everything central received, deduplicated by message
 * id: every answer to one command id is its first answer, and an effect event carries a command id
 * only when that first answer was ok, once.
 */
describe('retries and power cuts, property', () => {
  const EFFECTS = new Set(['called', 'no-show', 'service-started', 'service-finished', 'paused', 'resumed'])
  type Step =
    | { kind: 'send'; name: 'call' | 'no-show' | 'start' | 'finish' | 'pause' | 'resume' | 'evaluate'; args: Record<string, unknown> }
    | { kind: 'retry'; pick: number }
    | { kind: 'press' }
    | { kind: 'advance'; ms: number }
    | { kind: 'power-cut' }
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('A001', 'A002').map((ticket): Step => ({ kind: 'send', name: 'call', args: { ticket } })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'send', name: 'no-show', args: {} }) },
    { weight: 2, arbitrary: fc.constant<Step>({ kind: 'send', name: 'start', args: {} }) },
    { weight: 2, arbitrary: fc.constantFrom('served', 'abandoned').map((outcome): Step => ({ kind: 'send', name: 'finish', args: { outcome } })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'send', name: 'pause', args: { reason: 'break' } }) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'send', name: 'resume', args: {} }) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'send', name: 'evaluate', args: {} }) },
    { weight: 4, arbitrary: fc.nat().map((pick): Step => ({ kind: 'retry', pick })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'press' }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 40_000 }).map((ms): Step => ({ kind: 'advance', ms })) },
    { weight: 2, arbitrary: fc.constant<Step>({ kind: 'power-cut' }) },
  )

  it('a retried id gets its first answer, and only an accepted command has an effect, across power cuts', async () => {
    vi.useFakeTimers({ now: new Date('2025-03-04T09:00:00.000Z') })
    const seen = { retries: 0, retriedRefusals: 0, cuts: 0 }
    try {
      let run = 0
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 25 }), async (steps) => {
          const dataDir = await mkdtemp(join(tmpdir(), `retry-prop-${run++}-`))
          const received: RecordedPublish[] = []
          let h = await EdgeHarness.start({ dataDir })
          try {
            const sent: Array<{ id: string; topic: string; payload: string }> = []
            const answers = (id: string) => h.publishes.filter((p) => p.parsed.kind === 'reply' && p.message.cmd === id).length
            const deliver = async (c: { id: string; topic: string; payload: string }) => {
              const before = answers(c.id)
              h.raw(c.topic, c.payload)
              await h.until(() => answers(c.id) > before, `the answer to ${c.id}`)
            }
            await deliver({ id: 'sign-in', topic: topics.cmd(h.hall, h.counter, 'officer'), payload: JSON.stringify({ id: 'sign-in', expires: new Date(Date.now() + 3_600_000).toISOString(), action: 'sign-in', officer: 'li-na' }) })
            for (const s of steps) {
              if (s.kind === 'send') {
                const id = `c${sent.length}`
                const c = { id, topic: topics.cmd(h.hall, h.counter, s.name), payload: JSON.stringify({ id, expires: new Date(Date.now() + 3_600_000).toISOString(), ...s.args }) }
                sent.push(c)
                await deliver(c)
              } else if (s.kind === 'retry') {
                if (sent.length === 0) continue
                seen.retries++
                await deliver(sent[s.pick % sent.length]!)
              } else if (s.kind === 'press') {
                await h.press('satisfied')
              } else if (s.kind === 'advance') {
                await h.advance(s.ms)
              } else {
                seen.cuts++
                const statePath = join(dataDir, 'window-state.json')
                const atCut = await readFile(statePath, 'utf8').catch(() => null)
                received.push(...h.publishes)
                await h.stop()
                if (atCut !== null) await writeFile(statePath, atCut)
                h = await EdgeHarness.start({ dataDir })
              }
            }
            await h.sync()
            received.push(...h.publishes)
            expect(h.network.violations).toEqual([])
          } finally {
            await h.stop()
            await rm(dataDir, { recursive: true, force: true })
          }
          // What central keeps: one copy per message id.
          const byId = new Map(received.map((p) => [p.message.id as string, p]))
          const first = new Map<string, Record<string, unknown>>()
          for (const p of byId.values()) {
            if (p.parsed.kind !== 'reply') continue
            const cmd = p.message.cmd as string
            const f = first.get(cmd)
            if (!f) {
              first.set(cmd, p.message)
              continue
            }
            if (f.ok === false) seen.retriedRefusals++
            expect({ cmd, ok: p.message.ok, code: p.message.code }, `a second, different answer to ${cmd}`).toEqual({ cmd, ok: f.ok, code: f.code })
          }
          const effects = new Map<string, number>()
          for (const p of byId.values()) {
            if (p.parsed.kind !== 'event' || !EFFECTS.has(p.message.type as string) || typeof p.message.cmd !== 'string') continue
            const key = `${p.message.cmd} ${p.message.type}`
            effects.set(key, (effects.get(key) ?? 0) + 1)
            expect(first.get(p.message.cmd)?.ok, `${p.message.type} for ${p.message.cmd}, answered ${JSON.stringify(first.get(p.message.cmd))}`).toBe(true)
          }
          for (const [key, n] of effects) expect(n, `${key}: acted on more than once`).toBe(1)
        }),
        { seed: 24_024, numRuns: 40 },
      )
    } finally {
      vi.useRealTimers()
    }
    expect(seen.retriedRefusals, JSON.stringify(seen)).toBeGreaterThan(0)
    expect(seen.cuts, JSON.stringify(seen)).toBeGreaterThan(0)
  }, 300_000)
})

/**
 * An answer that takes its time (a self-test runs the devices, an update checks its files) is given
 * after the command's own step, outside the state change that saves answers given at once. It is on
 * disk before it goes out all the same: central, retrying that id after a power cut, gets the answer
 * it may already hold, and the tests are not run again (here they would now fail: the display broke).
 */
describe('a slow answer retried after a power cut', () => {
  it('a self-test answered before the cut is answered the same after it, not run again', async () => {
    vi.useFakeTimers({ now: new Date('2025-03-04T09:00:00.000Z') })
    const dataDir = await mkdtemp(join(tmpdir(), 'retry-self-test-'))
    const statePath = join(dataDir, 'window-state.json')
    // The machine's clock as a board has it: the late answer's save keeps it like every other save, so a restart
    // right after it still knows the time that passed whatever NTP does to the wall clock (edge/machine-clock.ts).
    const machineClock = () => ({ boot: 'boot-1', ms: Date.now() })
    let h = await EdgeHarness.start({ dataDir, machineClock })
    try {
      const answered = async (id: string, n: number) => {
        for (let i = 0; i < 40 && h.of('reply').filter((p) => p.message.cmd === id).length < n; i++) await h.advance(250)
        await h.until(() => h.of('reply').filter((p) => p.message.cmd === id).length >= n, `answer ${n} to ${id}`)
        return h.of('reply').filter((p) => p.message.cmd === id)[n - 1]!.message
      }
      expect(await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))).toMatchObject({ ok: true })
      const id = h.command('self-test', { tests: ['display'] })
      const first = await answered(id, 1)
      expect(first).toMatchObject({ cmd: id, name: 'self-test', ok: true, result: { display: 'ok' } })
      // Power fails once central has the answer: the state file is as it was then.
      const atCut = await readFile(statePath, 'utf8')
      expect(JSON.parse(atCut).clock).toMatchObject({ machine: { boot: 'boot-1' } })
      await h.stop()
      await writeFile(statePath, atCut)
      h = await EdgeHarness.start({ dataDir, machineClock })
      h.hardware.displayFault('eio')
      // Central sends the very same command again (it had not taken the answer in before the cut, say).
      h.command('self-test', { tests: ['display'] }, { id })
      const again = await answered(id, 1)
      const answer = (m: Record<string, unknown>) => ({ cmd: m.cmd, name: m.name, ok: m.ok, result: m.result, code: m.code, message: m.message })
      expect(answer(again)).toEqual(answer(first))
    } finally {
      await h.stop()
      vi.useRealTimers()
      await rm(dataDir, { recursive: true, force: true })
    }
  }, 60_000)
})

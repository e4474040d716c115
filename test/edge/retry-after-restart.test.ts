import { afterEach, describe, expect, it } from 'vitest'
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

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StateFile } from '../../edge/state-file.ts'
import { step } from '../../edge/counter/machine.ts'
import { displayFor } from '../../edge/counter/view.ts'
import { initialState, type CounterState, type Input } from '../../edge/counter/state.ts'
import { parseCommand, type Command } from '../../edge/protocol/index.ts'
import { silentLogger } from '../../edge/shared/logger.ts'

/** What the service flow (issue 18) keeps in the window's state survives a restart, and older files still load. */
const T0 = Date.parse('2026-11-22T08:00:00Z')
const LIMITS = { digits: 4, charset: '0123456789ABCDEFGHIJLNOPQRSTUY-' }
const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'state-flow-'))
  dirs.push(d)
  return d
}
let n = 0
const cmd = (name: string, args: Record<string, unknown> = {}): Input => {
  const r = parseCommand(name, JSON.stringify({ id: `s${n++}`, expires: '2099-01-01T00:00:00.000Z', ...args }))
  if (!r.ok) throw new Error(r.message)
  return { kind: 'command', command: r.command as Command }
}
function run(inputs: Array<[Input, number]>): CounterState {
  let s = initialState(T0, LIMITS)
  for (const [i, at] of inputs) s = step(s, i, at, at).state
  return s
}

describe('state file and the service flow', () => {
  it('keeps the officer\'s shift, a pause waiting for the service, a continued call and the closed records across a restart', async () => {
    const s = run([
      [cmd('officer', { action: 'sign-in', officer: 'P1', officerName: 'Li' }), T0],
      [cmd('call', { ticket: 'A1' }), T0 + 1000],
      [cmd('no-show'), T0 + 2000],
      [cmd('call', { ticket: 'A2', record: 'w02-b-7', continues: 'transfer' }), T0 + 3000],
      [{ kind: 'tick' }, T0 + 123_000],
      [cmd('pause', { reason: 'meal', limitS: 600 }), T0 + 124_000],
    ])
    expect(s.ticket).toMatchObject({ record: 'w02-b-7', continues: 'transfer', unanswered: true })
    const d = dir()
    const file = new StateFile({ dir: d, log: silentLogger() })
    await file.save(s, [], [], { wall: T0 + 124_000, mono: T0 + 124_000 })
    await file.flush()
    const loaded = await new StateFile({ dir: d, log: silentLogger() }).load(T0 + 200_000, LIMITS, {})
    expect(loaded.officer).toEqual(s.officer)
    expect(loaded.pauseAfter).toEqual(s.pauseAfter)
    expect(loaded.ticket).toMatchObject({ number: 'A2', record: 'w02-b-7', continues: 'transfer', unanswered: true, attentionMono: s.ticket!.attentionMono })
    expect(loaded.closedRecords).toEqual(['svc-1'])
  })

  it('a file from before the service flow loads with its pause and officer, and the new fields at their defaults', async () => {
    const d = dir()
    const old = {
      version: 1, mode: 'paused', since: T0, ticket: null, officer: { id: 'P1', name: null }, evaluation: null,
      pause: { reason: 'break', since: T0, sinceMono: 5000 }, clock: { wall: T0, mono: 5000 }, overtime: 'none',
      settings: { evaluationTimeoutS: 30, overtimeWarnS: 300, overtimeLimitS: 900, telemetryPeriodS: 60, brightness: 15, scale: 3, attentionS: 10 },
      ignoredPresses: 0,
    }
    writeFileSync(join(d, 'window-state.json'), JSON.stringify(old))
    const loaded = await new StateFile({ dir: d, log: silentLogger() }).load(T0 + 1000, LIMITS, {})
    expect(loaded.mode).toBe('paused')
    expect(loaded.pause).toEqual({ reason: 'break', since: T0, sinceMono: 5000, limitS: null, over: false, afterService: false, cmd: null })
    expect(loaded.officer).toEqual({ id: 'P1', name: null, since: T0, sinceMono: 5000, pausedMs: 0 })
    expect(loaded.pauseAfter).toBeNull()
    expect(loaded.closedRecords).toEqual([])
    expect(loaded.settings).toMatchObject({ noShowPromptS: 120, pauseLimitS: 1800, recallLimit: 3 })
  })

  it('a display swapped for one that cannot show the saved ticket: the rating stays open and is taken, the display shows dashes', async () => {
    const s = run([
      [cmd('officer', { action: 'sign-in', officer: 'P1', officerName: 'Li' }), T0],
      [cmd('call', { ticket: 'A12' }), T0 + 1000],
      [cmd('start'), T0 + 2000],
      [cmd('finish', { outcome: 'served' }), T0 + 60_000],
    ])
    expect(s.mode).toBe('evaluating')
    const d = dir()
    const file = new StateFile({ dir: d, log: silentLogger() })
    await file.save(s, [], [], { wall: T0 + 60_000, mono: T0 + 60_000 })
    await file.flush()
    // The technician fits a 3-digit 7-segment display: no letters.
    const digitsOnly = { digits: 3, charset: '0123456789-' }
    const loaded = await new StateFile({ dir: d, log: silentLogger() }).load(T0 + 65_000, digitsOnly, {})
    expect(loaded).toMatchObject({ mode: 'evaluating', officer: s.officer, evaluation: s.evaluation, closedRecords: s.closedRecords })
    expect(displayFor(loaded, T0 + 65_000).text).toBe('---')
    const rated = step(loaded, { kind: 'key', score: 'dissatisfied' }, T0 + 66_000, T0 + 66_000)
    expect(rated.effects).toContainEqual({ kind: 'event', event: expect.objectContaining({ type: 'evaluated', ticket: 'A12', officer: 'P1', record: s.evaluation!.record, score: 'dissatisfied' }) })
    expect(rated.state.mode).toBe('idle')
  })
})

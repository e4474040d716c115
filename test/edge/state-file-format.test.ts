import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { STATE_FORMAT, StateFile } from '../../edge/state-file.ts'
import { step } from '../../edge/counter/machine.ts'
import { initialState } from '../../edge/counter/state.ts'
import { parseCommand, type Command } from '../../edge/protocol/index.ts'
import { createLogger } from '../../edge/shared/logger.ts'

/**
 * A rollback (edge/update/launcher.ts) starts an older runtime on the state file a newer one wrote. The older one
 * must not read a format it does not know as its own, nor overwrite it, nor lose the ratings saved in its outbox.
 */
const T0 = Date.parse('2026-12-06T08:00:00Z')
const LIMITS = { digits: 4, charset: '0123456789ABCDEFGHIJLNOPQRSTUY-' }
const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))

function logged() {
  const lines: Array<Record<string, unknown>> = []
  const out = new PassThrough()
  out.on('data', (d: Buffer) => d.toString().split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)))
  return { log: createLogger({ name: 'test', pretty: false, destination: out }), lines }
}

describe('state file format', () => {
  it('a file in a newer format is set aside whole, the window starts closed, and its outbox and ledger are still sent and honoured', async () => {
    const d = mkdtempSync(join(tmpdir(), 'state-format-'))
    dirs.push(d)
    const parsed = parseCommand('call', JSON.stringify({ id: 'c-1', expires: '2099-01-01T00:00:00.000Z', ticket: 'A12' }))
    if (!parsed.ok) throw new Error(parsed.message)
    const calling = step(initialState(T0, LIMITS), { kind: 'command', command: parsed.command as Command }, T0, T0).state
    const rating = { id: 'ev-9', cls: 'event' as const, topic: 'hall/h1/counter/w01/event/evaluated', body: '{"score":"satisfied"}' }
    const ledger = [['c-1', { kind: 'reply', cmd: 'c-1', name: 'call', ok: true }]] as const
    // What a newer release wrote: its own format number and a field this version has never heard of.
    const first = new StateFile({ dir: d, log: logged().log })
    await first.save(calling, [rating], ledger, { wall: T0, mono: T0 })
    await first.flush()
    const file = join(d, 'window-state.json')
    const newer = JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), version: STATE_FORMAT + 1, queueHint: { lane: 2 } })
    writeFileSync(file, newer)

    const { log, lines } = logged()
    const older = new StateFile({ dir: d, log })
    const loaded = await older.load(T0 + 60_000, LIMITS, {})
    expect(loaded.mode).toBe(initialState(T0, LIMITS).mode)
    expect(loaded.ticket).toBeNull()
    expect(older.takeRecovered()).toEqual([rating])
    expect(older.takeLedger()).toEqual(ledger)
    const aside = `${file}.format-${STATE_FORMAT + 1}`
    expect(readFileSync(aside, 'utf8')).toBe(newer)
    const said = lines.find((l) => String(l.msg).includes(`format ${STATE_FORMAT + 1}`))
    expect(said?.msg).toMatch(/^窗口状态文件格式 \d+ 比本版本新.* \/ the window state file is format \d+, newer than this version's \d+ .*set aside as .*window-state\.json\.format-\d+, the window starts closed$/)
    expect(said?.level).toBe(50)
    // This run's saves go to the usual file, in its own format; the newer one stays as it was.
    await older.save(loaded, [], [], { wall: T0 + 61_000, mono: T0 + 61_000 })
    await older.flush()
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(STATE_FORMAT)
    expect(readFileSync(aside, 'utf8')).toBe(newer)
    expect(readdirSync(d).sort()).toEqual(['window-state.json', `window-state.json.format-${STATE_FORMAT + 1}`])
  })
})

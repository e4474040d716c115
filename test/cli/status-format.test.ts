import { describe, it, expect } from 'vitest'
import { formatRow } from '../../cli/status-command.ts'
import type { State, Status, UpdateReport } from '../../edge/protocol/index.ts'

const envelope = { v: 1, id: 'm-1', boot: 'b1', seq: 1, ts: '2026-12-05T02:00:00.000Z', synced: true }

/** `counter-edge status` rows: names before ids, and columns that hold for an offline window. */
describe('a status row', () => {
  const state = {
    ...envelope,
    mode: 'serving',
    since: '2026-12-05T02:00:00.000Z',
    ticket: { number: 'A042', service: null, green: false, appointment: false },
    officer: { id: 'P10482', name: '赵敏' },
    overtime: 'none',
    faults: [],
  } as unknown as State

  it("shows the officer's name with the id beside it", () => {
    const row = formatRow({ counter: 'w01', status: { ...envelope, online: true, version: '1', board: 'b', capabilities: [] } as Status, state })
    expect(row).toMatch(/^w01\s+online\s+serving\s+A042\s+1\s+赵敏 \(P10482\)$/)
  })

  it('keeps the columns of an online row for an offline one, the reason in words', () => {
    const online = formatRow({ counter: 'w01', status: { ...envelope, online: true, version: '1', board: 'b', capabilities: [] } as Status, state })
    const offline = formatRow({ counter: 'w02', status: { ...envelope, online: false, reason: 'will' } as Status, state })
    expect(offline).toMatch(/^w02\s+OFFLINE \(lost\)\s+serving/)
    expect(offline.indexOf('serving')).toBe(online.indexOf('serving'))
    expect(offline.indexOf('A042')).toBe(online.indexOf('A042'))
  })

  it('shows the version the board runs, and an update that rolled back with its reason', () => {
    const update = { ...envelope, running: '1.2.0', state: 'rolled-back', target: '1.3.0', previous: null, cmd: 'rollout-1', reason: '1.3.0 exited 3 times before it was online', progress: null } as UpdateReport
    const row = formatRow({ counter: 'w03', status: { ...envelope, online: true, version: '1.2.0', board: 'b', capabilities: [] } as Status, state, update })
    expect(row).toMatch(/^w03\s+online\s+serving\s+A042\s+1\.2\.0\s+赵敏 \(P10482\)  UPDATE rolled-back 1\.3\.0: 1\.3\.0 exited 3 times before it was online$/)
  })
})

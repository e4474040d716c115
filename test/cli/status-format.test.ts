import { describe, it, expect } from 'vitest'
import { faultHints, statusTable, type Row } from '../../cli/status-command.ts'
import { displayWidth, padToWidth } from '../../cli/display-width.ts'
import type { State, Status, UpdateReport } from '../../edge/protocol/index.ts'

const envelope = { v: 1, id: 'm-1', boot: 'b1', seq: 1, ts: '2026-12-05T02:00:00.000Z', synced: true }
const online = (version = '1') => ({ ...envelope, online: true, version, board: 'b', capabilities: [] }) as Status
const offline = (reason: string) => ({ ...envelope, online: false, reason }) as Status

/** The terminal column where `needle` starts in `line`: a Chinese character takes two. */
const columnOf = (line: string, needle: string) => displayWidth(line.slice(0, line.indexOf(needle)))

/** `counter-edge status` rows: Chinese with English beside each cell, names before ids, and columns that hold in a terminal. */
describe('the status table', () => {
  const state = {
    ...envelope,
    mode: 'serving',
    since: '2026-12-05T02:00:00.000Z',
    ticket: { number: 'A042', service: null, green: false, appointment: false },
    officer: { id: 'P10482', name: '赵敏' },
    overtime: 'none',
    faults: [],
  } as unknown as State

  it('has a heading in both languages, and each cell in Chinese with English beside it', () => {
    const [heading, row] = statusTable([{ counter: 'w01', status: online(), state }])
    expect(heading).toMatch(/^窗口 window\s+连接 link\s+状态 mode\s+票号 ticket\s+版本 version\s+工作人员 officer · 提示 notes$/)
    expect(row).toMatch(/^w01\s+在线 online\s+办理中 serving\s+A042\s+1\s+赵敏 \(P10482\)$/)
  })

  it('says offline, the mode, no officer, overtime and faults in both languages', () => {
    const idle = { ...state, mode: 'idle', ticket: null, officer: null, overtime: 'over', faults: [{ device: 'display', code: 'absent', since: envelope.ts }] } as unknown as State
    const rows = statusTable([
      { counter: 'w01', status: offline('will'), state: idle },
      { counter: 'w02', status: offline('stop') },
      { counter: 'w03', status: offline('fault'), state: { ...state, mode: 'evaluating', overtime: 'warning' } as State },
      { counter: 'w04' },
    ]).slice(1)
    expect(rows[0]).toMatch(/^w01\s+离线 OFFLINE \(连接中断 lost\)\s+空闲 idle\s+-\s+-\s+无人签到 no officer  已超时 overtime  故障 FAULTS: display 设备未应答 absent$/)
    expect(rows[1]).toMatch(/^w02\s+离线 OFFLINE \(已停止 stopped\)\s+-\s+-\s+-\s+无人签到 no officer$/)
    expect(rows[2]).toMatch(/^w03\s+离线 OFFLINE \(故障停机 fault stop\)\s+评价中 evaluating\s+A042\s+-\s+赵敏 \(P10482\)  即将超时 nearly overtime$/)
    expect(rows[3]).toMatch(/^w04\s+未知 unknown\s+-\s+-\s+-\s+无人签到 no officer$/)
  })

  it('a display whose I2C bus is missing (/dev/i2c-1 absent at start): the fault in Chinese beside its code, and under the table what to check, in both languages', () => {
    const faulty = { ...state, faults: [{ device: 'display', code: 'bus-missing', since: envelope.ts }] } as unknown as State
    const rows: Row[] = [{ counter: 'w01', status: online(), state: faulty }, { counter: 'w02', status: online(), state }]
    expect(statusTable(rows)[1]).toMatch(/故障 FAULTS: display 总线不存在 bus-missing$/)
    expect(faultHints(rows)).toEqual([
      'w01 display 总线不存在 bus missing：板上未启用该 I2C 总线或总线号配置错误；启用后重启 / the I2C bus is not enabled on the board or the bus number is wrong; enable it and restart',
    ])
  })

  it('starts every column at the same terminal column in every row, online or offline, with Chinese in the cells', () => {
    const lines = statusTable([
      { counter: 'w01', status: online('1.2.0'), state },
      { counter: 'w02', status: offline('fault'), state: { ...state, mode: 'calling', ticket: { ...state.ticket!, number: 'B7' } } as State },
      { counter: 'w10', status: offline('will') },
    ])
    const starts = (line: string, cells: string[]) => cells.map((c) => columnOf(line, c))
    const heading = starts(lines[0]!, ['连接 link', '状态 mode', '票号 ticket', '版本 version', '工作人员'])
    expect(starts(lines[1]!, ['在线 online', '办理中 serving', 'A042', '1.2.0', '赵敏'])).toEqual(heading)
    expect(starts(lines[2]!, ['离线 OFFLINE', '叫号中 calling', 'B7', '-', '赵敏'])).toEqual(heading)
    expect(columnOf(lines[3]!, '离线 OFFLINE')).toBe(heading[0])
    // At least two spaces between the widest cell and the next column.
    expect(lines[2]).toMatch(/\(故障停机 fault stop\) {2}叫号中/)
  })

  it('shows the version the board runs, and an update that rolled back with its reason', () => {
    const update = { ...envelope, running: '1.2.0', state: 'rolled-back', target: '1.3.0', previous: null, cmd: 'rollout-1', reason: '1.3.0 exited 3 times before it was online', progress: null } as UpdateReport
    const rows: Row[] = [{ counter: 'w03', status: online('1.2.0'), state, update }]
    expect(statusTable(rows)[1]).toMatch(/^w03\s+在线 online\s+办理中 serving\s+A042\s+1\.2\.0\s+赵敏 \(P10482\)  升级 UPDATE 已回滚 rolled-back 1\.3\.0: 1\.3\.0 exited 3 times before it was online$/)
  })

  it('an installed release whose restart waits for the applicant says so, not just installing', () => {
    const update = { ...envelope, running: '1.2.0', state: 'installing', target: '1.3.0', previous: '1.2.0', cmd: 'rollout-1', reason: null, progress: null, waitingFor: 'applicant' } as UpdateReport
    expect(statusTable([{ counter: 'w03', status: online('1.2.0'), state, update }])[1]).toMatch(/赵敏 \(P10482\)  升级 UPDATE 安装中 installing 1\.3\.0, 等办事群众办完后重启 restarts once the applicant is served$/)
  })
})

describe('display width in a terminal', () => {
  it('counts East Asian wide and fullwidth characters as two columns, combining marks as none', () => {
    expect(displayWidth('online')).toBe(6)
    expect(displayWidth('在线')).toBe(4)
    expect(displayWidth('离线 OFFLINE (连接中断 lost)')).toBe(28)
    expect(displayWidth('（Ａ１）')).toBe(8) // fullwidth forms
    expect(displayWidth('한국어')).toBe(6)
    expect(displayWidth('カナ')).toBe(4)
    expect(displayWidth('e\u0301')).toBe(1) // e + combining acute
    expect(displayWidth('a\u200bb')).toBe(2)
    expect(displayWidth('𠀋')).toBe(2) // outside the BMP
    expect(padToWidth('赵敏', 6)).toBe('赵敏  ')
    expect(padToWidth('赵敏', 3)).toBe('赵敏')
  })
})

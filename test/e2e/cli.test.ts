import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { displayWidth } from '../../cli/display-width.ts'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { writeFile } from 'node:fs/promises'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { untilOnlineAtHub } from '../support/hall-online.ts'
import { Probe, command, eventually } from '../support/probe.ts'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, out: stdout, err: stderr })
    })
  })
}

/** The technician's commands, run as a technician would, against a simulated hall. */
describe('counter-edge status, identify, selftest', () => {
  let hall: SimHall
  let auth: string[]

  beforeAll(async () => {
    hall = await startSimHall({ hall: 'hall-9', windows: 3, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, speed: 20, board: 'sim-window', traffic: false, log: silentLogger() })
    auth = ['--hub', `mqtt://127.0.0.1:${hall.hub.port}`, '--hall', 'hall-9', '--username', hall.technician.username, '--password-file', hall.technician.passwordFile]
    await untilOnlineAtHub(hall)
  })

  afterAll(async () => {
    await hall?.stop()
  })

  it('--help lists every command, and each command has its own help', async () => {
    const main = await cli(['--help'])
    expect(main.code).toBe(0)
    for (const c of ['sim', 'hub', 'edge', 'provision', 'status', 'identify', 'selftest']) expect(main.out).toContain(c)
    const sub = await cli(['selftest', '--help'])
    expect(sub.out).toMatch(/--counter/)
    const unknown = await cli(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.err).toMatch(/unknown command "frobnicate"/)
  })

  it('status prints one line per window from the hub', async () => {
    const r = await cli(['status', ...auth])
    expect(r.err).toBe('')
    const lines = r.out.trim().split('\n')
    // A heading (each column in Chinese with English beside it), one line per window, one summary line.
    expect(lines).toHaveLength(5)
    expect(lines[0]).toMatch(/^窗口 window\s+连接 link\s+状态 mode\s+票号 ticket\s+版本 version\s+工作人员 officer/)
    expect(lines[1]).toMatch(/^w01\s+在线 online\s+窗口关闭 closed/)
    expect(lines[4]).toBe('全部 3 个窗口在线且无故障 / all 3 windows online, no faults')
    expect(r.code).toBe(0)
    const json = await cli(['status', ...auth, '--json'])
    expect(json.code, json.err).toBe(0)
    expect((JSON.parse(json.out) as unknown[]).length).toBe(3)
  })

  it('identify blinks the window so a technician can find it', async () => {
    const r = await cli(['identify', ...auth, '--counter', 'w02', '--seconds', '2'])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toBe('窗口 w02 的显示屏正在闪烁 "----"，持续 2 秒 / window w02 is blinking "----" for 2 s\n')
    const view = hall.windows.get('w02')!.hardware.view()
    expect(view.text).toBe('----')
    expect(view.blink).not.toBe('off')
  })

  it('selftest reports the display, keys and trigger loopback', async () => {
    const r = await cli(['selftest', ...auth, '--counter', 'w03'])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/✓ 显示屏 \/ display: 正常 \/ ok/)
    expect(r.out).toMatch(/✓ 采集触发回环 \/ capture trigger loopback\n\s+✓ photo\s+正常 \/ ok \(\d+ ms\)/)
    expect(r.out).toMatch(/window w03: all tests passed/)
    expect(r.out.split('\n').slice(1).join('\n')).not.toMatch(/[{}"]/)
    const json = await cli(['selftest', ...auth, '--counter', 'w03', '--tests', 'display', '--json'])
    expect(json.code, json.err).toBe(0)
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, result: { display: 'ok' } })
    // With an applicant at the window the trigger test is refused, saying what can be done now; display and keys still run.
    const central = await Probe.connect(hall.centralUrl, ['hall/hall-9/counter/w03/reply'])
    const send = async (name: string, args: Record<string, unknown>) => {
      const p = command(args)
      await central.publish(`hall/hall-9/counter/w03/cmd/${name}`, p)
      return central.waitFor((m) => m.payload.cmd === p.id, 10_000, `the reply to ${name}`)
    }
    try {
      await send('officer', { action: 'sign-in', officer: 'li-na' })
      expect((await send('call', { ticket: 'A001' })).payload.ok).toBe(true)
      const busy = await cli(['selftest', ...auth, '--counter', 'w03'])
      expect(busy.code).toBe(1)
      expect(busy.err).toMatch(/窗口 w03 现在不能做采集触发测试.*--tests display,keys.* \/ window w03 refused the self-test: tests: the trigger test fires the capture devices, and an applicant is at the window \(calling A001\)/)
      const displayAndKeys = await cli(['selftest', ...auth, '--counter', 'w03', '--tests', 'display,keys'])
      expect(displayAndKeys.code, displayAndKeys.err).toBe(0)
      expect(displayAndKeys.out).not.toMatch(/采集设备会触发|captures fire/)
      // Back to idle for the tests after this one.
      expect((await send('no-show', {})).payload.ok).toBe(true)
    } finally {
      await central.close()
    }
  }, 30_000)

  it('Ctrl-C during a self-test says the window still finishes it, and exits 130', async () => {
    // A camera that never answers keeps the trigger test running until the capture timeout: time to press Ctrl-C.
    const camera = hall.windows.get('w02')!.captures.photo!
    camera.setFault('never')
    const triggersBefore = camera.triggers
    try {
      const child = spawn(process.execPath, [CLI, 'selftest', ...auth, '--counter', 'w02', '--tests', 'triggers'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let err = ''
      child.stderr.on('data', (d: Buffer) => (err += d.toString()))
      const closed = once(child, 'close')
      // The window has the command once its camera's trigger line has risen.
      await eventually(() => camera.triggers > triggersBefore || undefined, 20_000, "w02's camera triggered by the self-test")
      child.kill('SIGINT')
      const [code] = await closed
      expect(code, err).toBe(130)
      expect(err).toMatch(/已中断：self-test 命令已发往窗口 w02，窗口仍会执行完.* \/ interrupted: the self-test command was already sent, so window w02 still carries it out; its result is not shown here/)
    } finally {
      camera.setFault('none')
    }
  }, 60_000)

  it('says what is wrong: a bad counter id, a wrong password, a window that does not exist', async () => {
    const bad = await cli(['identify', ...auth, '--counter', 'W 1'])
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/--counter "W 1"：须为 1–32 个字符.* \/ --counter "W 1": expected 1–32 characters/)
    const level = await cli(['sim', '--log-level', 'loud', '--windows', '1'])
    expect(level.code).toBe(2)
    expect(level.err).toMatch(/--log-level must be one of fatal, error, warn, info, debug, trace, silent, not "loud"/)
    const wrongFile = `${hall.technician.passwordFile}.wrong`
    await writeFile(wrongFile, 'not-the-password')
    const wrong = await cli(['status', ...auth.slice(0, -1), wrongFile])
    expect(wrong.code).toBe(1)
    expect(wrong.err).toMatch(/集线器 mqtt:\/\/127\.0\.0\.1:\d+ 拒绝了登录：请检查用户名和密码；若刚才多次输错.*等一分钟.* \/ the hub at .* refused the connection: .*\(check the username and password; after several wrong tries the hub holds off this account for up to a minute, so wait, then try the right one\)/)
  }, 30_000)

  it('an unknown window fails at once from what the hub holds, not after the command timeout', async () => {
    // --wait 600: only the hub's answer (no such window) can end this before the test's own timeout.
    const ghost = await cli(['identify', ...auth, '--counter', 'w42', '--seconds', '1', '--wait', '600'])
    expect(ghost.code).toBe(1)
    expect(ghost.err).toMatch(/窗口 w42 从未向 hall-9 厅的集线器报到：编号是否正确？\/ window w42 has never reported to the hub of hall hall-9: is the id right\?/)
    const test = await cli(['selftest', ...auth, '--counter', 'w42'])
    expect(test.code).toBe(1)
    expect(test.err).toMatch(/window w42 has never reported/)
  }, 20_000)

  it('a --hall the account does not belong to is named, not waited on', async () => {
    const other = [...auth]
    other[other.indexOf('hall-9')] = 'hall-8'
    const r = await cli(['identify', ...other, '--counter', 'w01', '--wait', '600'])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/the hub refused to let this account read hall hall-8: is --hall right\?/)
    const status = await cli(['status', ...other])
    expect(status.code).toBe(1)
    expect(status.err).toMatch(/集线器不让此账号读取 hall-8 厅：--hall 是否正确？\/ the hub refused to let this account read hall hall-8: is --hall right\?/)
  }, 20_000)

  it('identify on a dead display says it is NOT blinking and exits 1; selftest reports the fault readably', async () => {
    const w = hall.windows.get('w01')!
    w.injectDisplayFault('absent')
    try {
      const r = await cli(['identify', ...auth, '--counter', 'w01', '--seconds', '1'])
      expect(r.code).toBe(1)
      expect(r.out).toBe('')
      expect(r.err).toMatch(/窗口 w01 的显示屏有故障，没有闪烁（(absent|nack)）\/ window w01: the display is NOT blinking, it has a fault: (absent|nack): .*EREMOTEIO/)
      expect(r.err).not.toMatch(/\(, /)
      const t = await cli(['selftest', ...auth, '--counter', 'w01', '--tests', 'display'])
      expect(t.code).toBe(1)
      expect(t.err).toMatch(/✗ 显示屏 \/ display: 故障 \/ fault: (absent|nack)/)
      expect(t.err).toMatch(/window w01: self-test FAILED/)
      const s = await cli(['status', ...auth])
      expect(s.code).toBe(1)
      expect(s.out).toMatch(/^w01\s+在线 online\s+.*故障 FAULTS: display (设备未应答 absent|设备失去响应 nack)/m)
      expect(s.out).toMatch(/^w01 display (设备未应答|设备失去响应) .*：.*检查.* \/ .*check/m)
      expect(s.out).toMatch(/1 个窗口需要查看 \/ 1 of 3 windows need a look \(exit code 1\)/)
      // --json is for scripts: the same exit code as the lines.
      const j = await cli(['status', ...auth, '--json'])
      expect(j.code).toBe(1)
      expect(JSON.parse(j.out)).toEqual(expect.arrayContaining([expect.objectContaining({ counter: 'w01' })]))
    } finally {
      w.injectDisplayFault('none')
    }
  }, 40_000)

  it('an offline window fails at once with its reason; status keeps its columns', async () => {
    const w = hall.windows.get('w03')!
    await w.shutdown()
    const r = await cli(['selftest', ...auth, '--counter', 'w03'])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/窗口 w03 离线（已正常停止，\d+ s ago）\/ window w03 is offline \(stopped cleanly, \d+ s ago\)/)
    const s = await cli(['status', ...auth])
    expect(s.code).toBe(1)
    const lines = s.out.split('\n')
    const row = lines.find((l) => l.startsWith('w03'))!
    const online = lines.find((l) => l.startsWith('w01'))!
    const header = lines.find((l) => l.startsWith('窗口 window'))!
    // The mode column starts where the heading says, offline or not, in terminal columns (a Chinese character takes two).
    const column = (line: string, at: number) => displayWidth(line.slice(0, at))
    const at = column(header, header.indexOf('状态 mode'))
    expect(column(row, row.search(/(窗口关闭|空闲|叫号中|办理中|评价中|暂停) /))).toBe(at)
    expect(column(online, online.search(/(窗口关闭|空闲|叫号中|办理中|评价中|暂停) /))).toBe(at)
    expect(row).toMatch(/离线 OFFLINE \(已停止 stopped\)/)
  }, 30_000)
})

import { inflateSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { command, eventually, Probe } from '../support/probe.ts'
import { referenceRows } from '../support/unifont-reference.ts'
import { untilOnlineAtHub } from '../support/hall-online.ts'

const HALL = 'hall-7'

/**
 * The simulated hall with pixel screens (the even windows of `npm start`): a
 * call sent as central sends it shows 请A012号 on the window's 64×16 MAX7219
 * strip, read off the pixels its chips hold and equal to Debian's Unifont
 * drawing of it; the officer panel shows the officer; the control API serves
 * both pictures as PNG.
 */
describe('a simulated hall with pixel screens', () => {
  let hall: SimHall
  let central: Probe

  beforeAll(async () => {
    hall = await startSimHall({ hall: HALL, windows: 2, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, speed: 20, board: 'sim-window', screenBoard: 'sim-window-matrix', traffic: false, log: silentLogger() })
    await untilOnlineAtHub(hall)
    central = await Probe.connect(hall.centralUrl, [`hall/${HALL}/counter/+/reply`])
  })

  afterAll(async () => {
    await central?.close()
    await hall?.stop()
  })

  async function send(counter: string, name: string, args: Record<string, unknown>) {
    const payload = command(args)
    await central.publish(`hall/${HALL}/counter/${counter}/cmd/${name}`, payload)
    return (await central.waitFor((m) => m.topic === `hall/${HALL}/counter/${counter}/reply` && m.payload.cmd === payload.id, 10_000, `the reply to ${name}`)).payload
  }

  it('w02 shows 请A012号 after a call, pixel for pixel as the font file draws it; w01 keeps its 7-segment display', async () => {
    const w02 = hall.windows.get('w02')!
    expect(w02.hardware.profile.id).toBe('sim-window-matrix')
    expect(hall.windows.get('w01')!.hardware.profile.id).toBe('sim-window')
    expect(await send('w02', 'officer', { action: 'sign-in', officer: '031245', officerName: '李娜' })).toMatchObject({ ok: true })
    expect(await send('w02', 'call', { ticket: 'A012' })).toMatchObject({ ok: true })
    await eventually(() => w02.hardware.view().text === '请A012号', 5_000, 'w02 to read 请A012号')
    const reference = referenceRows([{ text: '请A012号', y: 0, scale: 1 }], 64, 16)
    await eventually(() => w02.hardware.screenPixels()!.toRows().join('\n') === reference.join('\n'), 5_000, "w02's pixels to equal Debian's Unifont drawing of 请A012号")
    // The board draws the officer panel after the strip, so the strip showing the call says nothing of the panel yet.
    const calling = ['2号窗口 A012', '姓名 李娜', '警号 031245', '叫号 Calling']
    await eventually(() => JSON.stringify(w02.hardware.panel()!.view.lines) === JSON.stringify(calling), 5_000, 'the officer panel to show the call')
    expect(w02.hardware.panel()!.view.lines).toEqual(calling)

    const api = `${hall.control.url}/api/windows`
    // A fresh call blinks (the chips switch off and on): read it in a lit moment.
    const described = await eventually(async () => {
      const d = (await (await fetch(`${api}/w02`)).json()) as { display: { text: string }; officerPanel: { lines: string[] } }
      return d.display.text === '请A012号' ? d : null
    }, 5_000, 'the control API to describe w02 showing 请A012号')
    expect(described!.officerPanel.lines[1]).toBe('姓名 李娜')

    // The PNG holds the screen's pixels: decoded, block by block, it is the reference (fetched in a lit moment of the call's blink).
    await eventually(async () => {
      const res = await fetch(`${api}/w02/screen.png?scale=2`)
      expect(res.headers.get('content-type')).toBe('image/png')
      const png = Buffer.from(await res.arrayBuffer())
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([128, 32])
      const idat = png.indexOf('IDAT', 0, 'latin1')
      const raw = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)))
      const rows = Array.from({ length: 16 }, (_, y) => Array.from({ length: 64 }, (_, x) => (raw[y * 2 * 129 + 1 + x * 2]! > 128 ? '#' : '.')).join(''))
      return rows.join('\n') === reference.join('\n')
    }, 5_000, 'screen.png to show 请A012号')
    expect((await fetch(`${api}/w02/panel.png`)).status).toBe(200)

    // The officer panel unplugged: a fault in the window's state; plugged back (cold), it recovers on its own and shows the officer again.
    const fault = (body: Record<string, unknown>) => fetch(`${api}/w02/faults`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    expect((await fault({ device: 'officer-panel', fault: 'absent' })).status).toBe(200)
    // A panel that is only refreshed cannot say it is gone (like the HT16K33, §4.2); the next picture it is sent does.
    expect(await send('w02', 'start', {})).toMatchObject({ ok: true })
    await eventually(() => w02.running?.window.current.faults.some((f) => f.device === 'officer-panel' && f.code === 'nack'), 5_000, 'the officer panel fault in w02\'s state')
    await fault({ device: 'officer-panel', fault: 'none' })
    expect(w02.hardware.panel()!.view.lit).toBe(false)
    await eventually(() => w02.running?.window.current.faults.length === 0, 10_000, 'the fault to clear')
    // The fault clears at the first transfer the cold panel takes; the picture is written in the transfers after it.
    const serving = ['2号窗口 A012', '姓名 李娜', '警号 031245', '办理 Serving']
    await eventually(() => JSON.stringify(w02.hardware.panel()!.view.lines) === JSON.stringify(serving), 5_000, 'the officer panel to show the service again')
    expect(w02.hardware.panel()!.view.lines).toEqual(serving)
    const noPanel = await fetch(`${api}/w01/faults`, { method: 'POST', body: JSON.stringify({ device: 'officer-panel', fault: 'absent' }), headers: { 'content-type': 'application/json' } })
    expect(noPanel.status).toBe(400)
    expect(((await noPanel.json()) as { error: string }).error).toMatch(/w01 has no officer panel/)
    const none = await fetch(`${api}/w01/screen.png`)
    expect(none.status).toBe(404)
    expect(((await none.json()) as { error: string }).error).toMatch(/not a pixel screen/)
  })
})

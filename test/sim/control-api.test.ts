/** The control API's answers to wrong input, on windows built from their profiles (not started: the hardware is enough). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { ControlApi } from '../../sim/control-api.ts'
import { SimWindow } from '../../sim/sim-window.ts'

describe('the control API on wrong input', () => {
  let api: ControlApi
  beforeAll(async () => {
    const windows = new Map<string, SimWindow>()
    const common = { hall: 'h1', hub: [], username: 'u', password: 'p', log: silentLogger() }
    for (const counter of ['w01', 'w02']) windows.set(counter, new SimWindow({ ...common, counter, profile: await loadBoardProfile('sim-window', BOARDS_DIR) }))
    api = new ControlApi({ host: '127.0.0.1', port: 0, hall: 'h1', windows, info: () => ({}), ratings: () => [], log: silentLogger() })
    await api.start()
  })
  afterAll(async () => {
    await api.stop()
  })

  const request = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
    return { status: res.status, error: ((await res.json()) as { error?: string }).error }
  }
  const press = (body: unknown) => request('POST', '/api/windows/w01/keys/satisfied/press', body)

  it('holdMs must be a JSON number: true, "100" and [100] are refused, not pressed for 1 or 100 ms', async () => {
    for (const holdMs of [true, '100', [100]]) {
      expect(await press({ holdMs })).toEqual({
        status: 400,
        error: `holdMs 须为 1 到 60000 之间的毫秒数，不是 ${JSON.stringify(holdMs)} / holdMs must be a number of milliseconds between 1 and 60000, not ${JSON.stringify(holdMs)}`,
      })
    }
    expect((await press({ holdMs: 30 })).status).toBe(200)
  })

  it('a field the endpoint does not take is named, not ignored', async () => {
    expect(await press({ hold: 2000 })).toEqual({ status: 400, error: '请求内容有未知字段 "hold"，此处只接受 holdMs / unknown field "hold" in the body; this endpoint takes holdMs' })
    expect(await request('POST', '/api/windows/w01/faults', { device: 'display', fault: 'absent', counter: 'w02' })).toEqual({
      status: 400,
      error: '请求内容有未知字段 "counter"，此处只接受 device、fault / unknown field "counter" in the body; this endpoint takes device, fault',
    })
  })

  it('a missing or wrong device or fault is named, in Chinese and English', async () => {
    expect(await request('POST', '/api/windows/w01/faults', {})).toEqual({
      status: 400,
      error: 'device 须为 "display", "officer-panel", "photo", "fingerprint", "modbus-<slave>" 之一，未给出 / device must be one of "display", "officer-panel", "photo", "fingerprint", "modbus-<slave>", missing',
    })
    expect(await request('POST', '/api/windows/w01/faults', { device: 'display' })).toEqual({ status: 400, error: 'fault 须为 absent、nack-once、eio、none 之一，未给出 / fault must be one of absent, nack-once, eio, none, missing' })
    expect(await request('POST', '/api/windows/w01/faults', { device: 'photo', fault: 1 })).toEqual({
      status: 400,
      error: 'fault 须为 never、stuck、early、bounce、none 之一，不是 1 / fault must be one of never, stuck, early, bounce, none, not 1',
    })
  })

  it('a window, key, path or method that does not exist is named with what does, in Chinese and English', async () => {
    expect(await request('GET', '/api/windows/w99')).toEqual({ status: 404, error: '大厅 h1 没有窗口 "w99"，现有：w01、w02 / no window "w99" in hall h1; windows: w01, w02' })
    expect((await request('POST', '/api/windows/w01/keys/excellent/press')).error).toMatch(/^窗口 w01 没有按键 "excellent"，现有：satisfied、neutral、dissatisfied.* \/ window w01 has no key "excellent"; keys: satisfied, neutral, dissatisfied/)
    expect(await request('GET', '/api/windows/w01/screen.png')).toEqual({
      status: 404,
      error: '窗口 w01 的显示屏（ht16k33）不是点阵屏，请用 GET /api/windows/w01/display 读取 / window w01\'s display (ht16k33) is not a pixel screen; GET /api/windows/w01/display reads it',
    })
    expect(await request('GET', '/api/nothing')).toEqual({ status: 404, error: '没有路径 /api/nothing（GET /api 列出接口）/ unknown path /api/nothing; GET /api lists the endpoints' })
    expect(await request('DELETE', '/api/windows/w01/faults')).toEqual({ status: 405, error: '/api/windows/w01/faults 只接受 POST，不接受 DELETE（GET /api 列出接口）/ /api/windows/w01/faults takes POST, not DELETE; GET /api lists the endpoints' })
  })
})

/** The control API's faults for Modbus modules, on a window built from sim-window-modbus (not started: the hardware is enough). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { ControlApi } from '../../sim/control-api.ts'
import { SimWindow } from '../../sim/sim-window.ts'

describe('the control API on a window with a Modbus module', () => {
  let api: ControlApi
  let modbusWindow: SimWindow
  beforeAll(async () => {
    const windows = new Map<string, SimWindow>()
    const common = { hall: 'h1', hub: [], username: 'u', password: 'p', log: silentLogger() }
    modbusWindow = new SimWindow({ ...common, counter: 'w01', profile: await loadBoardProfile('sim-window-modbus', BOARDS_DIR) })
    windows.set('w01', modbusWindow)
    windows.set('w02', new SimWindow({ ...common, counter: 'w02', profile: await loadBoardProfile('sim-window', BOARDS_DIR) }))
    api = new ControlApi({ host: '127.0.0.1', port: 0, hall: 'h1', windows, info: () => ({}), ratings: () => [], log: silentLogger() })
    await api.start()
  })
  afterAll(async () => {
    await api.stop()
  })

  const post = async (counter: string, body: unknown) => {
    const res = await fetch(`${api.url}/api/windows/${counter}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  it('unplugs the module and plugs it back', async () => {
    const module = modbusWindow.hardware.modbusModule(1)
    expect(await post('w01', { device: 'modbus-1', fault: 'unplugged' })).toEqual({ status: 200, body: { device: 'modbus-1', fault: 'unplugged' } })
    expect(module.isPlugged).toBe(false)
    expect(await post('w01', { device: 'modbus-1', fault: 'none' })).toEqual({ status: 200, body: { device: 'modbus-1', fault: 'none' } })
    expect(module.isPlugged).toBe(true)
  })

  it('names what is wrong: a module the window does not have, a fault it does not know', async () => {
    expect(await post('w01', { device: 'modbus-2', fault: 'unplugged' })).toEqual({ status: 400, body: { error: '窗口 w01 没有 Modbus 模块 2 / window w01 has no Modbus module 2' } })
    expect(await post('w02', { device: 'modbus-1', fault: 'unplugged' })).toEqual({ status: 400, body: { error: '窗口 w02 没有 Modbus 模块 1 / window w02 has no Modbus module 1' } })
    expect(await post('w01', { device: 'modbus-1', fault: 'melted' })).toEqual({ status: 400, body: { error: 'fault 须为 unplugged、bad-crc、none 之一，不是 "melted" / fault must be one of unplugged, bad-crc, none, not "melted"' } })
  })
})

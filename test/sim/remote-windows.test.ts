/**
 * The hall's control API in front of windows that run as processes of their own (`sim --process-per-window`):
 * each window's API on a unix socket (as `counter-edge edge --control <socket>` serves it), the hall's forwarding
 * to it. Windows built, not started: the simulated hardware is what the API reads and drives.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { ControlApi } from '../../sim/control-api.ts'
import { RemoteWindows } from '../../sim/remote-windows.ts'
import { SimWindow } from '../../sim/sim-window.ts'

describe('the hall control API forwarding to window processes', () => {
  const stops: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s()
  })

  async function hall() {
    const dir = await mkdtemp(join(tmpdir(), 'remote-windows-'))
    stops.push(() => rm(dir, { recursive: true, force: true }))
    const w01 = new SimWindow({ hall: 'h1', counter: 'w01', hub: [], username: 'u', password: 'p', log: silentLogger(), profile: await loadBoardProfile('sim-window', BOARDS_DIR) })
    stops.push(async () => w01.release())
    const socketPath = join(dir, 'w01.sock')
    // The window's own API, as its process serves it.
    const own = new ControlApi({ host: '127.0.0.1', port: 0, socketPath, hall: 'h1', windows: new Map([['w01', w01]]), info: () => ({ counter: 'w01' }), log: silentLogger() })
    await own.start()
    stops.push(() => own.stop())
    // w02's process is down: its socket is not there.
    const remote = new RemoteWindows(new Map([['w01', socketPath], ['w02', join(dir, 'w02.sock')]]))
    const api = new ControlApi({ host: '127.0.0.1', port: 0, hall: 'h1', windows: new Map(), remote, info: () => ({ hall: 'h1' }), log: silentLogger() })
    await api.start()
    stops.push(() => api.stop())
    return { api, w01, socketPath }
  }

  it('presses a key and reads a window through the hall API; a window whose process is down gets 503 saying so', async () => {
    const { api } = await hall()
    const pressed = await fetch(`${api.url}/api/windows/w01/keys/satisfied/press`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ holdMs: 30 }) })
    expect(pressed.status).toBe(200)
    expect(((await pressed.json()) as { pressed: string }).pressed).toBe('satisfied')

    const one = await fetch(`${api.url}/api/windows/w01`)
    expect(one.status).toBe(200)
    expect(((await one.json()) as { counter: string; captures: Record<string, unknown> }).captures).toHaveProperty('photo')

    const bad = await fetch(`${api.url}/api/windows/w01/keys/nope/press`, { method: 'POST' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/no key "nope"/)

    const down = await fetch(`${api.url}/api/windows/w02`)
    expect(down.status).toBe(503)
    expect(((await down.json()) as { error: string }).error).toMatch(/window w02's process is not answering/)

    const all = (await (await fetch(`${api.url}/api/windows`)).json()) as Array<{ counter: string; online: boolean; process?: string }>
    expect(all.map((w) => [w.counter, w.online])).toEqual([
      ['w01', false],
      ['w02', false],
    ])
    expect(all[1]!.process).toMatch(/not answering/)

    const unknown = await fetch(`${api.url}/api/windows/w09`)
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: string }).error).toMatch(/windows: w01, w02/)

    // No central stand-in here counts ratings: the 404 says where to count them.
    const ratings = await fetch(`${api.url}/api/ratings`)
    expect(ratings.status).toBe(404)
  })

  it('a window process started again binds its socket over the file its killed predecessor left', async () => {
    const { api, w01, socketPath } = await hall()
    // A SIGKILLed process leaves its socket file behind (w02's here); the restarted one must not fail with EADDRINUSE.
    const stale = join(dirname(socketPath), 'w02.sock')
    await writeFile(stale, '')
    const w02 = new ControlApi({ host: '127.0.0.1', port: 0, socketPath: stale, hall: 'h1', windows: new Map([['w02', w01]]), info: () => ({}), log: silentLogger() })
    await w02.start()
    stops.push(() => w02.stop())
    expect((await fetch(`${api.url}/api/windows/w02/display`)).status).toBe(200)
  })
})

import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { Probe, command, eventually } from '../support/probe.ts'

/** The simulated hall's control API, driven by hand (--no-traffic): what central got shows, a wrong method is told so. */
describe('the simulated hall without traffic', () => {
  let hall: SimHall
  let central: Probe

  beforeAll(async () => {
    hall = await startSimHall({ hall: 'hall-7', windows: 2, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, dashboardPort: 0, speed: 20, board: 'sim-window', traffic: false, log: silentLogger() })
    central = await Probe.connect(hall.central.url, ['hall/hall-7/#'])
    await eventually(() => [...hall.windows.values()].every((w) => w.running?.link.connected), 10_000, 'windows online')
  }, 60_000)

  afterAll(async () => {
    await central?.close()
    await hall?.stop()
  })

  async function send(counter: string, name: string, args: Record<string, unknown>) {
    const p = command(args)
    await central.publish(`hall/hall-7/counter/${counter}/cmd/${name}`, p)
    await central.waitFor((m) => m.topic === `hall/hall-7/counter/${counter}/reply` && m.payload.cmd === p.id, 10_000, `reply to ${name}`)
  }

  it('GET /api/ratings lists the rating central got, though no central stub runs', async () => {
    expect(hall.stub).toBeNull()
    await send('w01', 'officer', { action: 'sign-in', officer: 'li-na', officerName: 'Li Na' })
    await send('w01', 'call', { ticket: 'A007' })
    await send('w01', 'start', {})
    await send('w01', 'finish', { outcome: 'served' })
    await eventually(() => hall.windows.get('w01')!.running!.window.current.mode === 'evaluating', 5000, 'evaluation open')
    await hall.windows.get('w01')!.hardware.press('satisfied')
    const atCentral = await central.waitFor((m) => m.topic === 'hall/hall-7/counter/w01/event/evaluated', 10_000, 'the rating at central')
    const ratings = await eventually(
      async () => {
        const list = (await (await fetch(`${hall.control.url}/api/ratings`)).json()) as Array<{ counter: string; ticket: string; score: string; id: string }>
        return list.length > 0 ? list : undefined
      },
      10_000,
      'the rating in /api/ratings',
    )
    expect(ratings).toEqual([{ counter: 'w01', ticket: 'A007', score: 'satisfied', id: atCentral.payload.id }])
  })

  it('a wrong method is 405 with the methods the path takes; an unknown path stays 404', async () => {
    const post = await fetch(`${hall.control.url}/api/ratings`, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET')
    expect(((await post.json()) as { error: string }).error).toBe('/api/ratings takes GET, not POST; GET /api lists the endpoints')
    const getFaults = await fetch(`${hall.control.url}/api/windows/w01/faults`)
    expect(getFaults.status).toBe(405)
    expect(getFaults.headers.get('allow')).toBe('POST')
    const press = await fetch(`${hall.control.url}/api/windows/w01/keys/satisfied/press`, { method: 'DELETE' })
    expect(press.status).toBe(405)
    const unknown = await fetch(`${hall.control.url}/api/nothing`, { method: 'POST' })
    expect(unknown.status).toBe(404)
  })
})

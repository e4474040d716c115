import { describe, it, expect, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Probe, command, eventually } from '../support/probe.ts'
import { freePort } from '../support/ports.ts'
import { settlesWithin } from '../support/deadline.ts'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))

/**
 * `sim --process-per-window --no-traffic` with the built-in central stand-in, as an integrator runs
 * it: their own central calls and a key is pressed through the control API. GET /api/ratings lists
 * the rating central received (it read the queue stub's list, empty without traffic), and the stop
 * says how many central received, as `npm start` does.
 */
describe('sim --process-per-window on the central stand-in', () => {
  let child: ChildProcess | null = null
  let central: Probe | null = null
  let out = ''

  afterAll(async () => {
    await central?.close()
    if (child && child.exitCode === null) child.kill('SIGKILL')
  })

  it('lists the rating central received in /api/ratings and counts it at the stop', async () => {
    const [hubPort, centralPort, controlPort, dashboardPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
    child = spawn(
      process.execPath,
      [CLI, 'sim', '--process-per-window', '--no-traffic', '--windows', '1', '--no-announcer', '--hub-port', String(hubPort), '--central-port', String(centralPort), '--control-port', String(controlPort), '--dashboard-port', String(dashboardPort)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    const api = `http://127.0.0.1:${controlPort}/api`
    await eventually(async () => {
      const r = await fetch(`${api}/windows/w01`).catch(() => null)
      return r?.ok && ((await r.json()) as { online: boolean }).online
    }, 60_000, `w01 online (sim said: ${out})`, 250)

    central = await Probe.connect(`mqtt://127.0.0.1:${centralPort}`, ['hall/hall-1/#'])
    const send = async (name: string, args: Record<string, unknown>) => {
      const p = command(args)
      await central!.publish(`hall/hall-1/counter/w01/cmd/${name}`, p)
      const reply = await central!.waitFor((m) => m.topic === 'hall/hall-1/counter/w01/reply' && m.payload.cmd === p.id, 10_000, `reply to ${name}`)
      expect(reply.payload.ok, JSON.stringify(reply.payload)).toBe(true)
    }
    await send('officer', { action: 'sign-in', officer: 'li-na' })
    await send('call', { ticket: 'A007' })
    await send('start', {})
    await send('finish', { outcome: 'served' })
    const press = await fetch(`${api}/windows/w01/keys/satisfied/press`, { method: 'POST' })
    expect(press.status).toBe(200)
    const atCentral = await central.waitFor((m) => m.topic === 'hall/hall-1/counter/w01/event/evaluated', 10_000, 'the rating at central')

    const ratings = await eventually(async () => {
      const list = (await (await fetch(`${api}/ratings`)).json()) as unknown[]
      return list.length > 0 ? list : undefined
    }, 10_000, 'the rating in /api/ratings')
    expect(ratings).toEqual([{ counter: 'w01', ticket: 'A007', score: 'satisfied', id: atCentral.payload.id }])

    const exited = new Promise<number | null>((r) => child!.once('close', (code) => r(code)))
    child.kill('SIGTERM')
    expect(await settlesWithin(exited, 20_000), out).toBe(true)
    expect(await exited, out).toBe(0)
    expect(out).toContain('counter-edge: 已正常停止（中心共收到 1 个评价）/ stopped cleanly (1 ratings received by central).')
  }, 120_000)
})

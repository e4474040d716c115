import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { VERSION } from '../../edge/shared/version.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { Probe, command, eventually } from '../support/probe.ts'
import { parsePromText } from '../support/prometheus-text.ts'
import { untilOnlineAtHub } from '../support/hall-online.ts'

/** The simulated hall's control API, driven by hand (--no-traffic): what central got shows, a wrong method is told so. */
describe('the simulated hall without traffic', () => {
  let hall: SimHall
  let central: Probe

  beforeAll(async () => {
    hall = await startSimHall({ hall: 'hall-7', windows: 2, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, dashboardPort: 0, speed: 20, board: 'sim-window', traffic: false, log: silentLogger() })
    central = await Probe.connect(hall.centralUrl, ['hall/hall-7/#'])
    await untilOnlineAtHub(hall)
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

  const metrics = async () => {
    const res = await fetch(`http://127.0.0.1:${hall.hub.httpPort}/metrics`)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    return parsePromText(await res.text())
  }
  const hall7 = { hall: 'hall-7' }

  it('/metrics has every series from the start, at 0, with build info and process and Node runtime figures', async () => {
    const m = await metrics()
    expect(m.value('counter_edge_build_info', { ...hall7, version: VERSION, nodejs: process.version })).toBe(1)
    for (const counter of ['w01', 'w02']) {
      const l = { ...hall7, counter }
      expect(m.value('counter_edge_window_online', l)).toBe(1)
      expect(m.value('counter_edge_window_connected', l)).toBe(1)
      expect(m.value('counter_edge_window_journal_depth', l)).toBe(0)
      expect(m.value('counter_edge_services_total', { ...l, outcome: 'served' })).toBe(0)
      expect(m.value('counter_edge_ratings_total', { ...l, score: 'very-dissatisfied' })).toBe(0)
      for (const h of ['service_duration_seconds', 'call_wait_seconds', 'command_round_trip_seconds']) {
        expect(m.value(`counter_edge_${h}_count`, l)).toBe(0)
        expect(m.value(`counter_edge_${h}_bucket`, { ...l, le: '+Inf' })).toBe(0)
      }
    }
    expect(m.types.get('counter_edge_service_duration_seconds')).toBe('histogram')
    expect(m.help.get('counter_edge_window_online')).toBe('Per window in service: 1 while its board is online (birth seen, no will or stop since), else 0; a window revoked (out of service) has no series.')
    for (const code of ['unknown-counter', 'qos-required', 'retained-refused']) expect(m.value('counter_edge_commands_refused_total', { ...hall7, code })).toBe(0)
    expect(m.value('counter_edge_screen_streams_open', hall7)).toBe(0)
    // prom-client's default process and Node collectors, in this hub's own registry with its labels.
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'process_start_time_seconds', 'process_open_fds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_resources_total']) {
      expect(m.value(name, hall7)).toBeGreaterThanOrEqual(0)
    }
    expect(m.types.get('nodejs_gc_duration_seconds')).toBe('histogram')
    expect(m.has('nodejs_version_info', { ...hall7, version: process.version })).toBe(true)
    expect(m.value('process_resident_memory_bytes', hall7)).toBeGreaterThan(0)
    // Every sample names its hall, the default collectors' too.
    expect(m.samples.filter((s) => s.labels.hall !== 'hall-7')).toEqual([])
  })

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

  it('/metrics has the service, the wait and the command round trips of that service, per window', async () => {
    const m = await metrics()
    const l = { ...hall7, counter: 'w01' }
    expect(m.value('counter_edge_service_duration_seconds_count', l)).toBe(1)
    expect(m.value('counter_edge_call_wait_seconds_count', l)).toBe(1)
    // sign-in, call, start, finish: four commands from central, each answered.
    expect(m.value('counter_edge_command_round_trip_seconds_count', l)).toBe(4)
    expect(m.value('counter_edge_command_round_trip_seconds_bucket', { ...l, le: '+Inf' })).toBe(4)
    // Cumulative buckets: none holds more than +Inf, and each holds at least the one below it.
    const buckets = m.samples.filter((s) => s.name === 'counter_edge_command_round_trip_seconds_bucket' && s.labels.counter === 'w01').map((s) => s.value)
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b))
    expect(m.value('counter_edge_ratings_total', { ...l, score: 'satisfied' })).toBe(1)
    expect(m.value('counter_edge_command_round_trip_seconds_count', { ...hall7, counter: 'w02' })).toBe(0)
  })

  it('/metrics says which window is offline', async () => {
    await hall.windows.get('w02')!.stop()
    await eventually(async () => (await metrics()).value('counter_edge_window_online', { ...hall7, counter: 'w02' }) === 0, 10_000, 'w02 offline in /metrics')
    // Offline comes with the board's stop status; its session ends only with the DISCONNECT after it, a moment later.
    await eventually(() => hall.hub.hallView.window('w02')?.connected === false, 10_000, "w02's session ended at the hub")
    const m = await metrics()
    expect(m.value('counter_edge_window_online', { ...hall7, counter: 'w01' })).toBe(1)
    expect(m.value('counter_edge_window_connected', { ...hall7, counter: 'w02' })).toBe(0)
  })

  it('a wrong method is 405 with the methods the path takes; an unknown path stays 404', async () => {
    const post = await fetch(`${hall.control.url}/api/ratings`, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET')
    expect(((await post.json()) as { error: string }).error).toBe('/api/ratings 只接受 GET，不接受 POST（GET /api 列出接口）/ /api/ratings takes GET, not POST; GET /api lists the endpoints')
    const getFaults = await fetch(`${hall.control.url}/api/windows/w01/faults`)
    expect(getFaults.status).toBe(405)
    expect(getFaults.headers.get('allow')).toBe('POST')
    const press = await fetch(`${hall.control.url}/api/windows/w01/keys/satisfied/press`, { method: 'DELETE' })
    expect(press.status).toBe(405)
    const unknown = await fetch(`${hall.control.url}/api/nothing`, { method: 'POST' })
    expect(unknown.status).toBe(404)
  })

  it('a command for a counter the hall does not have is answered at central and counted in /metrics by its code', async () => {
    await send('w42', 'call', { ticket: 'A001' })
    expect((await metrics()).value('counter_edge_commands_refused_total', { ...hall7, code: 'unknown-counter' })).toBe(1)
  })
})

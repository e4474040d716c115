import { describe, it, expect, afterAll } from 'vitest'
import { eventExamples } from '../../edge/protocol/index.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startSimHall, type SimHall } from '../../sim/hall.ts'
import { Probe } from '../support/probe.ts'
import { untilOnlineAtHub } from '../support/hall-online.ts'

/**
 * What the simulated hall says central received, at its stop, is what reached the central stand-in while the
 * hall's hub still ran: the count stopped before the windows and the hub, so a rating the hub bridged while the
 * hall stopped reached central (and an integrator counting there) but not the "ratings received" line.
 */
describe('the simulated hall stopping', () => {
  let hall: SimHall | null = null
  let central: Probe | null = null

  afterAll(async () => {
    await central?.close().catch(() => {})
    await hall?.stop()
  })

  it('counts a rating that reaches central after the windows have stopped, while the hub still runs', async () => {
    hall = await startSimHall({ hall: 'h8', windows: 1, host: '127.0.0.1', hubPort: 0, centralPort: 0, controlPort: 0, dashboardPort: 0, speed: 20, board: 'sim-window', traffic: false, log: silentLogger() })
    await untilOnlineAtHub(hall)
    central = await Probe.connect(hall.centralUrl, ['hall/h8/#'])
    // The barrier: w01's clean-stop status at central, sent by its board as the hall stops the windows, bridged by the hub.
    // A rating reaching central then is one the hub delivered during the stop.
    const rating = { ...eventExamples.evaluated, id: 'w01-late-rating', ticket: 'A007' }
    let sent = false
    central.client.on('message', (topic, payload) => {
      if (sent || topic !== 'hall/h8/counter/w01/status' || payload.length === 0 || (JSON.parse(payload.toString()) as { online: boolean }).online) return
      sent = true
      central!.client.publish('hall/h8/counter/w01/event/evaluated', JSON.stringify(rating), { qos: 1 })
    })
    await hall.stop()
    expect(sent).toBe(true)
    const atCentral = central.messages.filter((m) => m.topic === 'hall/h8/counter/w01/event/evaluated')
    expect(atCentral).toHaveLength(1)
    expect(hall.ratings!.total).toBe(1)
    expect(hall.ratings!.ratings).toEqual([{ counter: 'w01', ticket: 'A007', score: 'satisfied', id: 'w01-late-rating' }])
  }, 60_000)
})

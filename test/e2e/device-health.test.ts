import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startEdge, type RunningEdge } from '../../edge/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { parseMessage } from '../../edge/protocol/index.ts'
import { Probe, command, type Received } from '../support/probe.ts'
import { startTestHub, user, type TestHub } from '../hub/support/hub-fixture.ts'

const HALL = 'hall-7'
const COUNTER = 'w15'
const base = `hall/${HALL}/counter/${COUNTER}`
const board = user('board', HALL, COUNTER)
const bridge = user('bridge', HALL)

interface WireFault {
  device: string
  code: string
}

/**
 * Every device of a window reports through the one device-health sink, and
 * central sees it: the retained `state` lists the fault, telemetry's
 * `devices` marks the device, healthy devices included. The faults are made
 * as a person would make them on the simulated board: the display cable
 * pulled before the board starts, an officer key held down, the relay's
 * driver dead.
 */
describe('device health from a running board, as central sees it', () => {
  let hub: TestHub
  let central: Probe
  let hardware: SimWindowHardware
  let edge: RunningEdge

  const faultsIn = (m: Received): WireFault[] => ((m.payload.faults ?? []) as WireFault[]).map(({ device, code }) => ({ device, code }))
  const hasFault = (m: Received, f: WireFault) => faultsIn(m).some((x) => x.device === f.device && x.code === f.code)
  const states = () => central.messages.filter((m) => m.topic === `${base}/state`)

  async function send(name: string, args: Record<string, unknown> = {}) {
    const payload = command(args)
    await central.publish(`${base}/cmd/${name}`, payload)
    const reply = await central.waitFor((m) => m.topic === `${base}/reply` && m.payload.cmd === payload.id, 10_000, `the reply to ${name}`)
    expect(reply.payload, `${name}: ${JSON.stringify(reply.payload)}`).toMatchObject({ ok: true })
    return reply
  }

  /** The state central holds now: the newest `state`, which must be the retained one a late reader gets. */
  async function retainedState(): Promise<Received> {
    const late = await Probe.connect(hub.url, [`${base}/state`], { username: bridge.username, password: bridge.password, clientId: `${bridge.username}-late-${Date.now()}` })
    try {
      const kept = await late.waitFor((m) => m.topic === `${base}/state`, 5000, 'the retained state')
      expect(kept.retain).toBe(true)
      expect(parseMessage(kept.topic, JSON.stringify(kept.payload)).ok).toBe(true)
      return kept
    } finally {
      await late.close()
    }
  }

  beforeAll(async () => {
    hub = await startTestHub([board, bridge], { hall: HALL })
    central = await Probe.connect(hub.url, [`${base}/#`], { username: bridge.username, password: bridge.password, clientId: bridge.username })
    const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
    // The shortest stuck time a profile may set, so a held key faults within the test.
    hardware = new SimWindowHardware({ ...profile, keyTiming: { ...profile.keyTiming, stuckMs: 1_000 } })
    // Before the board starts: the display's cable is out.
    hardware.displayFault('absent')
    edge = await startEdge(
      {
        hall: HALL,
        counter: COUNTER,
        hub: [{ host: '127.0.0.1', port: hub.hub.port }],
        username: board.username,
        password: board.password,
        settings: { telemetryPeriodS: 5 },
        video: { relay: 'hold' },
      },
      { profile: hardware.profile, gpio: hardware.gpio, bus: hardware.bus, log: silentLogger() },
    )
    await central.waitFor((m) => m.topic === `${base}/status` && m.payload.online === true, 10_000, 'the birth')
  })

  afterAll(async () => {
    await edge?.stop()
    await hardware?.stop()
    await central?.close()
    await hub?.stop()
  })

  it('a display absent at start, an officer key held, a relay whose writes fail: each in state and telemetry', async () => {
    // Raised while the runtime was still loading, before the window existed: kept, then delivered.
    await central.waitFor((m) => m.topic === `${base}/state` && hasFault(m, { device: 'display', code: 'absent' }), 10_000, 'state with the display absent')

    hardware.setKey('help', true)
    await central.waitFor((m) => m.topic === `${base}/state` && hasFault(m, { device: 'officer-help', code: 'stuck' }), 10_000, 'state with the help key stuck')

    hardware.outputFault('nvrRelay', 'write-fails')
    await send('officer', { action: 'sign-in', officer: 'zhao-min' })
    await send('call', { ticket: 'A101' })
    await send('start')
    await central.waitFor((m) => m.topic === `${base}/state` && hasFault(m, { device: 'nvr-relay', code: 'io' }), 10_000, 'state with the relay failing')
    expect(hardware.output('nvrRelay')).toBe(false)

    const expected = [
      { device: 'display', code: 'absent' },
      { device: 'officer-help', code: 'stuck' },
      { device: 'nvr-relay', code: 'io' },
    ]
    expect(faultsIn(await retainedState())).toEqual(expected)
    expect(edge.window.current.faults.map(({ device, code }) => ({ device, code }))).toEqual(expected)

    const sample = await central.waitFor(
      (m) => m.topic === `${base}/telemetry` && (m.payload.devices as Record<string, string>)['nvr-relay'] === 'fault',
      12_000,
      'telemetry with the relay in fault',
    )
    expect(parseMessage(sample.topic, JSON.stringify(sample.payload)).ok).toBe(true)
    // Every device of the board is listed, the healthy ones as ok.
    expect(sample.payload.devices).toEqual({
      display: 'absent',
      'key-satisfied': 'ok',
      'key-neutral': 'ok',
      'key-dissatisfied': 'ok',
      'officer-call-next': 'ok',
      'officer-recall': 'ok',
      'officer-no-show': 'ok',
      'officer-pause': 'ok',
      'officer-help': 'fault',
      'status-lamp': 'ok',
      'evaluator-lamp': 'ok',
      'photo-capture': 'ok',
      'fingerprint-capture': 'ok',
      'nvr-relay': 'fault',
    })
  }, 40_000)

  it('each device clears its own fault when it works again, and no fault went out twice', async () => {
    hardware.setKey('help', false)
    await central.waitFor((m) => m.topic === `${base}/event/fault-cleared` && m.payload.device === 'officer-help', 10_000, 'the help key cleared')

    // The relay works again from its next write: the next service closes it.
    hardware.outputFault('nvrRelay', 'none')
    await send('finish', { outcome: 'served' })
    await hardware.press('satisfied')
    await central.waitFor((m) => m.topic === `${base}/event/evaluated`, 10_000, 'the rating of A101')
    await send('call', { ticket: 'A102' })
    await send('start')
    await central.waitFor((m) => m.topic === `${base}/event/fault-cleared` && m.payload.device === 'nvr-relay', 10_000, 'the relay cleared')
    expect(hardware.output('nvrRelay')).toBe(true)

    hardware.displayFault('none')
    await central.waitFor((m) => m.topic === `${base}/event/fault-cleared` && m.payload.device === 'display', 15_000, 'the display cleared')
    expect(hardware.view().text).toBe('A102')

    // Barrier: once sync is answered, everything the board published before it has arrived.
    await send('sync')
    expect(faultsIn(await retainedState())).toEqual([])
    const events = (type: string) => central.messages.filter((m) => m.topic === `${base}/event/${type}`).map((m) => `${String(m.payload.device)}:${String(m.payload.code)}`)
    expect(events('fault')).toEqual(['display:absent', 'officer-help:stuck', 'nvr-relay:io'])
    expect(events('fault-cleared').sort()).toEqual(['display:absent', 'nvr-relay:io', 'officer-help:stuck'])
    expect(states().at(-1)?.payload.faults).toEqual([])
  }, 40_000)
})

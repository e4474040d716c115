/**
 * A window whose keys, evaluator lamp and NVR relay hang on a Modbus DI/DO
 * module (boards/sim-window-modbus.json): the real runtime, its real RTU
 * master polling a byte-level simulated module over a simulated RS-485 line,
 * under fake timers. A full service, the module unplugged and plugged back,
 * another full service.
 */
import { describe, expect, it } from 'vitest'
import { harnessPerTest, type EdgeHarness } from '../support/edge-harness.ts'

const perTest = harnessPerTest()
let h: EdgeHarness

async function fullService(ticket: string): Promise<number> {
  const from = h.publishes.length
  await h.reply(h.command('call', { ticket, service: 'passport' }))
  await h.advance(20_000)
  await h.reply(h.command('start', {}))
  await h.advance(120_000)
  await h.reply(h.command('finish', { outcome: 'served' }))
  // The evaluator lamp is coil 1 of the module.
  await h.advance(100)
  expect(h.hardware.output('evaluatorLamp')).toBe(true)
  expect(h.hardware.modbusModule(1).coil(1)).toBe(true)
  await h.advance(3_000)
  await h.press('satisfied')
  // Polled: the release is seen up to a poll and a transaction late, and the evaluator decides a
  // press only after the key has been still for its settle time.
  await h.advance(300)
  await h.sync()
  return from
}

const faultsSince = (from: number) =>
  h.publishes.slice(from).flatMap((p) =>
    p.parsed.kind === 'event' && (p.message.type === 'fault' || p.message.type === 'fault-cleared') ? [`${String(p.message.type)} ${String(p.message.device)}:${String(p.message.code)}`] : [],
  )

describe('a window with keys, lamp and relay on a Modbus module', () => {
  it('runs a full service, survives the module unplugged and plugged back, and runs another', async () => {
    h = await perTest.start({ profile: 'sim-window-modbus', video: { relay: 'hold' } })
    await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na', officerName: 'Li Na' }))
    const relay = h.hardware.relay!

    const first = await fullService('A023')
    const rated = h.of('event', 'evaluated', first)
    expect(rated).toHaveLength(1)
    expect(rated[0]!.message).toMatchObject({ ticket: 'A023', officer: 'li-na', score: 'satisfied', scale: 3 })
    // Polled every 40 ms: the press is seen within a poll and a transaction of the evaluator opening + 3 s.
    expect(rated[0]!.message.latencyMs).toBeGreaterThanOrEqual(3_100)
    expect(rated[0]!.message.latencyMs).toBeLessThan(3_100 + 250)
    expect(h.hardware.output('evaluatorLamp')).toBe(false)
    // The NVR saw the service as one closure of the relay on coil 0, at least its minimum hold.
    expect(relay.closures()).toHaveLength(1)
    expect(relay.closed).toBe(false)
    expect(faultsSince(0)).toEqual([])

    // The module's cable is pulled: it stops answering and its relays drop.
    const unplugged = h.publishes.length
    await h.hardware.modbusModule(1).unplug()
    await h.advance(2_000)
    await h.sync()
    const faults = faultsSince(unplugged)
    expect(faults[0]).toBe('fault modbus-1:unreachable')
    // Each key on it fails its next re-read (every second), as any unreadable line.
    expect(faults.slice(1).sort()).toEqual(['fault key-dissatisfied:io', 'fault key-neutral:io', 'fault key-satisfied:io', 'fault officer-call-next:io', 'fault officer-recall:io'])
    const down = h.of('state').at(-1)!.message.faults as Array<{ device: string; code: string; message: string }>
    expect(down.find((f) => f.device === 'modbus-1')).toMatchObject({ code: 'unreachable', message: expect.stringMatching(/slave 1 did not answer within 100 ms.*on sim/) })
    // A press while it is gone reaches nobody.
    const during = h.publishes.length
    await h.press('call-next')
    await h.sync()
    expect(h.of('event', undefined, during).filter((p) => p.message.type === 'officer-key')).toEqual([])

    // Plugged back: it answers again, cold; the faults clear.
    const replugged = h.publishes.length
    await h.hardware.modbusModule(1).plug()
    await h.advance(2_000)
    await h.sync()
    expect(faultsSince(replugged).sort()).toEqual([
      'fault-cleared key-dissatisfied:io',
      'fault-cleared key-neutral:io',
      'fault-cleared key-satisfied:io',
      'fault-cleared modbus-1:unreachable',
      'fault-cleared officer-call-next:io',
      'fault-cleared officer-recall:io',
    ])
    expect(h.of('state').at(-1)!.message.faults).toEqual([])

    const second = await fullService('A024')
    expect(h.of('event', 'evaluated', second).map((p) => [p.message.ticket, p.message.score])).toEqual([['A024', 'satisfied']])
    expect(relay.closures()).toHaveLength(2)
    for (const c of relay.closures()) expect((c.to ?? Infinity) - c.from).toBeGreaterThanOrEqual(1_000)
  })
})

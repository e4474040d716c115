import { describe, expect, it } from 'vitest'
import { DeviceHealthTracker, type DeviceFaultReport } from '../../edge/devices/device-health.ts'

/** What a window would be told, in order. */
function recorder() {
  const told: string[] = []
  return {
    told,
    target: { deviceHealth: (device: string, f: DeviceFaultReport | null) => told.push(f ? `${device}:${f.code}:${f.message}` : `${device}:ok`) },
  }
}

describe('DeviceHealthTracker', () => {
  it('keeps what devices report before a window is attached and delivers it once, in order, then passes reports straight through', () => {
    const health = new DeviceHealthTracker()
    health.register('display')
    health.register('key-satisfied')
    health.report('display', { code: 'absent', message: 'no answer at 0x70' })
    health.report('key-satisfied', { code: 'stuck', message: 'held 15 s' })
    health.report('key-satisfied', null)
    health.report('nvr-relay', { code: 'io', message: 'EIO' })
    const { told, target } = recorder()
    health.attach(target)
    expect(told).toEqual(['display:absent:no answer at 0x70', 'key-satisfied:stuck:held 15 s', 'key-satisfied:ok', 'nvr-relay:io:EIO'])
    health.report('nvr-relay', null)
    expect(told.slice(4)).toEqual(['nvr-relay:ok'])
    expect(told).toHaveLength(5)
    expect(() => health.attach(recorder().target)).toThrow(/already/)
  })

  it('lists every registered device, healthy ones as ok, absent above fault', () => {
    const health = new DeviceHealthTracker()
    for (const d of ['display', 'key-neutral', 'officer-help', 'status-lamp']) health.register(d)
    expect(health.snapshot()).toEqual({ display: 'ok', 'key-neutral': 'ok', 'officer-help': 'ok', 'status-lamp': 'ok' })
    health.report('display', { code: 'nack', message: 'no ACK' })
    health.report('display', { code: 'absent', message: 'gone' })
    health.report('key-neutral', { code: 'chatter', message: 'muted' })
    expect(health.snapshot()).toEqual({ display: 'absent', 'key-neutral': 'fault', 'officer-help': 'ok', 'status-lamp': 'ok' })
    expect(health.faults()).toEqual([
      { device: 'display', code: 'nack', message: 'no ACK' },
      { device: 'display', code: 'absent', message: 'gone' },
      { device: 'key-neutral', code: 'chatter', message: 'muted' },
    ])
  })

  it('null clears every fault a device had; repeats and a null for a healthy device are not passed on', () => {
    const health = new DeviceHealthTracker()
    const { told, target } = recorder()
    health.attach(target)
    health.register('key-neutral')
    health.report('key-neutral', null)
    health.report('key-neutral', { code: 'stuck', message: 'held' })
    health.report('key-neutral', { code: 'stuck', message: 'held longer' })
    health.report('key-neutral', { code: 'chatter', message: 'muted' })
    health.report('key-neutral', null)
    health.report('key-neutral', null)
    expect(told).toEqual(['key-neutral:stuck:held', 'key-neutral:chatter:muted', 'key-neutral:ok'])
    expect(health.snapshot()).toEqual({ 'key-neutral': 'ok' })
    expect(health.faults()).toEqual([])
  })

  it('refuses a device name the contract would not carry', () => {
    const health = new DeviceHealthTracker()
    expect(() => health.register('x'.repeat(33))).toThrow(RangeError)
    expect(() => health.report('', { code: 'io', message: 'x' })).toThrow(RangeError)
    health.register('x'.repeat(32))
    expect(Object.keys(health.snapshot())).toEqual(['x'.repeat(32)])
  })
})

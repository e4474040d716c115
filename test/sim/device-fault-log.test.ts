import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import { Writable } from 'node:stream'
import pino from 'pino'
import type { Logger } from '../../edge/shared/logger.ts'
import { DeviceFault } from '../../edge/hardware/device-fault.ts'
import { DeviceFaultLog } from '../../sim/device-fault-log.ts'

/** The lines a pino logger wrote, parsed. */
function capture(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    },
  })
  return { log: pino({ level: 'info' }, sink), lines }
}

describe('a faulty display in a simulated hall', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('writes its first line of each kind, then one line for the repeats of the minute, without stack traces', () => {
    const { log, lines } = capture()
    const faults = new DeviceFaultLog({ log: log.child({ module: 'device-faults' }), windowMs: 60_000 })
    const w01 = faults.forWindow('w01', log.child({ counter: 'w01' })).child({ module: 'devices' })
    const fault = new DeviceFault('display', 'nack', 'display (ht16k33@0x70, i2c-1): show failed (nack): EREMOTEIO (errno 121) (Remote I/O error)')
    for (let i = 0; i < 40; i++) {
      w01.error({ device: 'display', code: 'nack' }, 'show failed')
      w01.warn({ err: fault, device: 'display' }, 'could not restore the display after identify')
    }
    w01.info({ event: 'called' }, 'event')
    w01.warn({ reason: 'x' }, 'not a device line')
    w01.warn({ reason: 'x' }, 'not a device line')
    expect(lines.map((l) => l.msg)).toEqual(['show failed', 'could not restore the display after identify', 'event', 'not a device line', 'not a device line'])
    expect(lines[1]!.err).toBe(fault.message)
    expect(JSON.stringify(lines)).not.toMatch(/stack/)
    vi.advanceTimersByTime(60_000)
    const summaries = lines.slice(5)
    expect(summaries.map((l) => l.msg)).toEqual([
      '窗口 w01 的 display 在 60 秒内又出现 39 次同样的故障 / window w01: "show failed" (display) 39 more times in 60 s, not logged one by one',
      '窗口 w01 的 display 在 60 秒内又出现 39 次同样的故障 / window w01: "could not restore the display after identify" (display) 39 more times in 60 s, not logged one by one',
    ])
    // A new minute starts with a line again.
    w01.error({ device: 'display', code: 'nack' }, 'show failed')
    expect(lines.at(-1)!.msg).toBe('show failed')
    faults.stop()
    expect(lines.length).toBe(8)
  })
})

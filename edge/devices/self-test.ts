import type { SelfTest } from '../protocol/index.ts'
import type { WindowDevices } from './build-devices.ts'

/**
 * A technician's test of a window, run with the hall open: the display shows
 * its identify pattern (a lamp test the technician can see) and must answer on
 * its bus; every key must be idle and free of faults; every capture device must
 * answer its trigger (a loopback on the real lines).
 */
export async function runSelfTest(devices: WindowDevices, tests: SelfTest[]): Promise<{ ok: boolean; result: Record<string, unknown> }> {
  const result: Record<string, unknown> = {}
  let ok = true
  if (tests.includes('display')) {
    await devices.display.identify(2).catch(() => undefined)
    const fault = devices.display.status().fault
    result.display = fault ? `fault: ${fault.code}: ${fault.message}` : 'ok'
    if (fault) ok = false
  }
  if (tests.includes('keys')) {
    const keys: Record<string, string> = {}
    for (const f of devices.evaluator.faults()) keys[f.score] = `fault: ${f.code}`
    for (const [key, input] of Object.entries(devices.officerKeys)) {
      const faults = input.faults
      keys[`officer-${key}`] = faults.length ? `fault: ${faults.join(",")}` : input.isDown ? 'held down' : 'ok'
    }
    for (const score of devices.evaluator.scores) keys[score] ??= 'ok'
    if (Object.values(keys).some((v) => v !== 'ok')) ok = false
    result.keys = keys
  }
  if (tests.includes('triggers')) {
    const triggers: Record<string, string> = {}
    for (const [kind, device] of Object.entries(devices.captures)) {
      const o = await device.capture()
      triggers[kind] = o.ok ? `ok (${o.latencyMs} ms)` : `${o.reason}: ${o.message}`
      if (!o.ok) ok = false
    }
    result.triggers = Object.keys(triggers).length ? triggers : 'none fitted'
  }
  return { ok, result }
}

/**
 * A failed self-test in words for its reply's message: each test or device that is not ok, with
 * what it said (e.g. "triggers.photo: timeout: …"), and nothing about those that passed.
 */
export function selfTestFailures(result: Record<string, unknown>): string {
  const failed: string[] = []
  for (const [test, value] of Object.entries(result)) {
    if (value && typeof value === 'object') {
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) if (!passed(String(v))) failed.push(`${test}.${name}: ${String(v)}`)
    } else if (!passed(String(value))) failed.push(`${test}: ${String(value)}`)
  }
  const text = `self-test failed: ${failed.length ? failed.join('; ') : 'no test passed'}`
  return text.length > 480 ? `${text.slice(0, 479)}…` : text
}

function passed(v: string): boolean {
  return v === 'ok' || v.startsWith('ok (') || v === 'none fitted'
}

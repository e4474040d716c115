/**
 * The one path a device's health takes to the window: every device gets a
 * DeviceHealthSink when it is built, registers its name, and reports
 * `(device, fault)` when something goes wrong and `(device, null)` when it
 * works again (which clears every fault it had).
 *
 * The composition root builds the tracker before any device, so nothing a
 * device says while the journal and the state file load is lost: reports made
 * before a window is attached are kept in order and handed over when it is;
 * after that they go straight through. The tracker also keeps each device's
 * current health, which is what telemetry's `devices` shows, healthy devices
 * included.
 */
import type { Logger } from 'pino'
import { deviceNameSchema, type DeviceHealth } from '../protocol/index.ts'

export interface DeviceFaultReport {
  /** Short and stable, as on the wire: 'absent', 'nack', 'stuck', 'chatter', 'io', 'unreachable'. */
  code: string
  message: string
}

export interface DeviceHealthSink {
  /** Names a device that exists on this board, so it is listed (as 'ok') before it ever reports. */
  register(device: string): void
  /** A fault of `device`, or null: it works again, every fault it had is cleared. */
  report(device: string, fault: DeviceFaultReport | null): void
}

/** Where the reports go once there is somewhere to go: the window (Window.deviceHealth). */
export interface DeviceHealthTarget {
  deviceHealth(device: string, fault: DeviceFaultReport | null): void
}

export interface DeviceHealthTrackerOptions {
  log?: Logger
}

interface Report {
  device: string
  fault: DeviceFaultReport | null
}

export class DeviceHealthTracker implements DeviceHealthSink {
  /** Per device, its open faults by code (insertion order = the order they were raised). */
  private readonly devices = new Map<string, Map<string, string>>()
  private readonly backlog: Report[] = []
  private target: DeviceHealthTarget | undefined
  private readonly log: Logger | undefined

  constructor(opts: DeviceHealthTrackerOptions = {}) {
    this.log = opts.log
  }

  register(device: string): void {
    if (this.devices.has(device)) return
    // A name the contract would refuse would silently lose every fault of that device at the window.
    const parsed = deviceNameSchema.safeParse(device)
    if (!parsed.success) throw new RangeError(`device name "${device}" is not a valid device name on the wire (1..32 characters)`)
    this.devices.set(device, new Map())
  }

  report(device: string, fault: DeviceFaultReport | null): void {
    this.register(device)
    const faults = this.devices.get(device)!
    // Only changes travel on: the window would drop a repeat anyway, and a device
    // that reports every good write as null must not flood its queue.
    if (fault === null) {
      if (faults.size === 0) return
      faults.clear()
    } else {
      if (faults.has(fault.code)) return
      faults.set(fault.code, fault.message)
    }
    if (this.target) this.target.deviceHealth(device, fault)
    else this.backlog.push({ device, fault })
  }

  /**
   * Hands over everything reported so far, in order, then passes reports
   * straight through. One target per tracker: a second would see only part
   * of the story.
   */
  attach(target: DeviceHealthTarget): void {
    if (this.target) throw new Error('device health already has a window attached')
    this.target = target
    const kept = this.backlog.splice(0)
    if (kept.length) this.log?.info({ reports: kept.length }, 'device health reported before the window started, handed over')
    for (const r of kept) target.deviceHealth(r.device, r.fault)
  }

  /** Every registered device's health, healthy ones included: telemetry's `devices`. */
  snapshot(): Record<string, DeviceHealth> {
    const out: Record<string, DeviceHealth> = {}
    for (const [device, faults] of this.devices) out[device] = faults.size === 0 ? 'ok' : faults.has('absent') ? 'absent' : 'fault'
    return out
  }

  /** The open faults, device by device, in the order they were raised. */
  faults(): Array<{ device: string; code: string; message: string }> {
    return [...this.devices].flatMap(([device, faults]) => [...faults].map(([code, message]) => ({ device, code, message })))
  }
}

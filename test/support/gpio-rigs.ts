/**
 * The two Linux GPIO adapters, each on its kernel stand-in, behind one face,
 * so the same device tests run on both (test/hardware/gpio-adapters.test.ts):
 * onoff on a fake sysfs tree (fake-sysfs.ts) and the chardev adapter on a
 * model of the character device (fake-gpio-cdev.ts). Pins are named by chip
 * label and offset, as profiles name them; levels are ELECTRICAL.
 */
import type { Logger } from 'pino'
import { ChardevBackend } from '../../edge/hardware/chardev-backend.ts'
import type { GpioBackend } from '../../edge/hardware/gpio-port.ts'
import { OnoffBackend } from '../../edge/hardware/onoff-backend.ts'
import { FakeGpioCdev } from './fake-gpio-cdev.ts'
import { FakeSysfs } from './fake-sysfs.ts'

export interface RigChip {
  label: string
  device?: string
  /** Where sysfs numbers it (kernel 6.6+ dynamic bases). */
  base: number
  lines: number
}

export interface RigOptions {
  /** Lines a kernel driver holds, as [chip label, offset]. */
  claimed?: Array<[string, number]>
}

export interface GpioRig {
  readonly backend: GpioBackend
  /** Drives a pin from outside (a key, a pull resistor, a device's line). */
  drive(chip: string, offset: number, level: 0 | 1): void
  level(chip: string, offset: number): 0 | 1
  levels(chip: string, offset: number): Array<0 | 1>
  /** Whether the line is still held by the kernel for a program (exported / requested). */
  held(chip: string, offset: number): boolean
  /** A new backend on the same kernel, as the next run of the process gets. */
  another(): GpioBackend
  cleanup(): void
}

export interface RigKind {
  name: 'onoff' | 'chardev'
  make(chips: RigChip[], log: Logger, opts?: RigOptions): GpioRig
}

export const ONOFF_RIG: RigKind = {
  name: 'onoff',
  make(chips, log, opts = {}) {
    const base = (label: string) => chips.find((c) => c.label === label || c.device === label)!.base
    const claimed = (opts.claimed ?? []).map(([label, offset]) => base(label) + offset)
    const sysfs = new FakeSysfs(
      chips.map((c) => ({ label: c.label, base: c.base, ngpio: c.lines, ...(c.device !== undefined ? { device: c.device } : {}) })),
      { claimed },
    )
    const make = () => new OnoffBackend({ sysfsRoot: sysfs.root, Gpio: sysfs.Gpio, log, pollMs: 10, verifyMs: 200 })
    return {
      backend: make(),
      drive: (chip, offset, level) => sysfs.drive(base(chip) + offset, level),
      level: (chip, offset) => sysfs.level(base(chip) + offset),
      levels: (chip, offset) => sysfs.levels(base(chip) + offset),
      held: (chip, offset) => sysfs.isExported(base(chip) + offset),
      another: make,
      cleanup: () => sysfs.cleanup(),
    }
  },
}

export const CHARDEV_RIG: RigKind = {
  name: 'chardev',
  make(chips, log, opts = {}) {
    const index = (label: string) => chips.findIndex((c) => c.label === label || c.device === label)
    const claimed = new Map<number, Record<number, string>>()
    for (const [label, offset] of opts.claimed ?? []) claimed.set(index(label), { ...claimed.get(index(label)), [offset]: 'spi0 CS0' })
    const kernel = new FakeGpioCdev(
      chips.map((c, i) => ({
        label: c.label,
        lines: c.lines,
        ...(c.device !== undefined ? { device: c.device } : {}),
        ...(claimed.has(i) ? { claimed: claimed.get(i)! } : {}),
      })),
    )
    const make = () => new ChardevBackend({ sys: kernel, log })
    return {
      backend: make(),
      drive: (chip, offset, level) => kernel.drive(index(chip), offset, level),
      level: (chip, offset) => kernel.level(index(chip), offset),
      levels: (chip, offset) => kernel.levels(index(chip), offset),
      held: (chip, offset) => kernel.holder(index(chip), offset) !== undefined,
      another: make,
      cleanup: () => undefined,
    }
  },
}

export const GPIO_RIGS: readonly RigKind[] = [ONOFF_RIG, CHARDEV_RIG]

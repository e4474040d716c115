/**
 * The GPIO port: what drivers and devices see of a board's digital lines.
 *
 * Adapters (onoff over sysfs, the GPIO character device in chardev-backend.ts,
 * johnny-five through our IO plugin, and sim/gpio.ts) implement GpioBackend. Levels crossing this port
 * are LOGICAL: 1 means active (key pressed, lamp lit, relay energised). The
 * adapter applies `activeLow`, so no driver ever has to know how a key is
 * wired, and a profile that gets the wiring wrong shows up as inverted logic
 * in every backend alike.
 */

import type { DeviceHealthSink } from '../devices/device-health.ts'

export type Level = 0 | 1

export type Edge = 'none' | 'rising' | 'falling' | 'both'

/** Pull resistor wanted on an input. onoff cannot set it (config.txt or an overlay does); chardev requests it from the kernel. */
export type Bias = 'pull-up' | 'pull-down' | 'none'

export interface LineSpec {
  /** Role name used in logs and errors ('satisfied', 'status-lamp'). */
  name: string
  /**
   * gpiochip label ('pinctrl-bcm2711'), never a chip index or a sysfs number:
   * on kernel 6.6+ the sysfs base moves and Pi 5 renumbers its chips, so only
   * the label and the offset within it are stable.
   */
  chip?: string
  offset: number
  direction: 'in' | 'out'
  activeLow?: boolean
  /**
   * Logical level an output starts in; default 0 (inactive). An adapter must
   * honour it through activeLow: onoff's 'out' means RAW low, which would
   * energise an active-low relay board at startup.
   */
  initial?: Level
  /** Edges (of the logical level) that reach watch(); inputs only. */
  edge?: Edge
  bias?: Bias
  /**
   * Kernel debounce period of an input, in µs; 0 or unset: none. Only the
   * chardev adapter can ask for it (onoff refuses a line that wants it).
   */
  debounceUs?: number
}

/** Where an adapter knows it: when the kernel saw the edge (CLOCK_MONOTONIC, ns). */
export interface EdgeStamp {
  kernelNs: bigint
}

export interface GpioLine {
  readonly name: string
  read(): Promise<Level>
  /** Rejects for an input line (onoff gives EPERM). */
  write(v: Level): Promise<void>
  /**
   * Calls back with the logical level after each enabled edge, and the
   * kernel's timestamp of it where the adapter has one (chardev); returns unwatch.
   */
  watch(cb: (v: Level, stamp?: EdgeStamp) => void): () => void
  /** Releases the line; an output goes back to the board's idle state. */
  close(): Promise<void>
}

export interface GpioBackend {
  /**
   * For a backend with devices of its own (Modbus modules on RS-485): they
   * register with the window's device-health sink and report through it.
   */
  attachHealth?(health: DeviceHealthSink): void
  /** Rejects with an error naming the line when it is unknown, busy or misdeclared. */
  open(spec: LineSpec): Promise<GpioLine>
  /** Closes every line still open. */
  stop(): Promise<void>
}

export function isLevel(v: unknown): v is Level {
  return v === 0 || v === 1
}

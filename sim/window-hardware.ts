/**
 * The hardware of one simulated window, built from a board profile: a SimGpio
 * with every line the profile declares (wired as the profile says) and a
 * SimI2cBus with an HT16K33 model at the display address.
 *
 * The edge runtime gets `gpio` and `bus` as its backends; tests and the
 * control API use press() and view() to act and look as a person would.
 */
import { officerLineName, OUTPUT_LINE_NAMES, profileLines } from '../boards/profile-lines.ts'
import type { BoardProfile, OfficerKey, Score } from '../boards/profile-schema.ts'
import { OFFICER_KEYS } from '../boards/profile-schema.ts'
import { SimGpio, type PressOptions } from './gpio.ts'
import { Ht16k33Model, type DisplayView } from './ht16k33-model.ts'
import { SimI2cBus } from './i2c-bus.ts'

export type SimKeyName = Score | OfficerKey
export type SimOutputName = keyof typeof OUTPUT_LINE_NAMES

export interface SimWindowHardwareOptions {
  now?: () => number
  /** Power-on RAM contents of the display; default Math.random. */
  random?: () => number
}

export class SimWindowHardware {
  readonly profile: BoardProfile
  readonly gpio: SimGpio
  readonly bus: SimI2cBus
  readonly display: Ht16k33Model

  constructor(profile: BoardProfile, opts: SimWindowHardwareOptions = {}) {
    this.profile = profile
    this.gpio = new SimGpio({
      lines: profileLines(profile).map((l) => ({
        name: l.name,
        chip: l.ref.chip,
        offset: l.ref.offset,
        activeLow: l.ref.activeLow,
        direction: l.direction,
      })),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
    })
    this.bus = new SimI2cBus({ bus: profile.i2c.bus })
    this.display = new Ht16k33Model(opts.random !== undefined ? { random: opts.random } : {})
    this.bus.attach(profile.display.address, this.display)
  }

  /** Presses a key (evaluator score or officer key) once; resolves after the release. */
  press(key: SimKeyName, opts?: PressOptions): Promise<void> {
    return this.gpio.press(this.keyLine(key), opts)
  }

  /** Holds a key down or lets it go, for stuck-key scenarios. */
  setKey(key: SimKeyName, down: boolean): void {
    this.gpio.setActive(this.keyLine(key), down)
  }

  /** Whether an output (lamp, relay) is active as wired. */
  output(name: SimOutputName): boolean {
    return this.gpio.isActive(OUTPUT_LINE_NAMES[name])
  }

  view(): DisplayView {
    return this.display.view()
  }

  /** Unplugs the display ('absent'), makes its next transfer fail ('nack-once') or heals it. */
  displayFault(fault: 'absent' | 'nack-once' | 'none'): void {
    this.bus.injectFault(this.profile.display.address, fault)
  }

  async stop(): Promise<void> {
    await this.gpio.stop()
    await this.bus.close()
  }

  private keyLine(key: SimKeyName): string {
    const line = (OFFICER_KEYS as readonly string[]).includes(key) ? officerLineName(key as OfficerKey) : key
    if (!this.gpio.lineNames().includes(line)) {
      throw new Error(`board '${this.profile.id}' has no key '${key}'`)
    }
    return line
  }
}

/**
 * The hardware of one simulated window, built from a board profile: a SimGpio
 * with every line the profile declares (wired as the profile says), a
 * SimI2cBus, the display model the profile's driver needs (HT16K33 7- or
 * 14-segment at its I2C address, or a MAX7219 clocked by the display pins),
 * and a relay model on the NVR relay line when there is one. Lines the
 * profile puts on Modbus modules are terminals of simulated DI/DO modules
 * (sim/modbus-dio-model.ts) on a simulated RS-485 line, and the runtime
 * reaches them through its real Modbus master.
 *
 * The edge runtime gets `backend` (the board's pins and, when the profile
 * has Modbus lines, the Modbus master's) and `bus` as its backends; tests and the
 * control API use press() and view() to act and look as a person would, and
 * the fault methods to unplug things.
 */
import type { Logger } from 'pino'
import { DISPLAY_LINE_NAMES, officerLineName, OUTPUT_LINE_NAMES, profileLines } from '../boards/profile-lines.ts'
import { lineSpecFor } from '../edge/hardware/profile-line-spec.ts'
import type { BoardProfile, OfficerKey, Score } from '../boards/profile-schema.ts'
import { OFFICER_KEYS } from '../edge/protocol/index.ts'
import { electricalLineSpec } from '../edge/hardware/j5-gpio-backend.ts'
import { J5IoPlugin } from '../edge/hardware/j5-io-plugin.ts'
import type { DisplayView, SimDisplayModel } from './display-view.ts'
import { SimGpio, type PressOptions } from './gpio.ts'
import { Ht16k33Model } from './ht16k33-model.ts'
import { SimI2cBus } from './i2c-bus.ts'
import { Max7219Model } from './max7219-model.ts'
import { Max7219ChainModel } from './max7219-chain-model.ts'
import { Ssd1306Model } from './ssd1306-model.ts'
import { loadHexFontSync, type BitmapFont } from '../edge/hardware/bitmap-font.ts'
import type { PixelFrame } from '../edge/hardware/pixel-frame.ts'
import { NvrSampler, RelayModel } from './relay-model.ts'
import { modbusChip } from '../boards/line-ref.ts'
import type { GpioBackend } from '../edge/hardware/gpio-port.ts'
import { ModbusGpioBackend } from '../edge/hardware/modbus-gpio-backend.ts'
import { ModbusRtuMaster } from '../edge/hardware/modbus-master.ts'
import { RoutedGpioBackend } from '../edge/hardware/routed-gpio-backend.ts'
import type { SerialSettings } from '../edge/hardware/serial-line.ts'
import { ModbusDioModel } from './modbus-dio-model.ts'
import { SimRs485Line } from './serial-line.ts'

export type SimKeyName = Score | OfficerKey
export type SimOutputName = keyof typeof OUTPUT_LINE_NAMES
/** 'eio': every write fails with EIO (an I2C display's bus, or a MAX7219's GPIO lines) while the chip keeps what it had. */
export type SimDisplayFault = 'absent' | 'nack-once' | 'eio' | 'none'
/** 'unplugged': the module loses power and stops answering; 'bad-crc': its next 3 answers are garbled; 'none': plugged back, answering. */
export type SimModbusFault = 'unplugged' | 'bad-crc' | 'none'
/** 'write-fails': every write to the output fails (EIO), as a dead driver stage would; 'none': healthy again. */
export type SimOutputFault = 'write-fails' | 'none'

export interface SimWindowHardwareOptions {
  now?: () => number
  /** Power-on RAM contents of the display; default Math.random. */
  random?: () => number
  /** The font pixel screens are read back with (view().text); default the shipped one. Share one across windows. */
  font?: BitmapFont
}

export class SimWindowHardware {
  readonly profile: BoardProfile
  /** The board's own pins (not those on Modbus modules: see `modbus`). */
  readonly gpio: SimGpio
  /** What the runtime opens its lines on: `gpio`, routed with the Modbus master when the profile has Modbus lines. */
  readonly backend: GpioBackend
  /** The RS-485 line, when the profile has Modbus modules. */
  readonly rs485: SimRs485Line | undefined
  /** The simulated DI/DO modules by slave address. */
  readonly modbus: ReadonlyMap<number, ModbusDioModel>
  private readonly modbusBackend: ModbusGpioBackend | undefined
  /** The I2C bus (bus 1 when the profile has none: nothing is attached then). */
  readonly bus: SimI2cBus
  /** Whichever display model the profile's driver needs. */
  readonly display: SimDisplayModel
  /** The display model when it is an HT16K33 (7- or 14-segment backpack). */
  readonly ht16k33: Ht16k33Model | undefined
  /** The display model when it is a MAX7219. */
  readonly max7219: Max7219Model | undefined
  /** The display model when it is a chain of MAX7219 matrix modules. */
  readonly matrix: Max7219ChainModel | undefined
  /** The display model when it is an SSD1306 / SH1106 OLED. */
  readonly oled: Ssd1306Model | undefined
  /** The officer panel's OLED, when the profile has one. */
  readonly officerPanel: Ssd1306Model | undefined
  /** The NVR relay's contact, when the profile has one. */
  readonly relay: RelayModel | undefined
  private readonly displayAddress: number | undefined
  private unplugged = false

  constructor(profile: BoardProfile, opts: SimWindowHardwareOptions = {}) {
    this.profile = profile
    const lines = profileLines(profile)
    this.gpio = new SimGpio({
      lines: lines.filter((l) => modbusChip(l.ref.chip) === undefined).map((l) => ({
        name: l.name,
        chip: l.ref.chip,
        offset: l.ref.offset,
        activeLow: l.ref.activeLow,
        direction: l.direction,
      })),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
      backend: profile.gpio?.backend ?? 'sysfs',
    })
    const modules = new Map<number, ModbusDioModel>()
    this.modbus = modules
    const mb = profile.modbus
    if (mb !== undefined) {
      const settings: SerialSettings = { baudRate: mb.baudRate, parity: mb.parity, stopBits: mb.stopBits }
      this.rs485 = new SimRs485Line({ path: mb.port, settings })
      for (const m of mb.modules) {
        const named = lines.flatMap((l) => {
          const chip = modbusChip(l.ref.chip)
          return chip?.slave === m.slave ? [{ name: l.name, kind: chip.kind, offset: l.ref.offset, activeLow: l.ref.activeLow }] : []
        })
        const model = new ModbusDioModel({ slave: m.slave, inputs: m.inputs, coils: m.coils, settings, named, ...(opts.now !== undefined ? { now: opts.now } : {}) })
        modules.set(m.slave, model)
        this.rs485.attach(model)
      }
      const master = new ModbusRtuMaster({ line: this.rs485.master, settings, timeoutMs: mb.timeoutMs, retries: mb.retries, ...(opts.now !== undefined ? { now: opts.now } : {}) })
      this.modbusBackend = new ModbusGpioBackend({ master, modules: mb.modules, pollMs: mb.pollMs, verifyMs: mb.verifyMs, ...(opts.now !== undefined ? { now: opts.now } : {}) })
      this.backend = new RoutedGpioBackend(this.gpio, this.modbusBackend)
    } else {
      this.backend = this.gpio
    }
    this.bus = new SimI2cBus({ bus: profile.i2c?.bus ?? 1 })
    const random = opts.random !== undefined ? { random: opts.random } : {}
    const display = profile.display
    const font = (): BitmapFont => (opts.font ??= loadHexFontSync())
    if (display.driver === 'max7219-matrix') {
      this.matrix = new Max7219ChainModel({
        gpio: this.gpio,
        pins: DISPLAY_LINE_NAMES,
        modulesWide: display.modulesWide,
        modulesHigh: display.modulesHigh,
        font: font(),
        ...random,
      })
      this.display = this.matrix
    } else if (display.driver === 'ssd1306' || display.driver === 'sh1106') {
      this.oled = new Ssd1306Model({ controller: display.driver, role: 'window', font: font(), ...random })
      this.displayAddress = display.address
      this.bus.attach(display.address, this.oled)
      this.display = this.oled
    } else if (display.driver === 'max7219') {
      this.max7219 = new Max7219Model({
        gpio: this.gpio,
        pins: DISPLAY_LINE_NAMES,
        digits: display.digits,
        ...random,
        ...(opts.now !== undefined ? { now: opts.now } : {}),
      })
      this.display = this.max7219
    } else {
      this.ht16k33 = new Ht16k33Model({ backpack: display.driver === 'ht16k33-alpha' ? 'alpha14' : 'seg7', ...random })
      this.displayAddress = display.address
      this.bus.attach(display.address, this.ht16k33)
      this.display = this.ht16k33
    }
    if (profile.officerPanel !== undefined) {
      this.officerPanel = new Ssd1306Model({ controller: profile.officerPanel.driver, role: 'officer', font: font(), ...random })
      this.bus.attach(profile.officerPanel.address, this.officerPanel)
    }
    if (profile.outputs.nvrRelay !== undefined) {
      this.relay = new RelayModel({ gpio: this.pinsOf(OUTPUT_LINE_NAMES.nvrRelay), line: OUTPUT_LINE_NAMES.nvrRelay })
    }
  }

  /** Presses a key (evaluator score or officer key) once; resolves after the release. */
  press(key: SimKeyName, opts?: PressOptions): Promise<void> {
    const line = this.keyLine(key)
    return this.pinsOf(line).press(line, opts)
  }

  /** Holds a key down or lets it go, for stuck-key scenarios. */
  setKey(key: SimKeyName, down: boolean): void {
    const line = this.keyLine(key)
    this.pinsOf(line).setActive(line, down)
  }

  /** Whether an output (lamp, relay) is active as wired. */
  output(name: SimOutputName): boolean {
    const line = OUTPUT_LINE_NAMES[name]
    return this.pinsOf(line).isActive(line)
  }

  /** Breaks or heals an output (lamp, relay): the runtime's writes to its line fail while broken. */
  outputFault(name: SimOutputName, fault: SimOutputFault): void {
    const line = OUTPUT_LINE_NAMES[name]
    if (!this.hasLine(line)) throw new Error(`board '${this.profile.id}' has no output '${name}'`)
    // On a Modbus module the coil's driver fails: the module answers the write with exception 04.
    if (fault === 'write-fails') this.pinsOf(line).failWrites(line)
    else this.pinsOf(line).failWrites(line, null)
  }

  view(): DisplayView {
    return this.display.view()
  }

  /** A pixel display's picture as decoded from its chips, or undefined for a segment display. */
  screenPixels(): PixelFrame | undefined {
    return (this.matrix ?? this.oled)?.pixels()
  }

  /** The officer panel: what it reads and its picture. */
  panel(): { view: DisplayView; pixels: PixelFrame } | undefined {
    return this.officerPanel ? { view: this.officerPanel.view(), pixels: this.officerPanel.pixels() } : undefined
  }

  /**
   * 'absent': the display stops answering (an I2C device NACKs everything; a
   * MAX7219 loses its clock, so it is unplugged); 'nack-once': the next
   * transfer fails (for a MAX7219, the next frame is lost); 'eio': every
   * write fails with EIO, the chip keeping what it had; 'none': healthy
   * again (a MAX7219 that was unplugged comes back as a cold chip).
   */
  displayFault(fault: SimDisplayFault): void {
    const clocked = this.max7219 ?? this.matrix
    if (clocked !== undefined) {
      for (const line of Object.values(DISPLAY_LINE_NAMES)) this.gpio.failWrites(line, fault === 'eio' ? undefined : null)
      if (fault === 'absent') this.unplugDisplay()
      else if (fault === 'nack-once') clocked.glitchNextFrame()
      else if (fault === 'none' && this.unplugged) this.replugDisplay()
      return
    }
    this.bus.injectFault(this.displayAddress!, fault)
  }

  /** Pulls the display's cable: it loses power and its state. */
  unplugDisplay(): void {
    if (this.unplugged) return
    this.unplugged = true
    const clocked = this.max7219 ?? this.matrix
    if (clocked !== undefined) clocked.unplug()
    else this.bus.detach(this.displayAddress!)
  }

  /** Plugs it back in: it powers up cold (HT16K33: oscillator off, random RAM; MAX7219: shutdown, random digits). */
  replugDisplay(): void {
    if (!this.unplugged) return
    this.unplugged = false
    const clocked = this.max7219 ?? this.matrix
    if (clocked !== undefined) {
      clocked.replug()
      return
    }
    const model = this.ht16k33 ?? this.oled!
    model.powerCycle()
    this.bus.attach(this.displayAddress!, model)
  }

  /** The officer panel stops answering ('absent'), misses one transfer ('nack-once'), or is healthy again ('none': it powers up cold). */
  panelFault(fault: SimDisplayFault): void {
    const panel = this.profile.officerPanel
    if (panel === undefined || this.officerPanel === undefined) throw new Error(`board '${this.profile.id}' has no officer panel`)
    if (fault === 'none') this.officerPanel.powerCycle()
    this.bus.injectFault(panel.address, fault)
  }

  /** /dev/i2c-N disappears (I2C not enabled) or comes back. */
  setI2cBusMissing(missing: boolean): void {
    this.bus.setBusMissing(missing)
  }

  /**
   * A johnny-five IO object over this window's models, its pins numbered by
   * line offset and at electrical levels, as a Firmata board presents them:
   * `new five.Board({ io, repl: false })`, then `await io.connect()` (or use
   * edge/hardware/j5-board.ts openJ5Board, which does both). Only one can
   * hold the lines at a time.
   */
  johnnyFiveIo(log?: Logger): J5IoPlugin {
    return new J5IoPlugin({
      gpio: this.gpio,
      bus: this.bus,
      lines: profileLines(this.profile).map((l) => electricalLineSpec(lineSpecFor(l))),
      name: `sim ${this.profile.id}`,
      ...(log !== undefined ? { log } : {}),
    })
  }

  /** An NVR sampling the relay contact every `periodMs`; started, stop() it when done. */
  nvr(periodMs: number, phaseMs?: number): NvrSampler {
    if (this.relay === undefined) throw new Error(`board '${this.profile.id}' has no NVR relay`)
    const sampler = new NvrSampler({ relay: this.relay, periodMs, ...(phaseMs !== undefined ? { phaseMs } : {}) })
    sampler.start()
    return sampler
  }

  /** A simulated Modbus module, by slave address. */
  modbusModule(slave: number): ModbusDioModel {
    const m = this.modbus.get(slave)
    if (m === undefined) throw new Error(`board '${this.profile.id}' has no Modbus module ${slave}`)
    return m
  }

  /** Unplugs, garbles or heals a Modbus module (the control API's faults on device 'modbus-<slave>'). */
  async modbusFault(slave: number, fault: SimModbusFault): Promise<void> {
    const m = this.modbusModule(slave)
    if (fault === 'unplugged') await m.unplug()
    // More than one try of the master's: the answer fails as a whole.
    else if (fault === 'bad-crc') m.corruptCrc(3)
    else await m.plug()
  }

  /** Whether the profile wires a line of this name, on the board or on a Modbus module. */
  hasLine(name: string): boolean {
    return this.gpio.lineNames().includes(name) || [...this.modbus.values()].some((m) => m.terminals.lineNames().includes(name))
  }

  /** The pins a line is on: the board's, or the terminals of the Modbus module that holds it. */
  pinsOf(name: string): SimGpio {
    if (this.gpio.lineNames().includes(name)) return this.gpio
    for (const m of this.modbus.values()) if (m.terminals.lineNames().includes(name)) return m.terminals
    throw new Error(`board '${this.profile.id}' has no line '${name}'`)
  }

  async stop(): Promise<void> {
    await this.modbusBackend?.stop()
    for (const m of this.modbus.values()) await m.stop()
    await this.gpio.stop()
    await this.bus.close()
  }

  private keyLine(key: SimKeyName): string {
    const line = (OFFICER_KEYS as readonly string[]).includes(key) ? officerLineName(key as OfficerKey) : key
    if (!this.hasLine(line)) {
      throw new Error(`board '${this.profile.id}' has no key '${key}'`)
    }
    return line
  }
}

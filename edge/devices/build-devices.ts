/**
 * Builds a window's devices from its board profile over whichever backends
 * the adapter provides (real or simulated). It opens every line it uses and
 * its stop() closes them; the backends themselves belong to the caller.
 *
 * Every device gets the device-health sink and registers its name as it is
 * built (key-<score>, officer-<key>, status-lamp, evaluator-lamp,
 * photo-capture, fingerprint-capture, nvr-relay, display); it reports its own
 * faults there. A display that does not answer at start is such a fault, not
 * a reason to stay offline: the board still comes up, the sink keeps the
 * report until the window is there, and the display retries on its own.
 */
import type { Logger } from 'pino'
import { DISPLAY_LINE_NAMES, OUTPUT_LINE_NAMES, profileLines, type ProfileLine } from '../../boards/profile-lines.ts'
import { lineSpecFor } from '../hardware/profile-line-spec.ts'
import type { BoardProfile, Score } from '../../boards/profile-schema.ts'
import { DeviceFault } from '../hardware/device-fault.ts'
import type { DeviceHealthSink } from './device-health.ts'
import type { GpioBackend, GpioLine } from '../hardware/gpio-port.ts'
import { Ht16k33Seg7 } from '../hardware/ht16k33.ts'
import { Ht16k33Alpha } from '../hardware/ht16k33-alpha.ts'
import type { I2cBus } from '../hardware/i2c-port.ts'
import { openJ5Board, type J5Context } from '../hardware/j5-board.ts'
import { electricalLineSpec, J5GpioBackend } from '../hardware/j5-gpio-backend.ts'
import { J5IoPlugin } from '../hardware/j5-io-plugin.ts'
import { J5Max7219Transport } from '../hardware/j5-max7219.ts'
import { KeyInput } from '../hardware/keys.ts'
import { Lamp } from '../hardware/output.ts'
import { Relay } from '../hardware/relay.ts'
import { CaptureTrigger } from '../hardware/capture-trigger.ts'
import { officerLineName } from '../../boards/profile-lines.ts'
import type { CaptureKind, OfficerKey } from '../protocol/index.ts'
import { GpioMax7219Transport, Max7219Display, type Max7219Transport } from '../hardware/max7219.ts'
import type { TextDisplay } from '../hardware/text-display.ts'
import { CallDisplay } from './call-display.ts'
import { loadHexFont } from '../hardware/bitmap-font.ts'
import { GpioMax7219ChainTransport, Max7219Matrix } from '../hardware/max7219-matrix.ts'
import type { PixelScreen } from '../hardware/pixel-screen.ts'
import { Ssd1306Display } from '../hardware/ssd1306.ts'
import { WindowScreen } from './window-screen.ts'
import { EvaluatorKeys } from './evaluator.ts'

export interface BuildWindowDevicesOptions {
  profile: BoardProfile
  gpio: GpioBackend
  bus: I2cBus
  now: () => number
  log: Logger
  /** Where every device reports its faults and recoveries, including those that clear on their own in the background. */
  health: DeviceHealthSink
}

export interface WindowDevices {
  /** A segment display's number, or a pixel screen's whole picture (window-screen.ts). */
  display: CallDisplay | WindowScreen
  /** The officer's OLED panel, when the profile has one. */
  officerPanel?: WindowScreen
  evaluator: EvaluatorKeys
  lamps: { status?: Lamp; evaluator?: Lamp }
  /** Camera and fingerprint triggers the profile wires. */
  captures: Partial<Record<CaptureKind, CaptureTrigger>>
  /** The officer's keys; a press only ever asks for something, it can never rate. */
  officerKeys: Partial<Record<OfficerKey, KeyInput>>
  /** The NVR alarm contact, with the hold time its sampler needs. */
  nvrRelay?: Relay
  /**
   * The backend these devices' lines are open on: the one passed in, or, for a
   * johnny-five profile given plain ports, johnny-five's pins over them. Other
   * devices of the window (capture triggers, the NVR relay) open their lines
   * here too; the plain ports' lines are held by johnny-five then.
   */
  gpio: GpioBackend
  stop(): Promise<void>
}

export async function buildWindowDevices(opts: BuildWindowDevicesOptions): Promise<WindowDevices> {
  const { profile, bus, now, log, health } = opts
  // Modbus modules are devices of their own: registered before any line on them opens.
  opts.gpio.attachHealth?.(health)
  const opened = new Map<string, GpioLine>()
  // The johnny-five adapter runs the devices on johnny-five's pins. Handed a
  // J5GpioBackend (a Firmata board, see open-board.ts) it uses that board;
  // handed plain ports (the simulator), it puts johnny-five on them through
  // the IO plugin, exactly as it would sit on Firmata, and owns that board.
  let ownJ5: J5Context | undefined
  let gpio = opts.gpio
  if (profile.adapter === 'johnny-five' && !(gpio instanceof J5GpioBackend)) {
    const plugin = new J5IoPlugin({
      gpio,
      bus,
      lines: profileLines(profile).map((l) => electricalLineSpec(lineSpecFor(l))),
      log: log.child({ device: 'johnny-five' }),
    })
    ownJ5 = await openJ5Board({ io: plugin, log })
    gpio = new J5GpioBackend({ j5: ownJ5, log })
  }
  const j5 = gpio instanceof J5GpioBackend ? gpio.j5 : undefined
  const closeAll = async () => {
    for (const line of [...opened.values()].reverse()) {
      await line.close().catch((err: unknown) => log.warn({ line: line.name, err }, 'could not close line'))
    }
    opened.clear()
    await ownJ5?.close().catch((err: unknown) => log.warn({ err }, 'could not close the johnny-five board'))
    ownJ5 = undefined
  }

  const lines = profileLines(profile)
  const open = async (line: ProfileLine): Promise<GpioLine> => {
    const handle = await gpio.open(lineSpecFor(line))
    opened.set(line.name, handle)
    return handle
  }
  const byName = (name: string) => lines.find((l) => l.name === name)
  let evaluator: EvaluatorKeys | undefined

  try {
    const keys: Partial<Record<Score, KeyInput>> = {}
    for (const [score] of Object.entries(profile.keys) as Array<[Score, unknown]>) {
      const line = byName(score)
      if (line === undefined) continue
      keys[score] = new KeyInput({
        key: score,
        device: `key-${score}`,
        health,
        line: await open(line),
        now,
        lockoutMs: profile.keyTiming.lockoutMs,
        stuckMs: profile.keyTiming.stuckMs,
        chatterEdges: profile.keyTiming.chatterEdges,
        log: log.child({ device: `key-${score}` }),
      })
    }

    const lamps: WindowDevices['lamps'] = {}
    for (const [role, key] of [
      ['statusLamp', 'status'],
      ['evaluatorLamp', 'evaluator'],
    ] as const) {
      const line = byName(OUTPUT_LINE_NAMES[role])
      if (line !== undefined) lamps[key] = new Lamp({ line: await open(line), device: line.name, health, log: log.child({ device: line.name }) })
    }

    const captures: WindowDevices['captures'] = {}
    for (const kind of ['photo', 'fingerprint'] as const) {
      const spec = profile.capture?.[kind]
      const trigger = byName(`${kind}-trigger`)
      const done = byName(`${kind}-done`)
      if (!spec || !trigger || !done) continue
      captures[kind] = new CaptureTrigger({
        name: kind,
        device: `${kind}-capture`,
        health,
        trigger: await open(trigger),
        done: await open(done),
        pulseMs: spec.pulseMs,
        timeoutMs: spec.timeoutMs,
        timeoutsToFault: spec.timeoutsToFault,
        now,
        log: log.child({ device: `${kind}-capture` }),
      })
    }

    const officerKeys: WindowDevices['officerKeys'] = {}
    for (const key of Object.keys(profile.officerKeys ?? {}) as OfficerKey[]) {
      const line = byName(officerLineName(key))
      if (!line) continue
      officerKeys[key] = new KeyInput({
        key,
        device: `officer-${key}`,
        health,
        line: await open(line),
        now,
        lockoutMs: profile.keyTiming.lockoutMs,
        stuckMs: profile.keyTiming.stuckMs,
        chatterEdges: profile.keyTiming.chatterEdges,
        log: log.child({ device: `officer-${key}` }),
      })
    }

    let nvrRelay: WindowDevices['nvrRelay']
    const relayLine = byName(OUTPUT_LINE_NAMES.nvrRelay)
    if (relayLine && profile.outputs.nvrRelay) {
      nvrRelay = new Relay({ line: await open(relayLine), device: relayLine.name, health, minHoldMs: profile.outputs.nvrRelay.minHoldMs })
    }

    const driver = await buildDisplayDriver(profile, bus, j5, (name) => open(byName(name)!), log.child({ device: 'display' }))
    const font = isPixelScreen(driver) || profile.officerPanel !== undefined ? await loadHexFont() : undefined
    const display =
      isPixelScreen(driver)
        ? new WindowScreen({ driver, font: font!, role: 'window', ticketChars: profile.display.digits, device: 'display', health, log: log.child({ device: 'window-screen' }) })
        : new CallDisplay({ driver, device: 'display', health, log: log.child({ device: 'call-display' }) })
    const panel = profile.officerPanel
    const officerPanel =
      panel === undefined
        ? undefined
        : new WindowScreen({
            driver: new Ssd1306Display({
              bus,
              address: panel.address,
              controller: panel.driver,
              refreshMs: panel.refreshMs,
              name: `officer panel (${panel.driver}@0x${panel.address.toString(16)}, i2c-${profile.i2c?.bus ?? '?'})`,
              log: log.child({ device: 'officer-panel' }),
            }),
            font: font!,
            role: 'officer',
            ticketChars: profile.display.digits,
            device: 'officer-panel',
            health,
            log: log.child({ device: 'officer-panel' }),
          })
    evaluator = new EvaluatorKeys({
      keys,
      ...(lamps.evaluator !== undefined ? { lamp: lamps.evaluator } : {}),
      now,
      ambiguityMs: profile.keyTiming.lockoutMs,
      log: log.child({ device: 'evaluator' }),
    })
    await evaluator.start()
    for (const k of Object.values(officerKeys)) await k.start()
    try {
      await display.start()
      if (profile.display.brightness !== 15) await driver.setBrightness(profile.display.brightness)
    } catch (err) {
      // The display has reported it (start) or will on its next call (brightness); the board comes up regardless.
      if (!(err instanceof DeviceFault)) throw err
      log.warn({ code: err.code }, 'the display is not ready at start; it retries on its own')
    }
    if (officerPanel !== undefined) {
      try {
        await officerPanel.start()
      } catch (err) {
        if (!(err instanceof DeviceFault)) throw err
        log.warn({ code: err.code }, 'the officer panel is not ready at start; it retries on its own')
      }
    }

    let stopped = false
    const started = evaluator
    return {
      display,
      evaluator: started,
      lamps,
      captures,
      officerKeys,
      ...(nvrRelay ? { nvrRelay } : {}),
      ...(officerPanel ? { officerPanel } : {}),
      gpio,
      async stop() {
        if (stopped) return
        stopped = true
        await started.stop()
        for (const k of Object.values(officerKeys)) k.stop()
        for (const c of Object.values(captures)) await c.stop()
        await nvrRelay?.stop().catch(() => undefined)
        await display.stop()
        await officerPanel?.stop()
        for (const lamp of Object.values(lamps)) {
          await lamp.stop().catch((err: unknown) => log.warn({ err }, 'lamp did not go off on stop'))
        }
        await closeAll()
      },
    }
  } catch (err) {
    await evaluator?.stop()
    await closeAll()
    throw err
  }
}

/** The driver the profile's display names, on the bus or the lines it is wired to. */
async function buildDisplayDriver(
  profile: BoardProfile,
  bus: I2cBus,
  j5: J5Context | undefined,
  openLine: (name: string) => Promise<GpioLine>,
  log: Logger,
): Promise<TextDisplay | PixelScreen> {
  const display = profile.display
  switch (display.driver) {
    case 'ht16k33':
    case 'ht16k33-alpha': {
      const Driver = display.driver === 'ht16k33' ? Ht16k33Seg7 : Ht16k33Alpha
      const name = `display (${display.driver}@0x${display.address.toString(16)}, i2c-${profile.i2c?.bus ?? '?'})`
      return new Driver({ bus, address: display.address, name, log, refreshMs: display.refreshMs })
    }
    case 'max7219': {
      const { pins } = display
      // Through johnny-five its LedControl clocks the frames; otherwise we bit-bang the three lines.
      const transport: Max7219Transport =
        j5 !== undefined
          ? await J5Max7219Transport.create(j5, { data: pins.din.offset, clock: pins.clk.offset, cs: pins.cs.offset }, display.digits)
          : new GpioMax7219Transport({
              din: await openLine(DISPLAY_LINE_NAMES.din),
              clk: await openLine(DISPLAY_LINE_NAMES.clk),
              cs: await openLine(DISPLAY_LINE_NAMES.cs),
            })
      return new Max7219Display({
        transport,
        digits: display.digits,
        refreshMs: display.refreshMs,
        name: `display (max7219, ${display.digits} digits, ${transport.description})`,
        log,
      })
    }
    case 'max7219-matrix': {
      const transport = new GpioMax7219ChainTransport({
        din: await openLine(DISPLAY_LINE_NAMES.din),
        clk: await openLine(DISPLAY_LINE_NAMES.clk),
        cs: await openLine(DISPLAY_LINE_NAMES.cs),
      })
      return new Max7219Matrix({
        transport,
        modulesWide: display.modulesWide,
        modulesHigh: display.modulesHigh,
        refreshMs: display.refreshMs,
        name: `display (max7219 matrix ${display.modulesWide * 8}×${display.modulesHigh * 8}, ${transport.description})`,
        log,
      })
    }
    case 'ssd1306':
    case 'sh1106':
      return new Ssd1306Display({
        bus,
        address: display.address,
        controller: display.driver,
        refreshMs: display.refreshMs,
        name: `display (${display.driver}@0x${display.address.toString(16)}, i2c-${profile.i2c?.bus ?? '?'})`,
        log,
      })
  }
}

function isPixelScreen(driver: TextDisplay | PixelScreen): driver is PixelScreen {
  return 'draw' in driver
}

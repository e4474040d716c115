/**
 * Builds a window's devices from its board profile over whichever backends
 * the adapter provides (real or simulated). It opens every line it uses and
 * its stop() closes them; the backends themselves belong to the caller.
 *
 * A display that does not answer at start is a fault to report, not a reason
 * to stay offline: the board still comes up, says what is wrong, and the
 * display retries on its own.
 */
import type { Logger } from 'pino'
import { DISPLAY_LINE_NAMES, lineSpecFor, OUTPUT_LINE_NAMES, profileLines, type ProfileLine } from '../../boards/profile-lines.ts'
import type { BoardProfile, Score } from '../../boards/profile-schema.ts'
import { DeviceFault } from '../hardware/device-fault.ts'
import type { GpioBackend, GpioLine } from '../hardware/gpio-port.ts'
import { Ht16k33Seg7 } from '../hardware/ht16k33.ts'
import { Ht16k33Alpha } from '../hardware/ht16k33-alpha.ts'
import type { I2cBus } from '../hardware/i2c-port.ts'
import { KeyInput } from '../hardware/keys.ts'
import { GpioMax7219Transport, Max7219Display } from '../hardware/max7219.ts'
import { Lamp } from '../hardware/output.ts'
import type { TextDisplay } from '../hardware/text-display.ts'
import { CallDisplay } from './call-display.ts'
import { EvaluatorKeys } from './evaluator.ts'

export interface BuildWindowDevicesOptions {
  profile: BoardProfile
  gpio: GpioBackend
  bus: I2cBus
  now: () => number
  log: Logger
  /**
   * Told when a device faults (with the code) and when it works again (null),
   * including faults that clear on their own in the background.
   */
  onFault?: (device: string, fault: { code: string; message: string } | null) => void
}

export interface WindowDevices {
  display: CallDisplay
  evaluator: EvaluatorKeys
  lamps: { status?: Lamp; evaluator?: Lamp }
  /** Faults found while starting (the display did not answer); the devices run anyway. */
  startFaults: DeviceFault[]
  stop(): Promise<void>
}

export async function buildWindowDevices(opts: BuildWindowDevicesOptions): Promise<WindowDevices> {
  const { profile, gpio, bus, now, log } = opts
  const opened = new Map<string, GpioLine>()
  const closeAll = async () => {
    for (const line of [...opened.values()].reverse()) {
      await line.close().catch((err: unknown) => log.warn({ line: line.name, err }, 'could not close line'))
    }
    opened.clear()
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
      if (line !== undefined) lamps[key] = new Lamp({ line: await open(line), log: log.child({ device: line.name }) })
    }

    const driver = await buildDisplayDriver(profile, bus, (name) => open(byName(name)!), log.child({ device: 'display' }))
    const report = opts.onFault
    const display = new CallDisplay({
      driver,
      log: log.child({ device: 'call-display' }),
      ...(report ? { onFault: (f: DeviceFault | null) => report('display', f ? { code: f.code, message: f.message } : null) } : {}),
    })
    evaluator = new EvaluatorKeys({
      keys,
      ...(lamps.evaluator !== undefined ? { lamp: lamps.evaluator } : {}),
      now,
      ambiguityMs: profile.keyTiming.lockoutMs,
      log: log.child({ device: 'evaluator' }),
    })

    if (report) {
      evaluator.onFault((score, code) => report(`key-${score}`, { code, message: `evaluator key "${score}" is ${code}` }))
      evaluator.onFaultCleared((score) => report(`key-${score}`, null))
    }
    await evaluator.start()
    const startFaults: DeviceFault[] = []
    try {
      await display.start()
      if (profile.display.brightness !== 15) await driver.setBrightness(profile.display.brightness)
    } catch (err) {
      if (!(err instanceof DeviceFault)) throw err
      startFaults.push(err)
    }

    let stopped = false
    const started = evaluator
    return {
      display,
      evaluator: started,
      lamps,
      startFaults,
      async stop() {
        if (stopped) return
        stopped = true
        await started.stop()
        await display.stop()
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
  openLine: (name: string) => Promise<GpioLine>,
  log: Logger,
): Promise<TextDisplay> {
  const display = profile.display
  switch (display.driver) {
    case 'ht16k33':
    case 'ht16k33-alpha': {
      const Driver = display.driver === 'ht16k33' ? Ht16k33Seg7 : Ht16k33Alpha
      const name = `display (${display.driver}@0x${display.address.toString(16)}, i2c-${profile.i2c?.bus ?? '?'})`
      return new Driver({ bus, address: display.address, name, log })
    }
    case 'max7219': {
      const transport = new GpioMax7219Transport({
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
  }
}

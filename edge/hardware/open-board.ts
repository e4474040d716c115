/**
 * The real backends a board profile's adapter names, for the `edge` command
 * on a board (the simulator builds its own, sim/window-hardware.ts):
 *
 * - 'onoff': the board's GPIO found by chip label, through sysfs (onoff) or,
 *   with `gpio.backend` 'chardev', the character device (chardev-backend.ts);
 *   and i2c-bus on the profile's bus;
 * - 'johnny-five': a Firmata board on the profile's serial port, its pins as
 *   the GPIO backend (buildWindowDevices then drives the MAX7219 through
 *   johnny-five's LedControl on the same board).
 *
 * Lines on Modbus modules (profile.modbus) are routed to a Modbus RTU master
 * on the profile's RS-485 port, whatever the adapter.
 *
 * Nothing touches the hardware until the devices open their lines (and
 * i2c-bus and the RS-485 port open lazily), except johnny-five, which has to
 * connect to Firmata.
 */
import type { Logger } from 'pino'
import type { BoardProfile } from '../../boards/profile-schema.ts'
import type { GpioBackend } from './gpio-port.ts'
import { I2cBusBackend } from './i2c-bus-backend.ts'
import type { I2cBus } from './i2c-port.ts'
import { openJ5Board } from './j5-board.ts'
import { J5GpioBackend } from './j5-gpio-backend.ts'
import { ChardevBackend } from './chardev-backend.ts'
import { OnoffBackend } from './onoff-backend.ts'
import { ModbusGpioBackend } from './modbus-gpio-backend.ts'
import { ModbusRtuMaster } from './modbus-master.ts'
import { RoutedGpioBackend } from './routed-gpio-backend.ts'
import { SerialportLine } from './serialport-line.ts'

export interface BoardBackends {
  gpio: GpioBackend
  bus: I2cBus
  /**
   * For a board that can vanish while the runtime runs (a Firmata board on
   * USB): called once when it is lost; returns the unsubscribe.
   */
  onLost?(cb: (err: Error) => void): () => void
  /** Closes the lines, the bus and the Firmata port. */
  stop(): Promise<void>
}

export async function openBoardBackends(profile: BoardProfile, log: Logger): Promise<BoardBackends> {
  const board = await openAdapter(profile, log)
  const mb = profile.modbus
  if (mb === undefined) return board
  const settings = { baudRate: mb.baudRate, parity: mb.parity, stopBits: mb.stopBits }
  const mlog = log.child({ adapter: 'modbus', port: mb.port })
  const master = new ModbusRtuMaster({ line: new SerialportLine({ path: mb.port, settings, log: mlog }), settings, timeoutMs: mb.timeoutMs, retries: mb.retries, log: mlog })
  const modbus = new ModbusGpioBackend({ master, modules: mb.modules, pollMs: mb.pollMs, verifyMs: mb.verifyMs, log: mlog })
  return {
    ...board,
    gpio: new RoutedGpioBackend(board.gpio, modbus),
    async stop() {
      await modbus.stop()
      await board.stop()
    },
  }
}

async function openAdapter(profile: BoardProfile, log: Logger): Promise<BoardBackends> {
  switch (profile.adapter) {
    case 'onoff': {
      const gpio =
        profile.gpio?.backend === 'chardev' ? new ChardevBackend({ log: log.child({ adapter: 'chardev' }) }) : new OnoffBackend({ log: log.child({ adapter: 'onoff' }) })
      const bus = profile.i2c !== undefined ? new I2cBusBackend({ bus: profile.i2c.bus, log }) : noI2cBus(profile.id)
      return {
        gpio,
        bus,
        async stop() {
          await gpio.stop()
          await bus.close()
        },
      }
    }
    case 'johnny-five': {
      const j5 = await openJ5Board({ serialPort: profile.serialPort!, log: log.child({ adapter: 'johnny-five' }) })
      const gpio = new J5GpioBackend({ j5, log })
      return {
        gpio,
        bus: noI2cBus(profile.id),
        onLost: (cb) => j5.onLost(cb),
        async stop() {
          await gpio.stop()
          await j5.close()
        },
      }
    }
    case 'sim':
      throw new Error(`board profile '${profile.id}' is simulated: its backends come from sim/window-hardware.ts`)
  }
}

/** The bus of a board without I2C: any transfer fails as a missing bus would, naming the profile. */
function noI2cBus(profileId: string): I2cBus {
  const fail = async (): Promise<never> => {
    throw Object.assign(new Error(`ENOENT: board profile '${profileId}' has no I2C bus`), { code: 'ENOENT', errno: -2 })
  }
  return {
    i2cWrite: fail,
    i2cRead: fail,
    writeByte: fail,
    sendByte: fail,
    readByte: fail,
    receiveByte: fail,
    writeI2cBlock: fail,
    readI2cBlock: fail,
    scan: async () => [],
    close: async () => undefined,
  }
}

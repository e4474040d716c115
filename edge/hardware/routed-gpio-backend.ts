/**
 * One GpioBackend over two: lines on `modbus:` chips go to the Modbus
 * backend, every other line to the board's own (onoff, or sim/gpio.ts), so
 * build-devices opens a key the same way wherever it is wired.
 */
import type { DeviceHealthSink } from '../devices/device-health.ts'
import type { GpioBackend, GpioLine, LineSpec } from './gpio-port.ts'

export class RoutedGpioBackend implements GpioBackend {
  constructor(
    private readonly board: GpioBackend,
    private readonly modbus: GpioBackend,
  ) {}

  attachHealth(health: DeviceHealthSink): void {
    this.board.attachHealth?.(health)
    this.modbus.attachHealth?.(health)
  }

  open(spec: LineSpec): Promise<GpioLine> {
    return spec.chip?.startsWith('modbus:') ? this.modbus.open(spec) : this.board.open(spec)
  }

  async stop(): Promise<void> {
    await this.modbus.stop()
    await this.board.stop()
  }
}

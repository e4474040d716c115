import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { BoardProfile } from '../../boards/profile-schema.ts'
import { profileLines } from '../../boards/profile-lines.ts'
import { I2cBusBackend } from '../hardware/i2c-bus-backend.ts'
import { readSysfsGpioChips } from '../hardware/sysfs-gpiochips.ts'

/**
 * What `counter-edge install` checks on a new board before the runtime
 * starts: the GPIO chips its profile names by label, the I2C bus, the display
 * answering on it. Each problem in Chinese and English with what to do.
 */
export interface BoardProblem {
  what: string
  fix: string
}

export interface BoardCheckOptions {
  profile: BoardProfile
  /** Where /sys and /dev are (tests: a temp folder). */
  sys?: string
  dev?: string
  /** Probe the display over I2C (off in a dry run: there is no bus to talk to). */
  probeDisplay?: boolean
}

const I2C_DISPLAYS = new Set(['ht16k33', 'ht16k33-alpha', 'ssd1306'])

export async function checkBoard(o: BoardCheckOptions): Promise<BoardProblem[]> {
  const problems: BoardProblem[] = []
  const p = o.profile
  if (p.adapter === 'sim') return problems
  const sys = o.sys ?? '/sys'
  const dev = o.dev ?? '/dev'
  const labels = new Set<string>()
  for (const line of profileLines(p)) if (!line.ref.chip.startsWith('modbus')) labels.add(line.ref.chip)
  if (labels.size && p.adapter === 'onoff') {
    let have: string[] = []
    try {
      have = (await readSysfsGpioChips(join(sys, 'class/gpio'))).map((c) => c.label)
    } catch (err) {
      problems.push({ what: `无法读取 GPIO 芯片 / cannot list the GPIO chips: ${(err as Error).message}`, fix: `检查内核 GPIO 支持 / check the kernel's GPIO support (ls ${join(sys, 'class/gpio')})` })
    }
    for (const label of labels) {
      if (have.length && !have.includes(label)) {
        problems.push({ what: `没有标签为 "${label}" 的 GPIO 芯片 / no GPIO chip labelled "${label}" (this board has: ${have.join(', ')})`, fix: `板型 "${p.id}" 与硬件不符：换用正确的板型 / board profile "${p.id}" does not match this hardware: choose the profile for this board in board.json` })
      }
    }
  }
  if (p.i2c) {
    const node = join(dev, `i2c-${p.i2c.bus}`)
    if (!existsSync(node)) {
      problems.push({ what: `I2C 总线 ${p.i2c.bus} 不存在 / I2C bus ${p.i2c.bus} is missing (${node})`, fix: '启用 I2C / enable I2C: sudo raspi-config nonint do_i2c 0 (or dtparam=i2c_arm=on in /boot/firmware/config.txt), then reboot' })
    } else if (o.probeDisplay !== false && I2C_DISPLAYS.has(p.display.driver) && 'address' in p.display) {
      const address = Number(p.display.address)
      const bus = new I2cBusBackend({ bus: p.i2c.bus, devDir: dev })
      try {
        await bus.receiveByte(address)
      } catch (err) {
        problems.push({ what: `显示屏在 I2C ${p.i2c.bus} 地址 0x${address.toString(16)} 无应答 / the display does not answer at 0x${address.toString(16)} on I2C bus ${p.i2c.bus}: ${(err as Error).message}`, fix: '检查显示屏接线与供电、地址跳线 / check the display\'s wiring, power and address jumpers; i2cdetect -y ' + p.i2c.bus })
      } finally {
        await bus.close().catch(() => undefined)
      }
    }
  }
  return problems
}

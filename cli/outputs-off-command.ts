import type { BoardProfile } from '../boards/profile-schema.ts'
import { loadProfileNamed } from './board-profile.ts'
import { boardFileSchema } from '../edge/config.ts'
import type { GpioBackend } from '../edge/hardware/gpio-port.ts'
import { driveOutputsInactive } from '../edge/hardware/outputs-off.ts'
import { createLogger } from '../edge/shared/logger.ts'
import { BOARDS_DIR } from '../edge/shared/package-root.ts'
import { readConfigFile } from './config-file.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

/**
 * The unit's ExecStopPost (edge/supervision/counter-edge.service): after any
 * stop, a crash or a watchdog kill included, every output of the board goes
 * to its inactive level and is released (edge/hardware/outputs-off.ts).
 */
export const outputsOffCommand: Subcommand = {
  name: 'outputs-off',
  summary: COMMAND_SUMMARIES['outputs-off'],
  usage: 'counter-edge outputs-off --config /etc/counter-edge/board.json   |   counter-edge outputs-off --profile rpi4-ht16k33',
  options: {
    config: { type: 'string', description: '板卡配置文件（其中 "board" 指定板型），与 edge 命令所用的相同 / board config (its "board" names the profile), as the edge command takes it' },
    profile: { type: 'string', description: '板型 id（boards/ 下）或板型文件的路径 / a board profile id (boards/) or the path of a profile file' },
  },
  async run(v) {
    if ((v.config === undefined) === (v.profile === undefined)) throw new UsageError('请给出 --config 或 --profile 之一（只给一个） / give exactly one of --config and --profile')
    const profile =
      v.profile !== undefined
        ? await loadProfileNamed(String(v.profile), BOARDS_DIR, '--profile')
        : await loadProfileNamed((await readConfigFile(String(v.config), boardFileSchema)).board, BOARDS_DIR, `${String(v.config)}: board`)
    const log = createLogger({ name: 'outputs-off' })
    const { gpio, stop } = await openGpio(profile, log)
    let failed = 0
    try {
      for (const r of await driveOutputsInactive(profile, gpio, log)) {
        if (r.error === undefined) console.log(`  已关闭 off   ${r.name.padEnd(20)} ${r.path} = ${r.level}`)
        else {
          failed++
          console.error(`  失败 FAILED  ${r.name.padEnd(20)} ${r.path}: ${r.error}`)
        }
      }
    } finally {
      await stop()
    }
    if (failed > 0) {
      console.error(`${failed} 路输出未能关闭 / ${failed} output(s) could not be driven inactive (board '${profile.id}')`)
      return 1
    }
    console.log(`所有输出已关闭 / every output of '${profile.id}' is inactive and released`)
    return 0
  },
}

async function openGpio(profile: BoardProfile, log: ReturnType<typeof createLogger>): Promise<{ gpio: GpioBackend; stop: () => Promise<void> }> {
  if (profile.adapter === 'sim') {
    const { SimWindowHardware } = await import('../sim/window-hardware.ts')
    const hw = new SimWindowHardware(profile)
    return { gpio: hw.gpio, stop: () => hw.gpio.stop() }
  }
  const { openBoardBackends } = await import('../edge/hardware/open-board.ts')
  const backends = await openBoardBackends(profile, log.child({ module: 'hardware' }))
  return { gpio: backends.gpio, stop: () => backends.stop() }
}

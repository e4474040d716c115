import { createLogger } from '../edge/shared/logger.ts'
import { BoardRoot, DEFAULT_ROOT } from '../edge/update/board-root.ts'
import { Launcher } from '../edge/update/launcher.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'

/** `counter-edge launch`: what the board's unit runs (edge/systemd/counter-edge.service); see edge/update/launcher.ts. */
export const launchCommand: Subcommand = {
  name: 'launch',
  summary: COMMAND_SUMMARIES.launch,
  usage: 'counter-edge launch --root /opt/counter-edge [--node-flags "--lite-mode"] -- edge --config /etc/counter-edge/board.json',
  options: {
    root: { type: 'string', default: DEFAULT_ROOT, description: '已安装设备的根目录（releases/、current、previous、update.json） / the installed board root (releases/, current, previous, update.json)' },
    'node-flags': { type: 'string', description: '运行时的 Node.js 参数，以空格分隔 / Node.js flags for the runtime, space-separated' },
    crashes: { type: 'string', default: '3', description: '试运行的版本在上线前退出这么多次即回滚 / a tried version that exits this many times before it is online is rolled back' },
  },
  async run(v, positionals) {
    const root = new BoardRoot(v.root as string)
    if (!root.isInstalled()) throw new UsageError(`${root.current} 不存在：这不是已安装的设备，请先用 counter-edge install 安装 / ${root.current} does not exist: not an installed board; set it up with counter-edge install`)
    if (positionals.length === 0) throw new UsageError('运行时的参数写在 -- 之后，如 -- edge --config /etc/counter-edge/board.json / the runtime\'s arguments go after --, e.g. -- edge --config /etc/counter-edge/board.json')
    const crashes = Number(v.crashes)
    if (!Number.isInteger(crashes) || crashes < 1) throw new UsageError(`--crashes 须为不小于 1 的整数，不是 "${String(v.crashes)}" / --crashes must be a whole number of at least 1, not "${String(v.crashes)}"`)
    const launcher = new Launcher({
      root,
      args: positionals,
      log: createLogger({ name: 'launcher' }),
      nodeFlags: typeof v['node-flags'] === 'string' ? (v['node-flags'] as string).split(/\s+/).filter(Boolean) : [],
      crashesBeforeRollback: crashes,
    })
    await launcher.start()
    return () => launcher.stop()
  },
}

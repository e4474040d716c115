import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createLogger, type Logger } from '../edge/shared/logger.ts'
import { Lifecycle } from '../edge/shared/lifecycle.ts'
import { startEdge } from '../edge/main.ts'
import { boardFileSchema, type BoardFile, type EdgeConfig } from '../edge/config.ts'
import { loadProfileNamed } from './board-profile.ts'
import { SyncedClock, defaultSyncFallback } from '../edge/link/clock-sync.ts'
import { SystemdNotifier, watchdogIntervalMs } from '../edge/supervision/sd-notify.ts'
import { Supervisor } from '../edge/supervision/supervisor.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { readConfigFile } from './config-file.ts'
import { processChannel } from '../edge/update/health-signal.ts'
import { BOARDS_DIR } from '../edge/shared/package-root.ts'
import type { SimWindow } from '../sim/sim-window.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'
import { readFailureEn, readFailureZh } from '../edge/shared/read-failure.ts'

/** Reads the PEM files a board config names, with the file and the field in any error. */
async function readTls(configPath: string, tls: BoardFile['tls']): Promise<EdgeConfig['tls']> {
  if (!tls) return undefined
  const out: NonNullable<EdgeConfig['tls']> = {}
  for (const field of ['ca', 'cert', 'key'] as const) {
    const path = tls[field]
    if (!path) continue
    out[field] = await readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`${configPath}: tls.${field}：无法读取 ${path}，${readFailureZh(e.code)} / cannot read ${path}: ${readFailureEn(e)}`)
    })
  }
  return out
}

/** `--control`: a port (on loopback), host:port, or a unix socket path. */
function controlAddress(v: string): { host: string; port: number; socketPath?: string } {
  if (v.includes('/')) return { host: '127.0.0.1', port: 0, socketPath: v }
  const m = /^(?:(.+):)?([0-9]{1,5})$/.exec(v)
  const port = m ? Number(m[2]) : NaN
  if (!m || port > 65535) throw new UsageError(`--control 须为端口、host:port 或 unix 套接字路径（含 /），不是 "${v}" / --control must be a port, host:port or a unix socket path (with a /), not "${v}"`)
  return { host: m[1] ?? '127.0.0.1', port }
}

/**
 * Refusals of the board's credentials in a row after which the command, run at a terminal, stops. Not the
 * first: the hub answers a login limiter's backoff with the same CONNACK as a revoked password (hub/broker.ts,
 * so a refusal confirms nothing), and three tries across the link's backoff outlast a passing burst.
 */
export const REFUSALS_AT_TERMINAL = 3

/** Long enough for the keys' re-read (1 s) and the display to report their faults to the hub before the exit. */
const BOARD_LOST_GRACE_MS = 2_500

export interface EdgeCommandHooks {
  /** Called once, the first time the runtime is online at its hub (cli/board-main.ts saves its code cache then). */
  firstOnline?: (log: Logger) => void
}

export const edgeCommand: Subcommand = makeEdgeCommand()

/** The `edge` command; the hooks let the process that runs it act on the runtime's milestones. */
export function makeEdgeCommand(hooks: EdgeCommandHooks = {}): Subcommand {
  return {
    name: 'edge',
    summary: COMMAND_SUMMARIES.edge,
    usage: 'counter-edge edge --config /etc/counter-edge/board.json [--control 8090 | --control /run/w01.sock]',
    options: {
      config: { type: 'string', description: '板卡配置文件，即 `counter-edge provision` 打印的那份 / board config as printed by `counter-edge provision`' },
      root: { type: 'string', description: '已安装设备的根目录（默认：运行中版本往上两级，即启动器从 <root>/current 运行时） / the installed board root (default: two levels above the running release, when the launcher runs it from <root>/current)' },
      control: {
        type: 'string',
        description: '仅限模拟硬件（adapter 为 "sim" 的板型）：在此端口、host:port 或 unix 套接字路径上提供控制 API（按键、显示、故障、相机、指纹） / simulated hardware only (a board profile of adapter "sim"): serve the control API (keys, display, faults, camera, fingerprint) on this port, host:port or unix socket path',
      },
    },
    async run(v) {
      if (!v.config) throw new UsageError('缺少 --config：板卡配置文件，如 /etc/counter-edge/board.json / --config is required: the board config, e.g. /etc/counter-edge/board.json')
      const c = await readConfigFile(v.config as string, boardFileSchema)
      const tls = await readTls(v.config as string, c.tls)
      const profile = await loadProfileNamed(c.board, BOARDS_DIR, `${v.config as string}: board`)
      const control = v.control === undefined ? null : controlAddress(String(v.control))
      if (control && profile.adapter !== 'sim') {
        throw new UsageError(`--control 只用于模拟硬件；板型 "${c.board}" 的 adapter 是 "${profile.adapter}"，真实设备的按键请用手按 / --control is for simulated hardware; board profile "${c.board}" has adapter "${profile.adapter}", a real board's keys are pressed by hand`)
      }
      const log = createLogger({ name: 'edge' }).child({ counter: c.counter })
      const life = new Lifecycle({ log })
      return life.build(async () => {
        let gpio, bus
        let simWindow: SimWindow | null = null
        if (profile.adapter === 'sim') {
          // A board profile of adapter "sim" runs the real runtime on simulated buses: a laptop demo window,
          // or one window of `counter-edge sim --process-per-window`. Its device models (the camera and the
          // fingerprint device behind the capture lines included) are the simulator's, so the control API
          // drives this process as it drives a window of the simulated hall.
          const { SimWindow } = await import('../sim/sim-window.ts')
          const { isPixelDisplay } = await import('../boards/screen-schema.ts')
          const pixels = isPixelDisplay(profile.display.driver) || profile.officerPanel !== undefined
          const font = pixels ? await (await import('../edge/hardware/bitmap-font.ts')).loadHexFont() : undefined
          const w = new SimWindow({ hall: c.hall, counter: c.counter, profile, hub: c.hub, username: c.username, password: c.password, log, ...(font ? { font } : {}) })
          life.add('simulated capture devices', () => w.release())
          simWindow = w
          gpio = w.hardware.backend
          bus = w.hardware.bus
        } else {
          const { openBoardBackends } = await import('../edge/hardware/open-board.ts')
          const backends = await openBoardBackends(profile, log.child({ module: 'hardware' }))
          ;({ gpio, bus } = backends)
          life.add('hardware', () => backends.stop())
          // A Firmata board unplugged from USB leaves display, keys and relay dead: the devices report
          // their faults as their lines fail (ENODEV), then the process exits non-zero for systemd to
          // restart it, which waits for the board to come back.
          backends.onLost?.((err) => {
            log.fatal({ err: err.message }, `控制板已断开，${BOARD_LOST_GRACE_MS} ms 后退出以便重启 / board lost; exiting in ${BOARD_LOST_GRACE_MS} ms for a restart`)
            setTimeout(() => {
              life.stop().finally(() => process.exit(1))
            }, BOARD_LOST_GRACE_MS)
          })
        }
        // Before anything else: a relay or trigger left driven by a crashed run is released now, even if
        // this start fails later (edge/hardware/outputs-off.ts). A line that fails here is reported again
        // by its device.
        const { driveOutputsInactive } = await import('../edge/hardware/outputs-off.ts')
        await driveOutputsInactive(profile, gpio, log.child({ module: 'outputs-off' }))
        const dataDir = c.dataDir ?? process.env.STATE_DIRECTORY?.split(':')[0]
        if (!dataDir) log.warn('no dataDir in the config and no $STATE_DIRECTORY: events wait in memory only and a restart loses what the hub has not acknowledged')
        const clock = await life.start('clock', new SyncedClock({ log: log.child({ module: 'clock' }), fallback: defaultSyncFallback(process.platform, existsSync('/run/systemd/system')) }))
        const { board: _board, tls: _tls, dataDir: _dataDir, ...file } = c
        // Set once an update switched `current`: the runtime's goodbye says `upgrade`, and the exit (code 0) lets the launcher start the new version.
        let upgrading = false
        const edge = await startEdge(
          { ...file, ...(dataDir ? { dataDir } : {}), ...(tls ? { tls } : {}), ...(v.root ? { root: v.root as string } : {}) },
          {
            profile,
            gpio,
            bus,
            log,
            clock,
            launcher: processChannel(),
            exitForUpgrade: async () => {
              upgrading = true
              await life.stop()
              process.exit(0)
            },
          },
        )
        life.add('edge runtime', () => edge.stop(upgrading ? 'upgrade' : 'stop'))
        const firstOnline = hooks.firstOnline
        if (firstOnline) {
          const off = edge.link.onOnline(() => {
            off()
            firstOnline(log)
          })
        }
        // A person running the board by hand is told to re-provision and gets the prompt back; under systemd
        // (no terminal) the link keeps retrying, so a board in a hall comes back by itself after a login storm.
        if (process.stdout.isTTY) {
          const off = edge.link.onCredentialsRefused((inARow) => {
            if (inARow < REFUSALS_AT_TERMINAL) return
            off()
            log.fatal(
              { refused: inARow, username: c.username },
              `集线器连续 ${inARow} 次拒绝本板的凭据，已停止重试：请用 counter-edge provision --replace 为 ${c.counter} 重新发放，并用新配置再运行 / the hub refused this board's credentials ${inARow} times in a row (revoked or replaced); stopped retrying: re-provision ${c.counter} (counter-edge provision --replace) and run again with the new config`,
            )
            life.stop().finally(() => process.exit(1))
          })
        }
        if (simWindow) {
          simWindow.attach(edge)
          if (control) {
            const { ControlApi } = await import('../sim/control-api.ts')
            const api = await life.start(
              'control API',
              new ControlApi({
                ...control,
                hall: c.hall,
                windows: new Map([[c.counter, simWindow]]),
                info: () => ({ hall: c.hall, counter: c.counter, windows: 1 }),
                log: log.child({ module: 'control-api' }),
              }),
            )
            log.info({ control: api.url }, `控制接口 control API: ${api.url}/api/windows/${c.counter}`)
          }
        }
        const supervisor = new Supervisor({
          notifier: SystemdNotifier.fromEnv({ log: log.child({ module: 'sd-notify' }) }),
          watchdogMs: watchdogIntervalMs(),
          link: edge.link,
          log: log.child({ module: 'supervisor' }),
        })
        await supervisor.ready()
        supervisor.start()
        life.add('supervisor', async () => {
          await supervisor.stopping()
          supervisor.stop()
        })
        return () => life.stop()
      })
    },
  }
}

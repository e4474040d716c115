import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createLogger } from '../edge/shared/logger.ts'
import { Lifecycle } from '../edge/shared/lifecycle.ts'
import { startEdge } from '../edge/main.ts'
import { boardFileSchema, type BoardFile, type EdgeConfig } from '../edge/config.ts'
import { loadBoardProfile } from '../boards/profile-schema.ts'
import { SyncedClock, defaultSyncFallback } from '../edge/link/clock-sync.ts'
import { SystemdNotifier, watchdogIntervalMs } from '../edge/supervision/sd-notify.ts'
import { Supervisor } from '../edge/supervision/supervisor.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { readConfigFile } from './config-file.ts'
import { BOARDS_DIR } from '../edge/shared/package-root.ts'

/** Reads the PEM files a board config names, with the file and the field in any error. */
async function readTls(configPath: string, tls: BoardFile['tls']): Promise<EdgeConfig['tls']> {
  if (!tls) return undefined
  const out: NonNullable<EdgeConfig['tls']> = {}
  for (const field of ['ca', 'cert', 'key'] as const) {
    const path = tls[field]
    if (!path) continue
    out[field] = await readFile(path).catch((e: Error) => {
      throw new UsageError(`${configPath}: tls.${field}: cannot read ${path}: ${e.message}`)
    })
  }
  return out
}

/** Long enough for the keys' re-read (1 s) and the display to report their faults to the hub before the exit. */
const BOARD_LOST_GRACE_MS = 2_500

export const edgeCommand: Subcommand = {
  name: 'edge',
  summary: 'run the runtime of one counter board',
  usage: 'counter-edge edge --config /etc/counter-edge/board.json',
  options: {
    config: { type: 'string', description: 'board config as printed by `counter-edge provision`' },
  },
  async run(v) {
    if (!v.config) throw new UsageError('--config is required')
    const c = await readConfigFile(v.config as string, boardFileSchema)
    const tls = await readTls(v.config as string, c.tls)
    const profile = await loadBoardProfile(c.board, BOARDS_DIR)
    const log = createLogger({ name: 'edge' }).child({ counter: c.counter })
    const life = new Lifecycle({ log })
    return life.build(async () => {
      let gpio, bus
      if (profile.adapter === 'sim') {
        // A board profile of adapter "sim" runs the real runtime on simulated buses: a laptop demo window.
        const { SimWindowHardware } = await import('../sim/window-hardware.ts')
        const hw = new SimWindowHardware(profile)
        gpio = hw.gpio
        bus = hw.bus
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
      const edge = await startEdge({ ...file, ...(dataDir ? { dataDir } : {}), ...(tls ? { tls } : {}) }, { profile, gpio, bus, log, clock })
      life.add('edge runtime', () => edge.stop())
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

import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { idSchema } from '../edge/protocol/index.ts'
import { createLogger } from '../edge/shared/logger.ts'
import { startEdge } from '../edge/main.ts'
import { parseBrokerUrl } from '../edge/shared/mqtt-connect.ts'
import { loadBoardProfile } from '../boards/profile-schema.ts'
import { SyncedClock, defaultSyncFallback } from '../edge/link/clock-sync.ts'
import { SystemdNotifier, watchdogIntervalMs } from '../edge/supervision/sd-notify.ts'
import { Supervisor } from '../edge/supervision/supervisor.ts'
import type { BoardTls } from '../edge/link/board-link.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { readConfigFile } from './config-file.ts'
import { BOARDS_DIR } from '../edge/shared/package-root.ts'

const edgeFileSchema = z.strictObject({
  hall: idSchema,
  counter: idSchema,
  board: z.string().min(1),
  hub: z.array(z.string()).min(1),
  username: z.string().min(1),
  password: z.string().min(1),
  /** Window state and the event journal; defaults to systemd's $STATE_DIRECTORY (StateDirectory=). */
  dataDir: z.string().min(1).optional(),
  /** PEM files for mqtts:// hubs: the hall's CA; the board's certificate and key where the hub asks for one. */
  tls: z
    .strictObject({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() })
    .refine((t) => Boolean(t.cert) === Boolean(t.key), { message: 'cert and key go together' })
    .optional(),
})

/** Reads the PEM files a board config names, with the file and the field in any error. */
async function readTls(configPath: string, tls: z.infer<typeof edgeFileSchema>['tls']): Promise<BoardTls | undefined> {
  if (!tls) return undefined
  const out: BoardTls = {}
  for (const field of ['ca', 'cert', 'key'] as const) {
    const path = tls[field]
    if (!path) continue
    out[field] = await readFile(path).catch((e: Error) => {
      throw new UsageError(`${configPath}: tls.${field}: cannot read ${path}: ${e.message}`)
    })
  }
  return out
}

export const edgeCommand: Subcommand = {
  name: 'edge',
  summary: 'run the runtime of one counter board',
  usage: 'counter-edge edge --config /etc/counter-edge/board.json',
  options: {
    config: { type: 'string', description: 'board config as printed by `counter-edge provision`' },
  },
  async run(v) {
    if (!v.config) throw new UsageError('--config is required')
    const c = await readConfigFile(v.config as string, edgeFileSchema)
    const tls = await readTls(v.config as string, c.tls)
    const profile = await loadBoardProfile(c.board, BOARDS_DIR)
    const log = createLogger({ name: 'edge' }).child({ counter: c.counter })
    let gpio, bus
    let release = async () => {}
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
      release = () => backends.stop()
    }
    const dataDir = c.dataDir ?? process.env.STATE_DIRECTORY?.split(':')[0]
    if (!dataDir) log.warn('no dataDir in the config and no $STATE_DIRECTORY: events wait in memory only and a restart loses what the hub has not acknowledged')
    const clock = new SyncedClock({ log: log.child({ module: 'clock' }), fallback: defaultSyncFallback(process.platform, existsSync('/run/systemd/system')) })
    await clock.start()
    const edge = await startEdge(
      { hall: c.hall, counter: c.counter, hub: c.hub.map(parseBrokerUrl), username: c.username, password: c.password, ...(dataDir ? { dataDir } : {}), ...(tls ? { tls } : {}) },
      { profile, gpio, bus, log, clock },
    ).catch(async (err: unknown) => {
      clock.stop()
      await release()
      throw err
    })
    const supervisor = new Supervisor({
      notifier: SystemdNotifier.fromEnv({ log: log.child({ module: 'sd-notify' }) }),
      watchdogMs: watchdogIntervalMs(),
      link: edge.link,
      log: log.child({ module: 'supervisor' }),
    })
    await supervisor.ready()
    supervisor.start()
    return async () => {
      await supervisor.stopping()
      supervisor.stop()
      await edge.stop()
      clock.stop()
      await release()
    }
  },
}

import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../edge/shared/logger.ts'
import { startHub, type RunningHub } from '../hub/main.ts'
import type { HubConfig } from '../hub/config.ts'
import { loadBoardProfile } from '../boards/profile-schema.ts'
import { CentralBroker } from './central-broker.ts'
import { CentralStub } from './central-stub.ts'
import { SimWindow } from './sim-window.ts'
import { counterId, writeHallCredentials } from './hall-credentials.ts'
import { Applicants } from './applicants.ts'
import { ControlApi } from './control-api.ts'
import { DeviceFaultLog } from './device-fault-log.ts'
import { CentralRatings } from './central-ratings.ts'
import { BOARDS_DIR } from '../edge/shared/package-root.ts'
import { Lifecycle } from '../edge/shared/lifecycle.ts'
import { ESPEAK_BINARY } from '../hub/announcer/espeak-pack.ts'
import { isPixelDisplay } from '../boards/screen-schema.ts'
import { loadHexFont } from '../edge/hardware/bitmap-font.ts'

export interface SimHallOptions {
  hall: string
  windows: number
  host: string
  hubPort: number
  centralPort: number
  controlPort: number
  /** The hub's dashboard and /metrics; 0 picks a free port. */
  dashboardPort?: number
  /** Simulated seconds per real second for the central queue. */
  speed: number
  board: string
  /**
   * The board profile of every second window (w02, w04, …): pixel screens by
   * default in `npm start` (sim-window-matrix), so a hall shows both kinds.
   * Absent: every window has `board`.
   */
  screenBoard?: string
  /** Run the central queue stub and simulated applicants (off in tests that drive the hall themselves). */
  traffic: boolean
  /** Share of the stub's services that run past the overtime limit, so overtime is seen (sim/central-stub.ts); default 0. */
  longServiceRate?: number
  /**
   * The hall's voice caller in the hub, writing each announcement as a WAV
   * into `dir`/announcements (no sound card needed), its voice pack in
   * `dir`/voice, made once with espeak-ng. Absent: no announcer.
   */
  announcer?: { dir: string; espeak?: string }
  /**
   * The central broker to bridge to (the integrator's own): no central
   * stand-in and no queue stub then, central drives the hall. Absent: a
   * stand-in broker on centralPort.
   */
  upstream?: HubUpstream
  /** The hub's custody log and sessions on disk (in `dataDir`/hub) rather than in memory. */
  dataDir?: string
  log: Logger
  onLine?: (line: string) => void
}

/** The hub's bridge to central, as the hub's config takes it (hub/config.ts). */
export type HubUpstream = NonNullable<HubConfig['upstream']>

export interface SimHall {
  readonly hub: RunningHub
  /** The central stand-in, where no upstream was given. */
  readonly central: CentralBroker | null
  /** Where the hub bridges to: the stand-in's URL or the given upstream's. */
  readonly centralUrl: string
  readonly stub: CentralStub | null
  /** The ratings the central stand-in received, with or without the stub (GET /api/ratings); null on the integrator's broker. */
  readonly ratings: CentralRatings | null
  readonly windows: Map<string, SimWindow>
  readonly control: ControlApi
  /** A technician account for the CLI (status, identify, selftest) against this hall. */
  readonly technician: { username: string; passwordFile: string }
  /** The hub's credentials file: `counter-edge provision` adds a window of one's own to it, and the hub takes it without a restart. */
  readonly credentialsFile: string
  stop(): Promise<void>
}

function announcerConfig(a: NonNullable<SimHallOptions['announcer']>) {
  return { voiceDir: join(a.dir, 'voice'), output: { dir: join(a.dir, 'announcements') }, makeVoicePack: true, espeak: a.espeak ?? ESPEAK_BINARY }
}

export { counterId }

/** Composition root of the simulated hall. Stops what it started if any step fails; one part that fails to stop does not keep the others running. */
export async function startSimHall(o: SimHallOptions): Promise<SimHall> {
  const life = new Lifecycle({ log: o.log })
  return life.build(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'counter-edge-hall-'))
    life.add('temporary directory', () => rm(dir, { recursive: true, force: true }))
    const profile = await loadBoardProfile(o.board, BOARDS_DIR)
    const screenProfile = o.screenBoard !== undefined ? await loadBoardProfile(o.screenBoard, BOARDS_DIR) : profile
    const pixels = [profile, screenProfile].some((p) => isPixelDisplay(p.display.driver) || p.officerPanel !== undefined)
    // One font for every window's simulated screens: the models read their pixels back with it.
    const font = pixels ? await loadHexFont() : undefined
    const { passwords, technician, credentialsFile } = await writeHallCredentials(dir, o.hall, o.windows)

    const central = o.upstream ? null : await life.start('central stand-in', new CentralBroker({ host: o.host, port: o.centralPort, log: o.log.child({ module: 'central-standin' }) }))
    const upstream: HubUpstream = o.upstream ?? { url: central!.url }
    // Counted at the stand-in only: on the integrator's broker, central is theirs to count at. Started before the hub
    // so it stops after it: a rating the hub bridges while the hall stops is counted, as central received it.
    const ratings = central ? await life.start('central ratings', new CentralRatings({ hall: o.hall, url: central.url, keep: 1000, log: o.log.child({ module: 'central-ratings' }) })) : null
    const hubDataDir = o.dataDir ? join(o.dataDir, 'hub') : undefined
    if (hubDataDir) await mkdir(hubDataDir, { recursive: true })

    // Without espeak-ng the hall still runs: the announcer says why it has no voice, with the install command (hub/announcer/hub-part.ts).
    const announcer = o.announcer ? announcerConfig(o.announcer) : null
    const hub = await startHub(
      { hall: o.hall, host: o.host, port: o.hubPort, credentialsFile, upstream, ...(hubDataDir ? { dataDir: hubDataDir } : {}), http: { host: o.host, port: o.dashboardPort ?? 0 }, ...(announcer ? { announcer } : {}) },
      o.log.child({ module: 'hub' }),
    )
    life.add('hub', () => hub.stop())

    // One faulty display must not bury the call and rating lines (sim/device-fault-log.ts).
    const faultLog = new DeviceFaultLog({ log: o.log.child({ module: 'device-faults' }), windowMs: 60_000 })
    life.add('device fault log', async () => faultLog.stop())
    const windows = new Map<string, SimWindow>()
    for (const [i, [counter, password]] of [...passwords].entries()) {
      const w = new SimWindow({
        hall: o.hall,
        counter,
        profile: i % 2 === 1 ? screenProfile : profile,
        ...(font ? { font } : {}),
        hub: [{ host: o.host, port: hub.port }],
        username: `${o.hall}-${counter}`,
        password,
        log: faultLog.forWindow(counter, o.log.child({ module: 'edge', counter })),
      })
      await w.start()
      windows.set(counter, w)
      life.add(`window ${counter}`, () => w.shutdown())
    }

    let stub: CentralStub | null = null
    // On the integrator's broker the queue is the integrator's central's: the stub would be a second one.
    if (o.traffic && central) {
      stub = await life.start('central stub', new CentralStub({ hall: o.hall, url: central.url, speed: o.speed, ...(o.longServiceRate ? { longServiceRate: o.longServiceRate } : {}), log: o.log.child({ module: 'central-stub' }), ...(o.onLine ? { onLine: o.onLine } : {}) }))
      await life.start('applicants', new Applicants(windows, { thinkMs: [800, 4000] }))
    }

    const control = new ControlApi({
      host: o.host,
      port: o.controlPort,
      hall: o.hall,
      windows,
      log: o.log.child({ module: 'control-api' }),
      info: () => ({ hall: o.hall, hub: `mqtt://${o.host}:${hub.port}`, dashboard: `http://${o.host}:${hub.httpPort}/`, central: upstream.url, windows: windows.size, waiting: stub?.waiting ?? null }),
      ...(ratings ? { ratings: () => ratings.ratings } : {}),
    })
    await life.start('control API', control)

    return { hub, central, centralUrl: upstream.url, stub, ratings, windows, control, technician, credentialsFile, stop: () => life.stop() }
  })
}

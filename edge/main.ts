import { join } from 'node:path'
import type { Logger } from './shared/logger.ts'
import type { BoardProfile } from '../boards/profile-schema.ts'
import type { GpioBackend } from './hardware/gpio-port.ts'
import type { I2cBus } from './hardware/i2c-port.ts'
import { buildWindowDevices } from './devices/build-devices.ts'
import { initialState } from './counter/state.ts'
import { Window } from './window.ts'
import { staffingFigures } from './counter/view.ts'
import { BoardLink } from './link/board-link.ts'
import { machineClock, type MachineReading } from './machine-clock.ts'
import { EnvelopeStamper, newBootId, systemClock, type Clock } from './link/envelope-stamper.ts'
import { VERSION } from './shared/version.ts'
import { StateFile } from './state-file.ts'
import { claimDataDir, credentialDigest } from './data-dir-owner.ts'
import { VideoHooks } from './devices/video-hooks.ts'
import { runSelfTest } from './devices/self-test.ts'
import { DeviceHealthTracker } from './devices/device-health.ts'
import { OFFICER_KEYS, TICKET_CHARACTERS, type CaptureKind, type OfflineReason } from './protocol/index.ts'
import { Lifecycle } from './shared/lifecycle.ts'
import { Journal, MemoryStorage } from './link/journal.ts'
import { SegmentStorage } from './link/journal-segments.ts'
import { Telemetry } from './link/telemetry.ts'
import { publicWindowOf, type EdgeConfig } from './config.ts'
import type { HubSessionFactory } from './link/hub-session.ts'
import { PACKAGE_ROOT } from './shared/package-root.ts'
import { BoardRoot, installedRootOf } from './update/board-root.ts'
import { Installer } from './update/installer.ts'
import { HealthSignal, type LauncherChannel } from './update/health-signal.ts'

export type { EdgeConfig } from './config.ts'

export interface EdgeDeps {
  profile: BoardProfile
  gpio: GpioBackend
  bus: I2cBus
  log: Logger
  clock?: Clock
  /**
   * The machine's monotonic clock and boot, saved with the window's state so a restart counts the time that
   * really passed (edge/machine-clock.ts). Default: the machine's, unless a `clock` is given (a test's clock
   * is not the machine's, so its steps between runs would not show); null: none.
   */
  machineClock?: (() => MachineReading) | null
  /** Opens the link's MQTT session; default mqtt.js over TCP. Tests record the link's publishes through it. */
  session?: HubSessionFactory
  /** The launcher's IPC channel (edge/update/health-signal.ts): `healthy` goes there once online with devices answering. */
  launcher?: LauncherChannel | null
  /**
   * After an update switched `current`: stop the whole process cleanly (offline reason `upgrade`) and exit 0
   * so the launcher starts the new version. Default: stop this runtime with reason `upgrade`.
   */
  exitForUpgrade?: () => Promise<void>
}

export interface RunningEdge {
  readonly window: Window
  readonly link: BoardLink
  readonly boot: string
  stop(reason?: 'stop' | 'restart' | 'upgrade'): Promise<void>
}

/**
 * Composition root of one counter board: profile → devices → counter → link.
 * Each part's stop joins one stop stack as the part starts, so a start that
 * fails half-way releases the lines and the journal it had opened, and a
 * stop runs in reverse order, each step on its own (docs/architecture.md §9).
 */
export async function startEdge(config: EdgeConfig, deps: EdgeDeps): Promise<RunningEdge> {
  const clock = deps.clock ?? systemClock
  const log = deps.log
  const boot = newBootId()
  const life = new Lifecycle({ log: log.child({ module: 'lifecycle' }) })
  // The reason the link's goodbye gives: set by stop(), read when the link's step runs.
  let stopReason: OfflineReason = 'stop'
  return life.build(async () => {
    // First, before any device: what a device reports while the journal and the state load is kept for the window.
    const health = new DeviceHealthTracker({ log: log.child({ module: 'device-health' }) })
    // The Clock's documented default: never the wall clock, whose steps would move every window and duration.
    const mono = (): number => (clock.monotonic ? clock.monotonic() : performance.now())
    const devices = await buildWindowDevices({
      profile: deps.profile,
      gpio: deps.gpio,
      bus: deps.bus,
      // Devices time intervals only (key lockout, chatter window, stuck hold, capture latency), and a press is
      // compared with the window's evaluation: on the window's monotonic clock, or a wall-clock step back keeps
      // old edges "in the last second" and mutes a good key as chattering.
      now: mono,
      log: log.child({ module: 'devices' }),
      health,
    })
    life.add('devices', () => devices.stop())
    const stamper = new EnvelopeStamper(config.counter, boot, clock)
    // Before the journal opens and the state loads: another window's data must not become this window's.
    const claim = config.dataDir
      ? await claimDataDir(config.dataDir, { hall: config.hall, counter: config.counter, credential: credentialDigest(config.username, config.password) }, log.child({ module: 'data-dir' }), () => clock.now())
      : null
    const journalLog = log.child({ module: 'journal' })
    const journal = new Journal({
      storage: config.dataDir ? new SegmentStorage({ dir: join(config.dataDir, 'journal'), log: journalLog }) : new MemoryStorage(),
      log: journalLog,
      now: () => clock.now(),
    })
    await journal.open()
    life.add('journal', () => journal.close())
    const link = new BoardLink({
      hall: config.hall,
      counter: config.counter,
      addresses: config.hub,
      ...(config.tls ? { tls: config.tls } : {}),
      username: config.username,
      password: config.password,
      stamper,
      birth: { version: VERSION, board: deps.profile.id, capabilities: capabilitiesOf(deps.profile, devices.display.charset) },
      log: log.child({ module: 'link' }),
      journal,
      now: mono,
      ...(config.backlogRate ? { backlogRate: config.backlogRate } : {}),
      ...(deps.session ? { session: deps.session } : {}),
    })
    life.add('link', () => link.stop(stopReason))
    const scale: 3 | 5 = Object.keys(deps.profile.keys).length >= 5 ? 5 : 3
    const limits = { digits: deps.profile.display.digits, charset: devices.display.charset }
    const stateFile = config.dataDir ? new StateFile({ dir: config.dataDir, log: log.child({ module: 'state-file' }) }) : undefined
    const settings = { ...config.settings, scale: Math.min(config.settings?.scale ?? scale, scale) as 3 | 5 }
    const captureDevices = Object.keys(devices.captures) as CaptureKind[]
    let loaded = stateFile ? await stateFile.load(clock.now(), limits, settings, captureDevices, scale) : initialState(clock.now(), limits, settings, captureDevices, scale)
    if (stateFile && claim?.stale) {
      // Another board served this window since this card's state was saved: its ticket is not this window's now.
      // The records that reached their outcome here stay closed: none may be called back to this board.
      loaded = { ...initialState(clock.now(), limits, settings, captureDevices, scale), closedRecords: loaded.closedRecords }
      await stateFile.replaceStale(loaded)
    }
    // Service records of this run: the counter and the boot make them unique across boards and restarts.
    const state = { ...loaded, records: { prefix: `${config.counter}-${boot}`, next: 1 } }
    const hooks = config.video
      ? new VideoHooks({
          counter: config.counter,
          config: config.video,
          ...(devices.nvrRelay ? { relay: devices.nvrRelay } : {}),
          log: log.child({ module: 'video' }),
          now: () => clock.now(),
          health,
        })
      : undefined
    // Updates only where there is somewhere to install them: an installed root (edge/update/board-root.ts).
    const rootDir = config.root ?? installedRootOf(PACKAGE_ROOT)
    const root = rootDir ? new BoardRoot(rootDir) : null
    const installer: Installer | null =
      root && root.isInstalled()
        ? new Installer({
            root,
            running: VERSION,
            credentials: { username: config.username, password: config.password },
            report: (fields) => link.publish('update', fields),
            restart: async () => {
              if (deps.exitForUpgrade) await deps.exitForUpgrade()
              else await running.stop('upgrade')
            },
            log: log.child({ module: 'update' }),
            now: () => clock.now(),
            hold: (): Promise<boolean> => window.holdForRestart(),
            release: (): void => window.releaseRestartHold(),
          })
        : null
    if (installer) life.add('update', () => installer.stop())
    const publicWindow = publicWindowOf(config.counter, config.window)
    const window = new Window({
      state,
      publicWindow,
      // The window's name heads its screens (idle, officer panel).
      screenInfo: { windowName: publicWindow.name },
      ...(hooks ? { hooks } : {}),
      ...(stateFile ? { stateFile } : {}),
      devices: {
        display: devices.display,
        ...(devices.officerPanel ? { officerPanel: devices.officerPanel } : {}),
        evaluator: devices.evaluator,
        captures: devices.captures,
        ...(devices.lamps.status ? { statusLamp: devices.lamps.status } : {}),
        selfTest: (tests) => runSelfTest(devices, tests),
      },
      link,
      now: () => clock.now(),
      mono,
      machineClock: deps.machineClock !== undefined ? deps.machineClock : deps.clock ? null : machineClock(),
      log: log.child({ module: 'window' }),
      setLogLevel: (level) => {
        log.level = level
      },
      onSettings: () => telemetry.reschedule(),
      ...(installer ? { updater: installer } : {}),
    })
    const telemetry = new Telemetry({
      link,
      window: () => ({ ignoredPresses: window.current.ignoredPresses, telemetryPeriodS: window.current.settings.telemetryPeriodS, staffing: staffingFigures(window.current, mono()) }),
      devices: () => health.snapshot(),
      log: log.child({ module: 'telemetry' }),
      now: () => clock.now(),
    })
    devices.evaluator.onPress((score, at) => window.press(score, at))
    devices.evaluator.onAmbiguous(() => window.ambiguousPress())
    for (const key of OFFICER_KEYS) devices.officerKeys[key]?.on('press', () => window.officerKey(key))
    if (hooks) {
      hooks.start()
      life.add('video hooks', () => hooks.stop())
    }
    health.attach(window)
    await window.start()
    life.add('window', () => window.stop())
    link.start()
    telemetry.start()
    life.add('telemetry', () => telemetry.stop())
    if (installer) await installer.reportStart()
    if (deps.launcher) {
      const signal = new HealthSignal({
        channel: deps.launcher,
        version: VERSION,
        // Online, and every device answered its first check: none is absent (a stuck key is a fault, not a dead board).
        isHealthy: () => link.connected && !Object.values(health.snapshot()).includes('absent'),
        onConfirmed: () => void installer?.confirmed(),
      })
      signal.start()
      life.add('health signal', () => signal.stop())
    }
    log.info({ hall: config.hall, counter: config.counter, boot, board: deps.profile.id, root: rootDir, updates: Boolean(installer) }, 'edge runtime started')
    const running: RunningEdge = {
      window,
      link,
      boot,
      stop(reason = 'stop') {
        stopReason = reason
        return life.stop()
      },
    }
    return running
  })
}

/**
 * What the birth message tells central this window can do. The display's
 * width and the ticket characters it cannot draw let central call only
 * tickets the window will show, instead of learning it from a refusal.
 */
function capabilitiesOf(p: BoardProfile, charset: string): string[] {
  const lacks = [...TICKET_CHARACTERS].filter((c) => !charset.includes(c)).join('')
  // A capability is at most 32 characters: a display lacking more than 18 says so in several entries.
  const lacking = lacks.match(/.{1,18}/g) ?? []
  const caps = ['display', `display-width:${p.display.digits}`, ...lacking.map((l) => `display-lacks:${l}`), `evaluator:${Object.keys(p.keys).length}`]
  for (const kind of ['photo', 'fingerprint'] as const) if (p.capture?.[kind]) caps.push(`capture:${kind}`)
  if (p.officerKeys && Object.keys(p.officerKeys).length) caps.push('officer-keys')
  if (p.outputs.nvrRelay) caps.push('video-hooks')
  if (p.outputs.statusLamp) caps.push('status-light')
  return caps
}

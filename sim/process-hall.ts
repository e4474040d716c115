import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../edge/shared/logger.ts'
import { Lifecycle } from '../edge/shared/lifecycle.ts'
import { BoardRoot } from '../edge/update/board-root.ts'
import { unpackRelease } from '../edge/update/unpack.ts'
import type { HubConfig } from '../hub/config.ts'
import { CentralBroker } from './central-broker.ts'
import { CentralStub } from './central-stub.ts'
import { CentralRatings } from './central-ratings.ts'
import { ControlApi } from './control-api.ts'
import { writeHallCredentials } from './hall-credentials.ts'
import { RemoteWindows } from './remote-windows.ts'
import { RestartingChild } from './restarting-child.ts'
import type { HubUpstream } from './hall.ts'

export interface ProcessHallOptions {
  hall: string
  windows: number
  host: string
  /** 0 picks a free port once, kept across the hub's restarts (the windows' configs name it). */
  hubPort: number
  centralPort: number
  controlPort: number
  dashboardPort: number
  speed: number
  board: string
  /** Board profile of the even windows; absent: `board` everywhere. */
  screenBoard?: string
  /** The central queue stub, on the stand-in only (with an upstream, central is the integrator's). */
  traffic: boolean
  /** The integrator's central broker; absent: a stand-in broker in this process on centralPort. */
  upstream?: HubUpstream
  /**
   * Where the hub's custody log and sessions, each window's state and journal,
   * their configs, control sockets and logs live. Absent: a temporary directory,
   * removed at the stop.
   */
  dataDir?: string
  /** The hub's announcer section (hub/config.ts), if any. */
  announcer?: HubConfig['announcer']
  /** How to run `counter-edge`: the program and its first arguments, e.g. [node, …execArgv, cli/counter-edge.mjs]. */
  cli: string[]
  /**
   * Each window as an installed board (issue 24, docs/operations.md "Installing a new
   * board"): run by `counter-edge launch --root <dir>/boards/<counter>` from a root of
   * its own holding this release unpacked under releases/<version>, `current` at it,
   * the hall's public key in keys/hall-release.pub and node_modules linked to
   * `nodeModules`; the hub takes uploads signed for that key. Absent: each window
   * runs `counter-edge edge` straight from `cli`, and takes no updates.
   */
  installed?: InstalledWindows
  /** LOG_LEVEL of the hub and window processes. */
  childLogLevel: string
  log: Logger
  onLine?: (line: string) => void
}

export interface InstalledWindows {
  /** The release's .tar.gz (cli/build/release.ts), already checked by whoever built it. */
  payload: string
  version: string
  /** The hall's release public key (PEM), for the hub and every board. */
  publicKey: string
  /** The native and external packages the releases resolve (`counter-edge install` puts them under each root). */
  nodeModules: string
  /** `launch --crashes`: starts of a tried version that die before it is online before it is rolled back. */
  crashes?: number
}

export interface ProcessHall {
  readonly hubUrl: string
  readonly dashboardUrl: string
  readonly centralUrl: string
  readonly central: CentralBroker | null
  readonly stub: CentralStub | null
  /** The ratings the central stand-in received, with or without the stub (GET /api/ratings); null on the integrator's broker. */
  readonly ratings: CentralRatings | null
  readonly hub: RestartingChild
  readonly windows: Map<string, RestartingChild>
  readonly control: ControlApi
  readonly dir: string
  readonly technician: { username: string; passwordFile: string }
  readonly credentialsFile: string
  /** Each window's installed root, by counter, when `installed` was given. */
  readonly roots: Map<string, BoardRoot>
  stop(): Promise<void>
}

/**
 * Composition root of a simulated hall whose hub and windows are processes of
 * their own (`counter-edge hub --config`, `counter-edge edge --config
 * --control <socket>`), each started again when it dies, so an integrator can
 * SIGKILL one window or the hub and watch the hall recover: the hub's custody
 * log and each window's journal are on disk. The hall's control API forwards
 * each window's requests to the API its process serves.
 */
export async function startProcessHall(o: ProcessHallOptions): Promise<ProcessHall> {
  const life = new Lifecycle({ log: o.log })
  return life.build(async () => {
    let dir = o.dataDir
    if (!dir) {
      const tmp = await mkdtemp(join(tmpdir(), 'counter-edge-hall-'))
      life.add('temporary directory', () => rm(tmp, { recursive: true, force: true }))
      dir = tmp
    }
    for (const sub of ['hub', 'windows', 'logs']) await mkdir(join(dir, sub), { recursive: true })
    const { passwords, technician, credentialsFile } = await writeHallCredentials(dir, o.hall, o.windows)

    const central = o.upstream ? null : await life.start('central stand-in', new CentralBroker({ host: o.host, port: o.centralPort, log: o.log.child({ module: 'central-standin' }) }))
    const upstream: HubUpstream = o.upstream ?? { url: central!.url }
    // Counted at the stand-in itself, as in the one-process hall (sim/hall.ts): the stub's own list is empty under
    // --no-traffic. Started before the hub so it stops after it, and counts what the hub bridges while the hall stops.
    const ratings = central ? await life.start('central ratings', new CentralRatings({ hall: o.hall, url: central.url, keep: 1000, log: o.log.child({ module: 'central-ratings' }) })) : null

    // The windows' configs name the hub's port and a restarted hub must come back on it, so it is fixed now.
    const hubPort = o.hubPort || (await freePortOn(o.host))
    const httpPort = o.dashboardPort || (await freePortOn(o.host))
    const hubFile = join(dir, 'hub', 'hub.json')
    const hubConfig: HubConfig = {
      hall: o.hall,
      host: o.host,
      port: hubPort,
      credentialsFile,
      dataDir: join(dir, 'hub', 'data'),
      upstream,
      http: { host: o.host, port: httpPort },
      ...(o.announcer ? { announcer: o.announcer } : {}),
      ...(o.installed ? { releases: { publicKey: o.installed.publicKey } } : {}),
    }
    // It may hold the upstream password: readable by this user only.
    await writeFile(hubFile, JSON.stringify(hubConfig, null, 2) + '\n', { mode: 0o600 })
    const env = { LOG_LEVEL: o.childLogLevel }
    const hub = new RestartingChild({ name: 'hub', command: [...o.cli, 'hub', '--config', hubFile], logFile: join(dir, 'logs', 'hub.log'), env, log: o.log, ...(o.onLine ? { onLine: o.onLine } : {}) })
    await life.start('hub process', hub)
    await untilListening(o.host, hubPort, 60_000, () => `the hub did not listen on ${o.host}:${hubPort} within 60 s; see ${join(dir, 'logs', 'hub.log')}`)

    const windows = new Map<string, RestartingChild>()
    const sockets = new Map<string, string>()
    const roots = new Map<string, BoardRoot>()
    for (const [i, [counter, password]] of [...passwords].entries()) {
      const wdir = join(dir, 'windows', counter)
      await mkdir(wdir, { recursive: true })
      const board = i % 2 === 1 && o.screenBoard !== undefined ? o.screenBoard : o.board
      const file = join(wdir, 'board.json')
      const socket = join(wdir, 'control.sock')
      await writeFile(
        file,
        JSON.stringify({ hall: o.hall, counter, board, hub: [`mqtt://${o.host}:${hubPort}`], username: `${o.hall}-${counter}`, password, dataDir: join(wdir, 'data') }, null, 2) + '\n',
        { mode: 0o600 },
      )
      const edgeArgs = ['edge', '--config', file, '--control', socket]
      let command = [...o.cli, ...edgeArgs]
      if (o.installed) {
        const root = await installRoot(join(dir, 'boards', counter), o.installed)
        roots.set(counter, root)
        // The launcher runs from the checkout as the unit runs it from its own copy; the runtime it starts is the root's `current`.
        command = [...o.cli, 'launch', '--root', root.dir, ...(o.installed.crashes ? ['--crashes', String(o.installed.crashes)] : []), '--', ...edgeArgs]
      }
      const w = new RestartingChild({
        name: counter,
        command,
        logFile: join(dir, 'logs', `${counter}.log`),
        env,
        log: o.log,
        ...(o.onLine ? { onLine: o.onLine } : {}),
      })
      await life.start(`window ${counter} process`, w)
      windows.set(counter, w)
      sockets.set(counter, socket)
    }

    let stub: CentralStub | null = null
    if (o.traffic && central) {
      stub = await life.start('central stub', new CentralStub({ hall: o.hall, url: central.url, speed: o.speed, log: o.log.child({ module: 'central-stub' }), ...(o.onLine ? { onLine: o.onLine } : {}) }))
    }

    const hubUrl = `mqtt://${o.host}:${hubPort}`
    const dashboardUrl = `http://${o.host}:${httpPort}/`
    const control = new ControlApi({
      host: o.host,
      port: o.controlPort,
      hall: o.hall,
      windows: new Map(),
      remote: new RemoteWindows(sockets),
      log: o.log.child({ module: 'control-api' }),
      info: () => ({
        hall: o.hall,
        hub: hubUrl,
        dashboard: dashboardUrl,
        central: upstream.url,
        windows: windows.size,
        waiting: stub?.waiting ?? null,
        dataDir: dir,
        // What an integrator kills (kill -9 <pid>) to see the hall recover; the simulator starts it again.
        processes: Object.fromEntries([hub, ...windows.values()].map((p) => [p.name, { pid: p.pid, restarts: p.restarts }])),
      }),
      ...(ratings ? { ratings: () => ratings.ratings } : {}),
    })
    await life.start('control API', control)

    return { hubUrl, dashboardUrl, centralUrl: upstream.url, central, stub, ratings, hub, windows, control, dir, technician, credentialsFile, roots, stop: () => life.stop() }
  })
}

/** A board root as `counter-edge install` lays it out, without the system user, unit or /etc (those are the host's). */
async function installRoot(dir: string, i: InstalledWindows): Promise<BoardRoot> {
  const root = new BoardRoot(dir)
  // A hall started again on the same data dir keeps what its boards updated to.
  if (root.isInstalled()) return root
  await mkdir(root.releases, { recursive: true })
  await mkdir(join(dir, 'keys'), { recursive: true })
  await unpackRelease(i.payload, root.releases, i.version)
  await root.point('current', i.version)
  await writeFile(root.publicKey, await readFile(i.publicKey))
  await rm(root.nodeModules, { force: true })
  await symlink(i.nodeModules, root.nodeModules)
  return root
}

function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

async function untilListening(host: string, port: number, ms: number, why: () => string): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port, noDelay: true })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (up) return
    if (Date.now() > deadline) throw new Error(why())
    // Polling a port another process is opening: nothing to wait on but the clock.
    await new Promise((r) => setTimeout(r, 200))
  }
}

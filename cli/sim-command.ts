import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createLogger } from '../edge/shared/logger.ts'
import { BOARDS_DIR, PACKAGE_ROOT } from '../edge/shared/package-root.ts'
import { verifySignedManifest } from '../edge/shared/release-signature.ts'
import type { InstalledWindows } from '../sim/process-hall.ts'
import { LOG_LEVELS, idSchema } from '../edge/protocol/index.ts'

const LOG_LEVELS_WITH_SILENT = [...LOG_LEVELS, 'silent'] as const
import { counterId, startSimHall, type HubUpstream } from '../sim/hall.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { checkedFlag } from './flag-value.ts'
import { loadProfileNamed } from './board-profile.ts'
import { ESPEAK_BINARY } from '../hub/announcer/espeak-pack.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'
import { readFailureEn, readFailureZh } from '../edge/shared/read-failure.ts'

function port(v: unknown, flag: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${flag} 须为端口号（0 表示任选空闲端口），不是 "${String(v)}" / --${flag} must be a port number (0 picks a free one), not "${String(v)}"`)
  return n
}

export const simCommand: Subcommand = {
  name: 'sim',
  summary: COMMAND_SUMMARIES.sim,
  usage:
    'counter-edge sim [--windows 12] [--hub-port 1883] [--central-port 1884] [--control-port 8080]\n' +
    '       counter-edge sim --upstream mqtt://central:1883 [--upstream-username u --upstream-password-file f] [--data-dir dir] [--process-per-window [--release x.release.json --release-key hall-release.pub]]',
  options: {
    hall: { type: 'string', default: 'hall-1', description: '大厅 id / hall id' },
    windows: { type: 'string', default: '12', description: '模拟窗口的数量（1–200） / number of simulated windows (1–200)' },
    host: { type: 'string', default: '127.0.0.1', description: '所有监听绑定的地址 / address every listener binds to' },
    'hub-port': { type: 'string', default: '1883', description: '大厅集线器的 MQTT 端口 / hall hub MQTT port' },
    'central-port': { type: 'string', default: '1884', description: '模拟中心代理的 MQTT 端口 / central stand-in broker MQTT port' },
    'control-port': { type: 'string', default: '8080', description: '控制 API（HTTP JSON）端口 / control API (HTTP JSON) port' },
    'dashboard-port': { type: 'string', default: '8081', description: "集线器看板和 /metrics 的（HTTP）端口 / the hub's dashboard and /metrics (HTTP) port" },
    speed: { type: 'string', default: '20', description: '排队模拟的速度：每真实秒对应的模拟秒数 / simulated seconds per real second for the queue' },
    board: { type: 'string', default: 'sim-window', description: '奇数窗口（w01、w03、…）的板型 / board profile of the odd windows (w01, w03, …)' },
    'screen-board': { type: 'string', default: 'sim-window-matrix', description: "偶数窗口（w02、w04、…）的板型：像素屏；'same' 表示处处用 --board 的板型 / board profile of the even windows (w02, w04, …): pixel screens; 'same' for --board everywhere" },
    'no-traffic': { type: 'boolean', default: false, description: '不运行中心排队桩和模拟办事群众：自己驱动大厅 / no central queue stub or applicants: drive the hall yourself' },
    'announcer-dir': { type: 'string', default: join(tmpdir(), 'counter-edge-sim-announcer'), description: "语音叫号的语音包（voice/）及其写出的 WAV 播报文件（announcements/） / the voice caller's voice pack (voice/) and the announcements it writes as WAV files (announcements/)" },
    'no-announcer': { type: 'boolean', default: false, description: '不运行语音叫号 / no voice caller' },
    'log-level': { type: 'string', default: 'warn', description: '各组件的日志级别（叫号和评价行始终显示） / log level of the components (the call/rating lines always show)' },
    upstream: { type: 'string', description: "你的中心代理，如 mqtt://central:1883 或 mqtts://…：集线器桥接到那里；不运行模拟中心和排队桩（由你的中心叫号） / your central broker, e.g. mqtt://central:1883 or mqtts://…: the hub bridges there; no stand-in, no queue stub (your central calls)" },
    'upstream-username': { type: 'string', description: '你的中心代理的用户名 / username at your central broker' },
    'upstream-password-file': { type: 'string', description: '存放你的中心代理密码的文件（或 COUNTER_EDGE_UPSTREAM_PASSWORD） / file holding the password at your central broker (or COUNTER_EDGE_UPSTREAM_PASSWORD)' },
    'upstream-ca': { type: 'string', description: 'mqtts:// 中心代理的 PEM CA / PEM CA of an mqtts:// central broker' },
    'data-dir': { type: 'string', description: "集线器的保管日志和会话存放在此目录（加 --process-per-window 时还有每个窗口的日志、配置和记录），被杀掉后仍在 / the hub's custody log and sessions on disk here (and, with --process-per-window, each window's journal, configs, logs), so they survive a kill" },
    'process-per-window': { type: 'boolean', default: false, description: '集线器和每个窗口各自一个进程，被杀掉后重新启动（可 kill -9 其中一个；GET /api 列出其 pid）；没有模拟办事群众：通过控制 API 按键 / the hub and each window as a process of its own, started again when killed (kill -9 one; GET /api lists their pids); no simulated applicants: press the keys through the control API' },
    release: { type: 'string', description: "与 --process-per-window 同用：每个窗口都是由 `counter-edge launch` 从各自根目录运行的已安装设备，装有此版本（x.release.json，其 .tar.gz 放在旁边），以便 `counter-edge update` 升级大厅 / with --process-per-window: each window an installed board run by `counter-edge launch` from a root of its own holding this release (x.release.json, its .tar.gz beside it), so `counter-edge update` can update the hall" },
    'release-key': { type: 'string', description: "与 --release 同用：大厅的版本签名公钥（hall-release.pub）；集线器和每个设备都用它校验版本 / with --release: the hall's release public key (hall-release.pub); the hub and every board check releases against it" },
  },
  async run(v) {
    const windows = Number(v.windows)
    if (!Number.isInteger(windows) || windows < 1 || windows > 200) throw new UsageError(`--windows 须为 1 到 200 的整数，不是 "${v.windows}" / --windows must be a whole number from 1 to 200, not "${v.windows}"`)
    const hall = checkedFlag(idSchema, v.hall, '--hall', { zh: '缺少 --hall：大厅编号，如 hall-1', en: '--hall is required: the hall, e.g. hall-1' })
    const speed = Number(v.speed)
    if (!(speed > 0 && speed <= 1000)) throw new UsageError(`--speed 须为大于 0、不超过 1000 的数，不是 "${v.speed}" / --speed must be a number above 0 and at most 1000, not "${v.speed}"`)
    const level = LOG_LEVELS_WITH_SILENT.find((l) => l === v['log-level'])
    if (!level) throw new UsageError(`--log-level 须为 ${LOG_LEVELS_WITH_SILENT.join('、')} 之一，不是 "${String(v['log-level'])}" / --log-level must be one of ${LOG_LEVELS_WITH_SILENT.join(', ')}, not "${String(v['log-level'])}"`)
    const log = createLogger({ name: 'sim', level })
    const upstream = await upstreamOf(v)
    const dataDir = v['data-dir'] === undefined ? undefined : resolve(String(v['data-dir']))
    const installed = await installedOf(v)
    // Checked before anything starts, as provision and edge check them: a mistyped profile id gets the nearest one and the list.
    await loadProfileNamed(String(v.board), BOARDS_DIR, '--board')
    if (v['screen-board'] !== 'same') await loadProfileNamed(String(v['screen-board']), BOARDS_DIR, '--screen-board')
    const ports = {
      hubPort: port(v['hub-port'], 'hub-port'),
      centralPort: port(v['central-port'], 'central-port'),
      controlPort: port(v['control-port'], 'control-port'),
      dashboardPort: port(v['dashboard-port'], 'dashboard-port'),
    }
    if (v['process-per-window']) return runProcessHall(v, { hall, windows, speed, level, log, upstream, dataDir, installed, ports })
    console.log(`counter-edge: starting a simulated hall "${hall}" with ${windows} windows…`)
    const sim = await startSimHall({
      hall,
      windows,
      host: v.host as string,
      ...ports,
      speed,
      board: v.board as string,
      ...(v['screen-board'] !== 'same' ? { screenBoard: v['screen-board'] as string } : {}),
      traffic: !v['no-traffic'],
      // One service in ten runs long, so overtime shows on the dashboard and in these lines.
      longServiceRate: 0.1,
      ...(v['no-announcer'] ? {} : { announcer: { dir: v['announcer-dir'] as string } }),
      ...(upstream ? { upstream } : {}),
      ...(dataDir ? { dataDir } : {}),
      log,
      onLine: (line) => console.log(`${stamp()}  ${line}`),
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw new Error(portInUse(err))
      throw err
    })
    const nextCounter = counterId(windows + 1)
    console.log(
      [
        '',
        `  hall hub (MQTT, authenticated):   mqtt://${v.host}:${sim.hub.port}`,
        sim.central
          ? `  central stand-in broker (MQTT):   ${sim.central.url}   ← integrate here: hall/${hall}/counter/+/…`
          : `  your central broker (bridged to): ${sim.centralUrl}   hall/${hall}/counter/+/…  (your central calls; the keys are pressed through the control API)`,
        `  hall dashboard and /metrics:      http://${v.host}:${sim.hub.httpPort}/`,
        `  control API (HTTP JSON):          ${sim.control.url}/api`,
        ...(sim.hub.announcer
          ? [`  hall announcer (voice, as WAV):    ${join(v['announcer-dir'] as string, 'announcements')}   (${sim.hub.announcer.health().working ? '语音播报 working' : '未工作，见上 not working, see above'})`]
          : []),
        `  e.g. curl ${sim.control.url}/api/windows/w01/display`,
        `       curl -X POST ${sim.control.url}/api/windows/w01/keys/satisfied/press`,
        ...(windows >= 2 && v['screen-board'] !== 'same' ? [`       ${sim.control.url}/api/windows/w02/screen.png   (a pixel window's screen; panel.png its officer panel)`] : []),
        `  technician CLI:                    npx counter-edge status --hub mqtt://${v.host}:${sim.hub.port} --hall ${hall} --username ${sim.technician.username} --password-file ${sim.technician.passwordFile}`,
        `  dashboard login:                   ${sim.technician.username}, the password in ${sim.technician.passwordFile}`,
        `  add a window of your own:          npx counter-edge provision --credentials ${sim.credentialsFile} --hall ${hall} --counter ${nextCounter} --hub mqtt://${v.host}:${sim.hub.port} --out ${nextCounter}.json`,
        `                                     npx counter-edge edge --config ${nextCounter}.json`,
        '',
        'Calls and ratings follow. Ctrl-C stops everything.',
        '',
      ].join('\n'),
    )
    return async () => {
      console.log('\ncounter-edge: 正在停止大厅… / stopping the hall…')
      await sim.stop()
      console.log(stoppedLine(sim.ratings?.total))
    }
  },
}

interface SimPorts {
  hubPort: number
  centralPort: number
  controlPort: number
  dashboardPort: number
}

const stamp = () => new Date().toTimeString().slice(0, 8)

/** The last line of a stop: with the central stand-in, how many ratings it received (on the integrator's broker they are counted there). */
const stoppedLine = (ratings: number | undefined) =>
  ratings !== undefined ? `counter-edge: 已正常停止（中心共收到 ${ratings} 个评价）/ stopped cleanly (${ratings} ratings received by central).` : 'counter-edge: 已正常停止 / stopped cleanly.'

const portInUse = (err: Error) =>
  `端口已被占用（${err.message}），请用 --hub-port、--central-port、--control-port、--dashboard-port 另选 / a port is already in use (${err.message}); pick others with --hub-port, --central-port, --control-port, --dashboard-port`

/** --release and --release-key: the release every window starts installed with, checked against the key before anything is laid out. */
async function installedOf(v: Record<string, unknown>): Promise<InstalledWindows | undefined> {
  if (v.release === undefined) {
    if (v['release-key'] !== undefined) throw new UsageError('--release-key 须与 --release 同用 / --release-key goes with --release')
    return undefined
  }
  if (!v['process-per-window']) throw new UsageError('--release 须与 --process-per-window 同用 / --release goes with --process-per-window: only window processes run under the launcher')
  if (v['release-key'] === undefined) throw new UsageError("--release 需要 --release-key / --release needs --release-key, the hall's release public key (hall-release.pub)")
  const manifestFile = resolve(String(v.release))
  const publicKey = resolve(String(v['release-key']))
  const read = async (file: string, flag: string) => {
    try {
      return await readFile(file, 'utf8')
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      throw new UsageError(`--${flag}: 无法读取 ${file}，${readFailureZh(e.code)} / cannot read ${file}: ${readFailureEn(e)}`)
    }
  }
  const text = await read(manifestFile, 'release')
  let signed: unknown
  try {
    signed = JSON.parse(text)
  } catch {
    throw new UsageError(`--release: ${manifestFile} 不是 JSON / is not JSON: give the .release.json that release build wrote`)
  }
  const checked = verifySignedManifest(signed, await read(publicKey, 'release-key'))
  if (!checked.ok) throw new UsageError(`--release: ${manifestFile} 未通过校验 / does not check out against ${publicKey}: ${checked.reason}`)
  return { payload: join(dirname(manifestFile), checked.manifest.payload.file), version: checked.manifest.version, publicKey, nodeModules: join(PACKAGE_ROOT, 'node_modules') }
}

/** --upstream and its credentials as the hub's config takes them; the password from a file or the environment, never a flag (it would show in ps). */
async function upstreamOf(v: Record<string, unknown>): Promise<HubUpstream | undefined> {
  if (v.upstream === undefined) {
    for (const f of ['upstream-username', 'upstream-password-file', 'upstream-ca']) if (v[f] !== undefined) throw new UsageError(`--${f} 须与 --upstream 同用 / --${f} goes with --upstream`)
    return undefined
  }
  const url = String(v.upstream)
  if (!/^mqtts?:\/\/[^/]+/.test(url)) throw new UsageError(`--upstream 须为 mqtt:// 或 mqtts:// 地址，如 mqtt://central:1883，不是 "${url}" / --upstream must be an mqtt:// or mqtts:// URL such as mqtt://central:1883, not "${url}"`)
  let password = process.env.COUNTER_EDGE_UPSTREAM_PASSWORD
  if (v['upstream-password-file'] !== undefined) {
    const file = String(v['upstream-password-file'])
    password = (
      await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`--upstream-password-file：无法读取 ${file}，${readFailureZh(e.code)} / --upstream-password-file: cannot read ${file}: ${readFailureEn(e)}`)
      })
    ).trim()
  }
  return {
    url,
    ...(v['upstream-username'] !== undefined ? { username: String(v['upstream-username']) } : {}),
    ...(password ? { password } : {}),
    ...(v['upstream-ca'] !== undefined ? { caFile: resolve(String(v['upstream-ca'])) } : {}),
  }
}

/** `sim --process-per-window`: the hub and every window as processes of their own (sim/process-hall.ts). */
async function runProcessHall(
  v: Record<string, unknown>,
  a: { hall: string; windows: number; speed: number; level: string; log: ReturnType<typeof createLogger>; upstream: HubUpstream | undefined; dataDir: string | undefined; installed: InstalledWindows | undefined; ports: SimPorts },
): Promise<() => Promise<void>> {
  const { startProcessHall } = await import('../sim/process-hall.ts')
  console.log(`counter-edge: starting a simulated hall "${a.hall}" with ${a.windows} windows, each a process of its own…`)
  const announcerDir = v['announcer-dir'] as string
  const sim = await startProcessHall({
    hall: a.hall,
    windows: a.windows,
    host: v.host as string,
    ...a.ports,
    speed: a.speed,
    board: v.board as string,
    ...(v['screen-board'] !== 'same' ? { screenBoard: v['screen-board'] as string } : {}),
    traffic: !v['no-traffic'],
    ...(a.upstream ? { upstream: a.upstream } : {}),
    ...(a.dataDir ? { dataDir: a.dataDir } : {}),
    ...(a.installed ? { installed: a.installed } : {}),
    ...(v['no-announcer']
      ? {}
      : { announcer: { voiceDir: join(announcerDir, 'voice'), output: { dir: join(announcerDir, 'announcements') }, makeVoicePack: true, espeak: ESPEAK_BINARY } }),
    // The same program this process runs as, so a checkout, an npm install and a bundle each start their own.
    cli: [process.execPath, ...process.execArgv, process.argv[1]!],
    childLogLevel: a.level === 'silent' ? 'warn' : a.level,
    log: a.log,
    onLine: (line) => console.log(`${stamp()}  ${line}`),
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new Error(portInUse(err))
    throw err
  })
  const api = `${sim.control.url}/api`
  console.log(
    [
      '',
      `  hall hub (MQTT, authenticated):   ${sim.hubUrl}   (process ${sim.hub.pid})`,
      sim.central
        ? `  central stand-in broker (MQTT):   ${sim.central.url}   ← integrate here: hall/${a.hall}/counter/+/…`
        : `  your central broker (bridged to): ${sim.centralUrl}   hall/${a.hall}/counter/+/…  (your central calls; the keys are pressed through the control API)`,
      `  hall dashboard and /metrics:      ${sim.dashboardUrl}`,
      `  control API (HTTP JSON):          ${api}   (GET ${api} lists each process's pid)`,
      `  hub data, window journals, logs:  ${sim.dir}   (logs/hub.log, logs/w01.log, …)`,
      `  e.g. curl -X POST ${api}/windows/w01/keys/satisfied/press`,
      `       kill -9 ${sim.windows.get('w01')?.pid ?? '<pid of w01>'}   (window w01; started again within a second, its journal kept)`,
      `       kill -9 ${sim.hub.pid ?? '<pid of the hub>'}   (the hub; started again, its custody log kept${a.dataDir ? '' : ' until the hall stops: give --data-dir to keep it longer'})`,
      `  technician CLI:                    npx counter-edge status --hub ${sim.hubUrl} --hall ${a.hall} --username ${sim.technician.username} --password-file ${sim.technician.passwordFile}`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  )
  return async () => {
    console.log('\ncounter-edge: 正在停止大厅… / stopping the hall…')
    await sim.stop()
    console.log(stoppedLine(sim.ratings?.total))
  }
}

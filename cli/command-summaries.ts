/**
 * What each command does, in one line: the one text both the main help (`counter-edge --help`) and the
 * command's own help print. Apart from the commands themselves because cli/main.ts loads each command lazily
 * (a board's `counter-edge edge` must not pay for the hub's or the simulator's imports), yet its help lists
 * them all. Chinese, then English after " / ": the main help prints each on its own line.
 */
export const COMMAND_SUMMARIES = {
  sim: '运行整个模拟大厅：集线器、模拟中心、中心排队桩、模拟窗口 / run a whole simulated hall: hub, central stand-in, central queue stub, simulated windows',
  hub: '运行大厅集线器（带认证、访问控制、保管日志和中心桥接的 MQTT 代理） / run the in-hall hub (MQTT broker with authentication, ACL, custody log and bridge to central)',
  edge: '运行一个窗口设备的运行时 / run the runtime of one counter board',
  provision: '把一个窗口设备（或其他客户端）加入集线器的账号文件，并只打印一次它的配置 / add a board (or another client) to a hub credentials file and print its config once',
  status: '每个窗口一行：连接、状态、票号、版本、工作人员、故障、升级；有窗口需要查看时退出码为 1 / one line per window of the hall: online, mode, ticket, version, officer, faults, updates; exit code 1 when any window needs a look',
  identify: "让窗口的显示屏闪烁，便于技术员在大厅里找到它 / blink a window's display so a technician can find it in the hall",
  selftest: '自检窗口：显示屏灯测试、按键、采集触发回环 / test a window: display lamp test, keys, capture trigger loopback',
  'outputs-off':
    '把设备配置中的每个输出置为无效并释放（继电器断开，触发线和灯熄灭；每次停止后由服务单元运行） / drive every output of a board profile inactive and release it (relay open, triggers and lamps off; the unit runs it after every stop)',
  announcer: "大厅语音叫号：生成默认语音包，在扬声器上试叫一个号 / the hall's voice caller: make the default voice pack, try a call on the speakers",
  install: '安装窗口设备：服务用户、目录、服务单元、版本、配置与密钥；检查硬件 / set up a board: service user, folders, unit, a release, its config and key; check the hardware',
  launch: '在启动器下运行已安装设备的运行时（确认升级，失败时回滚） / run the board runtime of an installed board under the launcher that confirms updates and rolls them back',
  release:
    "构建签名的设备运行时版本（release build），或生成大厅的版本签名密钥对（release keygen） / build a signed release of the board runtime (release build), or the hall's release key pair (release keygen)",
  update: "通过集线器升级大厅的设备：上传签名版本，开始、跟踪或取消分批升级 / update the hall's boards through the hub: upload a signed release, start, follow and cancel a rollout",
} as const satisfies Record<string, string>

export type CommandName = keyof typeof COMMAND_SUMMARIES

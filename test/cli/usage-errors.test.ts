import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type AddressInfo } from 'node:net'

const CLI = fileURLToPath(new URL('../../cli/counter-edge.mjs', import.meta.url))

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, COUNTER_EDGE_PASSWORD: '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, out: stdout, err: stderr })
    })
  })
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-usage-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Wrong input to the command itself: each says what is wrong in our words, with the usage, and exits 2. */
describe('counter-edge on wrong flags and files', () => {
  it('selftest: a missing or mis-cased --counter and an unknown test are named in both languages, before any login', async () => {
    const none = await cli(['selftest'])
    expect(none.code).toBe(2)
    expect(none.err).toMatch(/缺少 --counter：要自检的窗口，如 w05 \/ --counter is required: the window to test, e.g. w05/)
    const cased = await cli(['selftest', '--counter', 'W03'])
    expect(cased.code).toBe(2)
    expect(cased.err).toMatch(/--counter "W03"：.*是不是 "w03"？ \/ --counter "W03": .*\(did you mean "w03"\?\)/)
    const test = await cli(['selftest', '--counter', 'w03', '--tests', 'display,trigers'])
    expect(test.code).toBe(2)
    expect(test.err).toMatch(/--tests：没有测试 trigers，是不是 triggers？；可选 display、keys、triggers \/ --tests: unknown trigers \(did you mean triggers\?\); choose from display, keys, triggers/)
  })

  it('an unknown flag gets our bilingual message and the command usage, not parseArgs text', async () => {
    const r = await cli(['status', '--frobnicate'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^counter-edge status: 未知选项 --frobnicate \/ unknown option --frobnicate\n/)
    expect(r.err).toMatch(/Usage: COUNTER_EDGE_PASSWORD=… counter-edge status/)
    expect(r.err).toMatch(/--password-file <value>/)
    expect(r.err).not.toMatch(/To specify a positional argument|parseArgs|ERR_PARSE_ARGS/)
    const near = await cli(['identify', '--count', 'w01'])
    expect(near.code).toBe(2)
    expect(near.err).toMatch(/unknown option --count \(did you mean --counter\?\)/)
  })

  it('a swapped-letter typo of a flag or a command gets the nearest name', async () => {
    const flag = await cli(['status', '--hbu', 'mqtt://hub'])
    expect(flag.code).toBe(2)
    expect(flag.err).toMatch(/^counter-edge status: 未知选项 --hbu，是不是 --hub？ \/ unknown option --hbu \(did you mean --hub\?\)\n/)
    const command = await cli(['stauts'])
    expect(command.code).toBe(2)
    expect(command.err).toMatch(/^counter-edge: 未知命令 "stauts"，是不是 status？ \/ unknown command "stauts" \(did you mean status\?\)\n/)
    const far = await cli(['frobnicate'])
    expect(far.err).toMatch(/^counter-edge: 未知命令 "frobnicate" \/ unknown command "frobnicate"\n/)
  })

  it('a flag without its value says which one needs a value', async () => {
    const r = await cli(['identify', '--counter'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/选项 --counter 需要一个值 \/ option --counter needs a value: --counter <value>/)
  })

  it('a negative number after a flag is said to be taken for an option, with the way to give it, and then checked as a value', async () => {
    const r = await cli(['sim', '--windows', '-3'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('选项 --windows 需要一个值："-3" 以 - 开头，被当作了选项；若它就是值，请写 --windows=-3 / option --windows needs a value: "-3" starts with - and was taken for an option; if it is the value, write --windows=-3')
    const given = await cli(['sim', '--windows=-3'])
    expect(given.code).toBe(2)
    expect(given.err).toContain('--windows 须为 1 到 200 的整数，不是 "-3" / --windows must be a whole number from 1 to 200, not "-3"')
    // Another flag where the value should be is only "needs a value".
    const flag = await cli(['identify', '--wait', '--counter', 'w01'])
    expect(flag.err).toMatch(/^counter-edge identify: 选项 --wait 需要一个值 \/ option --wait needs a value: --wait <value>\n/)
  })

  it('a missing --password-file names the path the user gave', async () => {
    const missing = join(dir, 'no-such-password')
    const r = await cli(['status', '--username', 'hall-1-tech', '--password-file', missing])
    expect(r.code).toBe(2)
    expect(r.err).toContain(`无法读取密码文件 ${missing}：文件不存在 / cannot read --password-file ${missing}: the file does not exist`)
    expect(r.err).not.toMatch(/ENOENT/)
  })

  it('a key or release file that is not there is said in words in both languages, not as Node\'s ENOENT', async () => {
    const key = join(dir, 'no-such.pem')
    const release = await cli(['release', 'build', '--key', key, '--out', dir])
    expect(release.code).toBe(2)
    expect(release.err).toContain(`--key ${key}: 无法读取，文件不存在 / cannot read: the file does not exist`)
    const manifest = join(dir, 'no-such.release.json')
    const sim = await cli(['sim', '--process-per-window', '--release', manifest, '--release-key', key])
    expect(sim.code).toBe(2)
    expect(sim.err).toContain(`--release: 无法读取 ${manifest}，文件不存在 / cannot read ${manifest}: the file does not exist`)
    for (const r of [release, sim]) expect(r.err).not.toMatch(/ENOENT|no such file or directory/)
  })

  it('no password at all says how to give one', async () => {
    const r = await cli(['status', '--username', 'hall-1-tech'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/没有密码.*\/ no password: give --password-file or set COUNTER_EDGE_PASSWORD/)
  })
})

describe('counter-edge on a wrong window, ticket or role', () => {
  it('a missing --counter says which window is meant; a counter id in capitals is pointed to its lower case', async () => {
    const none = await cli(['identify'])
    expect(none.code).toBe(2)
    expect(none.err).toMatch(/^counter-edge identify: 缺少 --counter：要识别的窗口，如 w05 \/ --counter is required: the window to identify, e.g. w05\n/)
    const upper = await cli(['identify', '--counter', 'W03'])
    expect(upper.code).toBe(2)
    expect(upper.err).toContain(`--counter "W03"：须为 1–32 个字符：a–z、0–9、'-'，不以 '-' 开头，是不是 "w03"？ / --counter "W03": expected 1–32 characters a–z, 0–9, '-', not starting with '-' (did you mean "w03"?)`)
  })

  it('announcer: a missing or mistyped action, a missing --dir and a --volume out of range are said in both languages, then where the options are', async () => {
    const cases: Array<[string[], string]> = [
      [['announcer'], '请给出操作：make-voice-pack 或 say / say what to do: make-voice-pack or say'],
      [['announcer', 'sya', '--dir', dir], '没有操作 "sya"，是不是 say？；可选 make-voice-pack、say / no action "sya" (did you mean say?); choose make-voice-pack or say'],
      [['announcer', 'say'], '缺少 --dir：语音包目录，如 /var/lib/counter-edge/voice / --dir is required: the voice pack directory, e.g. /var/lib/counter-edge/voice'],
      [['announcer', 'say', '--dir', dir, '--ticket', 'A012', '--window', '3', '--volume', '5'], '--volume 须为 0 到 2 的数，不是 "5" / --volume must be a number from 0 to 2, not "5"'],
      [['announcer', 'say', '--dir', dir, '--ticket', 'A012', '--window', '3', '--volume', 'loud'], '--volume 须为 0 到 2 的数，不是 "loud" / --volume must be a number from 0 to 2, not "loud"'],
      [['announcer', 'say', '--dir', dir, '--ticket', 'A012', '--window', '3', '--template', 'hello'], '--template：模板须包含 {ticket} / --template: the template must contain {ticket}'],
      [['announcer', 'say', '--dir', dir, '--ticket', 'A012', '--window', '3', '--template', '{ticket}{window}{room}'], '--template：模板中有未知的占位符 {room}；请用 {ticket} 和 {window} / --template: unknown placeholder {room} in the template; use {ticket} and {window}'],
    ]
    const results = await Promise.all(cases.map(([args]) => cli(args)))
    for (const [i, [, message]] of cases.entries()) {
      const r = results[i]!
      expect(r.code, r.err).toBe(2)
      expect(r.err).toBe(`counter-edge announcer: ${message}\n选项见 / for the options: counter-edge announcer --help\n`)
    }
  })

  it('hub, install, launch and status name what is missing or wrong in Chinese first, English beside it, with no stack', async () => {
    const creds = join(dir, 'no-such-credentials.json')
    const cases: Array<[string[], string]> = [
      [['hub'], '请给出 --config，或 --hall 和 --credentials / give --config, or --hall and --credentials'],
      [['hub', '--hall', 'hall-1', '--credentials', creds, '--port', 'abc'], '--port 须为端口号（0–65535），不是 "abc" / --port must be a port number (0–65535), not "abc"'],
      [['hub', '--hall', 'hall-1', '--credentials', creds, '--tls-port', '8883'], '--tls-port 需要 --tls-cert 和 --tls-key / --tls-port needs --tls-cert and --tls-key'],
      [['hub', '--hall', 'hall-1', '--credentials', creds, '--node', 'A B'], '--node 须为名称，如 "a" 或 "hub-2"，不是 "A B" / --node must be a name like "a" or "hub-2", not "A B"'],
      [['hub', '--hall', 'hall-1', '--credentials', creds, '--redis', 'http://redis'], '--redis 须为 redis:// 地址，不是 "http://redis" / --redis must be a redis:// URL, not "http://redis"'],
      [['install'], "缺少 --release：版本的 .release.json / --release is required: the release's .release.json"],
      [['status'], '缺少 --username：技术员或看板账号，如 hall-1-tech / --username is required (a technician or dashboard account), e.g. hall-1-tech'],
      [['launch', '--root', join(dir, 'no-board')], `${join(dir, 'no-board', 'current')} 不存在：这不是已安装的设备，请先用 counter-edge install 安装 / `],
    ]
    const results = await Promise.all(cases.map(([args]) => cli(args)))
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!
      expect(r.code, r.err).toBe(2)
      expect(r.err.split('\n')[0]).toContain(`counter-edge ${args[0]}: ${message}`)
      expect(r.err).not.toMatch(/\n\s+at /)
    }
  })

  it('a ticket in lower case is pointed to its capitals', async () => {
    const r = await cli(['announcer', 'say', '--dir', dir, '--ticket', 'a012', '--window', '3'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('--ticket "a012"：须为 1–8 个字符：A–Z、0–9，是不是 "A012"？ / --ticket "a012": expected 1–8 characters A–Z, 0–9 (did you mean "A012"?)')
  })

  it('provision names the role meant, and why --counter is needed', async () => {
    const creds = join(dir, 'role-credentials.json')
    const role = await cli(['provision', '--credentials', creds, '--hall', 'hall-1', '--role', 'technican'])
    expect(role.code).toBe(2)
    expect(role.err).toContain('--role 须为 board、bridge、dashboard、technician 之一，不是 "technican"，是不是 technician？ / --role must be one of board, bridge, dashboard, technician, not "technican" (did you mean technician?)')
    const counter = await cli(['provision', '--credentials', creds, '--hall', 'hall-1'])
    expect(counter.code).toBe(2)
    expect(counter.err).toContain('缺少 --counter：发放板卡须给出窗口编号，如 w05 / --counter is required for a board: the window, e.g. w05')
  })
})

describe('counter-edge provision on each mistyped argument', () => {
  it('says in both languages what is wrong with the credentials, a port, a username, a counter on a hall-wide role, or --revoke with --replace, and writes nothing', async () => {
    const file = join(dir, 'typo-credentials.json')
    const cases: Array<[string[], string]> = [
      [['--hall', 'hall-1', '--counter', 'w07'], '缺少 --credentials：集线器的凭据文件，如 /etc/counter-edge/credentials.json / --credentials is required: the hub credentials file'],
      [['--credentials', file, '--hall', 'hall-1', '--counter', 'w07', '--hub', 'mqtt://hub.lan:99999'], '--hub mqtt://hub.lan:99999：集线器地址 "mqtt://hub.lan:99999" 的端口 99999 超出范围（1–65535） / --hub mqtt://hub.lan:99999: broker address "mqtt://hub.lan:99999": port 99999 is out of range (1–65535)'],
      [['--credentials', file, '--hall', 'hall-1', '--counter', 'w07', '--username', 'Hall-1-W07'], '--username "Hall-1-W07"：须为 1–64 个字符：a–z、0–9、"."、"_"、"-"，以字母或数字开头，是不是 "hall-1-w07"？ / --username "Hall-1-W07": expected 1–64 characters a–z, 0–9, ".", "_", "-", starting with a letter or digit (did you mean "hall-1-w07"?)'],
      [['--credentials', file, '--hall', 'hall-1', '--role', 'technician', '--counter', 'w07'], '--counter 只用于板卡；technician 账号服务整个大厅，不属于某个窗口 / --counter is for boards only; a technician account serves the whole hall, not one window'],
      [['--credentials', file, '--hall', 'hall-1', '--counter', 'w07', '--revoke', '--replace'], '--revoke 与 --replace 不能同时使用：吊销还是发放新凭据？ / --revoke and --replace contradict each other'],
    ]
    for (const [args, said] of cases) {
      const r = await cli(['provision', ...args])
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2)
      expect(r.err).toContain(said)
      await expect(stat(file)).rejects.toThrow(/ENOENT/)
    }
  })
})

describe('counter-edge update on wrong input, before it asks the hub', () => {
  it('names a mistyped action and the one meant', async () => {
    const r = await cli(['update', 'uplaod', 'a.release.json', 'a.tar.gz'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^counter-edge update: 未知操作 "uplaod"，是不是 upload？ \/ unknown action "uplaod" \(did you mean upload\?\); the actions are: upload, start, status, cancel, list\n/)
  })

  it('checks --at-a-time and --confirm-within itself, naming the flag rather than the hub\'s JSON field', async () => {
    // Nothing listens on --http: the answer comes from the flag check alone.
    const r = await cli(['update', 'start', '--version', '1.2.3', '--all', '--at-a-time', '0', '--http', 'http://127.0.0.1:9', '--username', 'hall-1-tech'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('--at-a-time 须为 1 到 1000 的整数 / --at-a-time must be a whole number from 1 to 1000 (got 0)')
    expect(r.err).not.toContain('atATime')
    const c = await cli(['update', 'start', '--version', '1.2.3', '--all', '--confirm-within', '5', '--http', 'http://127.0.0.1:9', '--username', 'hall-1-tech'])
    expect(c.err).toContain('--confirm-within must be a whole number from 10 to 900 (got 5)')
  })

  it('checks each of --boards as a counter id, and upload\'s two files, before any login or hub', async () => {
    // Nothing listens on --http and no password is given: the answer comes from the checks alone.
    const at = ['--http', 'http://127.0.0.1:9', '--username', 'hall-1-tech']
    const cased = await cli(['update', 'start', '--version', '1.2.3', '--boards', 'w02,W01', ...at])
    expect(cased.code).toBe(2)
    expect(cased.err).toContain(`--boards "W01"：须为 1–32 个字符：a–z、0–9、'-'，不以 '-' 开头，是不是 "w01"？ / --boards "W01": expected 1–32 characters a–z, 0–9, '-', not starting with '-' (did you mean "w01"?)`)
    const none = await cli(['update', 'start', '--version', '1.2.3', '--boards', ',', ...at])
    expect(none.code).toBe(2)
    expect(none.err).toContain('--boards ","：没有窗口 id，如 w01,w02 / --boards ",": no counter ids, e.g. w01,w02')
    const upload = await cli(['update', 'upload', 'x.release.json', ...at])
    expect(upload.code).toBe(2)
    expect(upload.err).toContain('用法 / usage: counter-edge update upload <x.release.json> <x.tar.gz>')
  })

  it('upload with the wrong number of files names the one missing, or the extra ones', async () => {
    const at = ['--http', 'http://127.0.0.1:9', '--username', 'hall-1-tech']
    const noPayload = await cli(['update', 'upload', 'x.release.json', ...at])
    expect(noPayload.code).toBe(2)
    expect(noPayload.err).toContain('缺少载荷（x.tar.gz），只给了发布清单 x.release.json / the payload (x.tar.gz) is missing; only the release x.release.json was given')
    const noRelease = await cli(['update', 'upload', 'x.tar.gz', ...at])
    expect(noRelease.code).toBe(2)
    expect(noRelease.err).toContain('缺少签名的发布清单（x.release.json），只给了载荷 x.tar.gz / the signed release (x.release.json) is missing; only the payload x.tar.gz was given')
    const none = await cli(['update', 'upload', ...at])
    expect(none.err).toContain('both files are missing: the signed release (x.release.json) and its payload (x.tar.gz)')
    const three = await cli(['update', 'upload', 'x.release.json', 'x.tar.gz', 'y.tar.gz', ...at])
    expect(three.code).toBe(2)
    expect(three.err).toContain('文件太多：只要发布清单和载荷两个，多了 y.tar.gz / too many files: upload takes the release and its payload, not also y.tar.gz')
  })
})

describe('counter-edge release on wrong input', () => {
  it('names a missing --out or --key in both languages and builds nothing', async () => {
    const noOut = await cli(['release', 'build', '--key', join(dir, 'none.pem')])
    expect(noOut.code).toBe(2)
    expect(noOut.err).toContain('需要 --out（发布包或密钥写入的目录）/ --out is required: the folder the release (or the key pair) is written to')
    const out = join(dir, 'release-out')
    const noKey = await cli(['release', 'build', '--out', out])
    expect(noKey.code).toBe(2)
    expect(noKey.err).toContain('需要 --key（大厅发布私钥，由 counter-edge release keygen 生成）/ --key is required')
    await expect(stat(out)).rejects.toThrow(/ENOENT/)
  })
})

describe('counter-edge without a hub to ask', () => {
  it('a hub address where nothing listens is named as unreachable, exit 1', async () => {
    // A port that was just free: nothing listens there once the server is closed.
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as AddressInfo).port
    await new Promise<void>((r) => server.close(() => r()))
    const r = await cli(['status', '--hub', `mqtt://127.0.0.1:${port}`, '--hall', 'hall-1', '--username', 'hall-1-tech'], { COUNTER_EDGE_PASSWORD: 'x' })
    expect(r.code).toBe(1)
    expect(r.err).toContain(`无法连接集线器 mqtt://127.0.0.1:${port}（ECONNREFUSED）：它是否在运行、地址是否正确？/ cannot reach the hub at mqtt://127.0.0.1:${port} (ECONNREFUSED): is it running, and is --hub right?`)
  })
})

describe('counter-edge provision refuses what would not work', () => {
  const creds = () => join(dir, 'credentials.json')

  it('a credentials folder that does not exist is named, not a temp file', async () => {
    const path = join(dir, 'no-such-folder', 'credentials.json')
    const r = await cli(['provision', '--credentials', path, '--hall', 'hall-1', '--counter', 'w01'])
    expect(r.code).toBe(2)
    expect(r.err).toContain(`凭据文件所在的文件夹不存在 / the folder of --credentials ${path} does not exist: ${join(dir, 'no-such-folder')}`)
    expect(r.err).not.toMatch(/\.tmp|ENOENT/)
  })

  it('--hub with a scheme a board cannot dial', async () => {
    const r = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w01', '--hub', 'http://hub:1883'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('--hub http://hub:1883：集线器地址 "http://hub:1883" 须以 mqtt:// 或 mqtts:// 开头 / --hub http://hub:1883: broker address "http://hub:1883": scheme must be mqtt:// or mqtts://')
    await expect(stat(creds())).rejects.toThrow(/ENOENT/)
  })

  it('a board profile that does not exist, listing those that do', async () => {
    const r = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w01', '--board', 'rpi9-nonexistent'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--board：没有板型 "rpi9-nonexistent" \/ --board: no board profile "rpi9-nonexistent"\n现有板型 \/ the profiles are: .*rpi4-ht16k33.*sim-window/)
    await expect(stat(creds())).rejects.toThrow(/ENOENT/)
  })

  it('outputs-off with neither or both of --config and --profile says so Chinese first, then English', async () => {
    const line = '请给出 --config 或 --profile 之一（只给一个） / give exactly one of --config and --profile'
    const neither = await cli(['outputs-off'])
    expect(neither.code).toBe(2)
    expect(neither.err).toContain(line)
    const both = await cli(['outputs-off', '--config', join(dir, 'board.json'), '--profile', 'sim-window'])
    expect(both.code).toBe(2)
    expect(both.err).toContain(line)
  })

  it('a misspelled board profile gets the nearest id, from provision, edge and outputs-off alike', async () => {
    const suggestion = /没有板型 "rpi4-ht16k3"，是不是 "rpi4-ht16k33"？ \/ .*no board profile "rpi4-ht16k3" \(did you mean "rpi4-ht16k33"\?\)\n现有板型 \/ the profiles are: .*sim-window/
    const provision = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w01', '--board', 'rpi4-ht16k3'])
    expect(provision.code).toBe(2)
    expect(provision.err).toMatch(suggestion)
    const off = await cli(['outputs-off', '--profile', 'rpi4-ht16k3'])
    expect(off.code).toBe(2)
    expect(off.err).toMatch(suggestion)
    const config = join(dir, 'typo-board.json')
    await writeFile(config, JSON.stringify({ hall: 'hall-1', counter: 'w01', board: 'rpi4-ht16k3', hub: ['mqtt://127.0.0.1:1'], username: 'u', password: 'p' }))
    const edge = await cli(['edge', '--config', config])
    expect(edge.code).toBe(2)
    expect(edge.err).toContain(`${config}: board: no board profile "rpi4-ht16k3" (did you mean "rpi4-ht16k33"?)`)
    await expect(stat(creds())).rejects.toThrow(/ENOENT/)
  })

  it('writes the config to --out with mode 600, then refuses a --hall other than the file\'s', async () => {
    const out = join(dir, 'w01.json')
    const r = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w01', '--out', out])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toBe('')
    expect((await stat(out)).mode & 0o777).toBe(0o600)
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ hall: 'hall-1', counter: 'w01', username: 'hall-1-w01' })
    const again = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w02', '--out', out])
    expect(again.code).toBe(2)
    expect(again.err).toContain(`--out ${out} already exists; not overwriting`)
    const other = await cli(['provision', '--credentials', creds(), '--hall', 'hall-2', '--counter', 'w02'])
    expect(other.code).toBe(2)
    expect(other.err).toMatch(/--hall hall-2 与凭据文件的大厅 hall-1 不符 \/ --hall hall-2 differs from the hall of .* \(hall-1\): a hub serves one hall/)
  })

  it('revoking twice says it was already revoked; provisioning a revoked board says revoked', async () => {
    const first = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w01', '--revoke'])
    expect(first.code, first.err).toBe(0)
    expect(first.out).toMatch(/^已吊销 hall-1-w01：运行中的集线器在下次重新加载凭据时（一秒内）断开并拒绝它 \/ revoked hall-1-w01; a running hub drops and refuses it/)
    const second = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w01', '--revoke'])
    expect(second.code).toBe(0)
    expect(second.out).toMatch(/hall-1-w01 早已吊销，无需再做 \/ hall-1-w01 was already revoked; nothing changed/)
    const add = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w01'])
    expect(add.code).toBe(2)
    expect(add.err).toMatch(/"hall-1-w01" 在 .* 中已被吊销；加 --replace 发放新凭据 \/ "hall-1-w01" is in .* and REVOKED; pass --replace to issue new credentials/)
    expect(add.err).not.toMatch(/already in/)
    // --replace is the way back: new credentials, printed once.
    const back = await cli(['provision', '--credentials', creds(), '--hall', 'hall-1', '--counter', 'w01', '--replace'])
    expect(back.code, back.err).toBe(0)
    expect(JSON.parse(back.out)).toMatchObject({ counter: 'w01', username: 'hall-1-w01' })
  })
})

describe('counter-edge provision keeps one board per window', () => {
  it('refuses a second board account for a window that has one, naming it, and leaves the file as it was', async () => {
    const file = join(dir, 'one-board-per-window.json')
    const first = await cli(['provision', '--credentials', file, '--hall', 'hall-1', '--counter', 'w05', '--out', join(dir, 'w05-first.json')])
    expect(first.code, first.err).toBe(0)
    const before = await readFile(file, 'utf8')
    const second = await cli(['provision', '--credentials', file, '--hall', 'hall-1', '--counter', 'w05', '--username', 'hall-1-w05-spare'])
    expect(second.code).toBe(2)
    expect(second.err).toContain('窗口 w05 已有板卡账号 "hall-1-w05"：一个窗口只能有一块板卡')
    expect(second.err).toContain('window w05 already has a board account, "hall-1-w05": a window has one board; to swap its board pass --replace --username hall-1-w05')
    expect(second.out).toBe('')
    // --replace under another name is no swap either: it would add a second board, not replace the first.
    const sideways = await cli(['provision', '--credentials', file, '--hall', 'hall-1', '--counter', 'w05', '--username', 'hall-1-w05-spare', '--replace'])
    expect(sideways.code).toBe(2)
    expect(await readFile(file, 'utf8')).toBe(before)
    // The swap as the docs give it, and a window given up and provisioned again under another name, still work.
    const swap = await cli(['provision', '--credentials', file, '--hall', 'hall-1', '--counter', 'w05', '--replace'])
    expect(swap.code, swap.err).toBe(0)
    expect((await cli(['provision', '--credentials', file, '--hall', 'hall-1', '--counter', 'w05', '--revoke'])).code).toBe(0)
    const renamed = await cli(['provision', '--credentials', file, '--hall', 'hall-1', '--counter', 'w05', '--username', 'hall-1-w05-spare'])
    expect(renamed.code, renamed.err).toBe(0)
  })
})

describe('counter-edge tells how to keep a board password private', () => {
  it('no README, guide or banner line sends provision output into a file with a shell redirect (created 0644); they use --out', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const files = ['README.md', ...(await readdir(join(root, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => join('docs', f)), 'cli/sim-command.ts']
    const redirects: string[] = []
    let outAdvice = 0
    for (const f of files) {
      for (const line of (await readFile(join(root, f), 'utf8')).split('\n')) {
        if (!/counter-edge provision\b/.test(line)) continue
        if (/(^|[^2&=-])>\s*\S/.test(line.replace(/<[^>]*>/g, ''))) redirects.push(`${f}: ${line.trim()}`)
        if (/--out \S+\.json/.test(line)) outAdvice++
      }
    }
    expect(redirects).toEqual([])
    expect(outAdvice).toBeGreaterThanOrEqual(3)
  })
})

describe('counter-edge status documents its exit code', () => {
  it('--help says 0, 1 and 2 and when, in Chinese and English', async () => {
    const r = await cli(['status', '--help'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('退出码 0：全部在线且无故障（集群健康）；1：有窗口离线或有故障、没有窗口报到、集群需要查看或连不上集线器；2：用法错误')
    expect(r.out).toContain('Exit code 0: every window online without a fault (and the cluster healthy); 1: a window is offline or has a fault, none has reported, the cluster needs a look, or the hub could not be asked; 2: wrong usage')
    const main = await cli(['--help'])
    // The main help: the Chinese on the command's line, the English under it.
    expect(main.out).toMatch(/\n  status\s+每个窗口一行.*有窗口需要查看时退出码为 1\n\s+one line per window.*exit code 1 when any window needs a look\n/)
  })
})

describe('counter-edge sim on wrong flags, before anything starts', () => {
  it('names the flag and the value, in Chinese and English, exit 2', async () => {
    const cases: Array<[string[], string]> = [
      [['--windows', '0'], '--windows 须为 1 到 200 的整数，不是 "0" / --windows must be a whole number from 1 to 200, not "0"'],
      [['--speed', 'fast'], '--speed 须为大于 0、不超过 1000 的数，不是 "fast" / --speed must be a number above 0 and at most 1000, not "fast"'],
      [['--hub-port', '70000'], '--hub-port 须为端口号（0 表示任选空闲端口），不是 "70000" / --hub-port must be a port number (0 picks a free one), not "70000"'],
      [['--log-level', 'loud'], '--log-level 须为 fatal、error、warn、info、debug、trace、silent 之一，不是 "loud" / --log-level must be one of fatal, error, warn, info, debug, trace, silent, not "loud"'],
      [['--upstream', 'http://central:1883'], '--upstream 须为 mqtt:// 或 mqtts:// 地址，如 mqtt://central:1883，不是 "http://central:1883" / --upstream must be an mqtt:// or mqtts:// URL'],
      [['--upstream-username', 'u'], '--upstream-username 须与 --upstream 同用 / --upstream-username goes with --upstream'],
    ]
    const results = await Promise.all(cases.map(([args]) => cli(['sim', ...args])))
    for (const [i, [, message]] of cases.entries()) {
      const r = results[i]!
      expect(r.code, r.err).toBe(2)
      expect(r.err).toContain(message)
      expect(r.out).not.toMatch(/starting a simulated hall/)
    }
  })

  it('a mistyped --board or --screen-board gets the nearest profile id and the list, as provision does', async () => {
    const board = await cli(['sim', '--board', 'rpi4-ht16k3'])
    expect(board.code).toBe(2)
    expect(board.err).toMatch(/--board：没有板型 "rpi4-ht16k3"，是不是 "rpi4-ht16k33"？ \/ --board: no board profile "rpi4-ht16k3" \(did you mean "rpi4-ht16k33"\?\)\n现有板型 \/ the profiles are: .*sim-window/)
    expect(board.out).not.toMatch(/starting a simulated hall/)
    const screen = await cli(['sim', '--screen-board', 'sim-window-matrx'])
    expect(screen.code).toBe(2)
    expect(screen.err).toMatch(/--screen-board：没有板型 "sim-window-matrx"，是不是 "sim-window-matrix"？/)
  })

  it('a port another process holds is named in Chinese and English', async () => {
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (taken.address() as AddressInfo).port
      // The central stand-in binds first: the hall stops there, before the hub or any window starts.
      const r = await cli(['sim', '--windows', '1', '--no-announcer', '--central-port', String(port), '--hub-port', '0', '--control-port', '0', '--dashboard-port', '0'])
      expect(r.code).toBe(1)
      expect(r.err).toContain('端口已被占用（')
      expect(r.err).toMatch(/，请用 --hub-port、--central-port、--control-port、--dashboard-port 另选 \/ a port is already in use \(.*\); pick others with --hub-port/)
    } finally {
      await new Promise<void>((r) => taken.close(() => r()))
    }
  })
})

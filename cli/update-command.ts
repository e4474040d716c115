import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { readPassword } from './hall-connection.ts'
import { UsageError, type Subcommand } from './subcommand.ts'
import { ROLLOUT_LIMITS, type RolloutStatus } from '../hub/fleet/rollout-status.ts'
import { didYouMean } from '../edge/shared/nearest-name.ts'
import { idSchema } from '../edge/protocol/index.ts'
import { checkedFlag } from './flag-value.ts'
import { COMMAND_SUMMARIES } from './command-summaries.ts'
import { readFailureEn, readFailureZh } from '../edge/shared/read-failure.ts'

const ACTIONS = ['upload', 'start', 'status', 'cancel', 'list'] as const

/**
 * Fleet updates through the hub's HTTP API (hub/fleet/release-routes.ts;
 * docs/operations.md, "Updating a hall"). Exit codes: 0 done as asked; 1 the
 * hub refused, could not be reached, or (status, start --wait) the rollout
 * halted; 2 wrong usage.
 */
export const updateCommand: Subcommand = {
  name: 'update',
  summary: COMMAND_SUMMARIES.update,
  usage: [
    'COUNTER_EDGE_PASSWORD=… counter-edge update upload counter-edge-1.2.3.release.json counter-edge-1.2.3.tar.gz --http http://hub:8081 --username hall-1-tech',
    '       counter-edge update start --version 1.2.3 (--boards w01,w02 | --all) [--at-a-time 5] [--wait] --http … --username …',
    '       counter-edge update status | cancel | list --http http://hub:8081 [--username …]',
  ].join('\n'),
  options: {
    http: { type: 'string', default: 'http://127.0.0.1:8081', description: "集线器的 HTTP 地址（其看板） / the hub's HTTP address (its dashboard)" },
    username: { type: 'string', description: '大厅的技术员账号（上传、开始、取消） / a technician account of the hall (upload, start, cancel)' },
    'password-file': { type: 'string', description: '存放密码的文件；或设置环境变量 COUNTER_EDGE_PASSWORD / file holding the password; or set COUNTER_EDGE_PASSWORD' },
    version: { type: 'string', description: 'start：要推送的版本 / start: the release to roll out' },
    boards: { type: 'string', description: 'start：要升级的设备，以逗号分隔的窗口 id（w01,w02） / start: the boards, comma-separated counter ids (w01,w02)' },
    all: { type: 'boolean', default: false, description: 'start：大厅的所有设备 / start: every board of the hall' },
    'at-a-time': { type: 'string', default: '5', description: 'start：同时升级的设备数（相邻窗口从不同时升级） / start: boards updated at once (never two neighbouring windows)' },
    'confirm-within': { type: 'string', default: '120', description: 'start：设备在新版本上须在多少秒内正常上线，否则回滚 / start: seconds a board has to come up healthy on the new version before it rolls back' },
    wait: { type: 'boolean', default: false, description: 'start：跟踪升级直到结束；除非每个设备都已确认，否则退出码为 1 / start: follow the rollout until it ends; exit 1 unless every board confirmed' },
    json: { type: 'boolean', default: false, description: '打印集线器的 JSON 应答 / print the hub\'s JSON answer' },
  },
  async run(v, positionals) {
    const [action, ...files] = positionals
    if (!action) throw new UsageError(`请给出操作 / give an action: ${ACTIONS.join(', ')}`)
    if (!(ACTIONS as readonly string[]).includes(action)) {
      const hint = didYouMean(action, ACTIONS)
      throw new UsageError(`未知操作 "${action}"${hint.zh} / unknown action "${action}"${hint.en}; the actions are: ${ACTIONS.join(', ')}`)
    }
    const base = (v.http as string).replace(/\/+$/, '')
    if (!/^https?:\/\//.test(base)) throw new UsageError(`--http 须为 http:// 或 https:// 地址 / --http must be an http:// or https:// URL (got ${base})`)
    const hub = new HubApi(base)
    if (action === 'status') return printStatus(await hub.get('/api/rollout'), Boolean(v.json))
    if (action === 'list') {
      const r = (await hub.get('/api/releases')) as { releases: Array<{ version: string; complete: boolean; payload: { size: number }; key: string | null }> }
      if (v.json) return console.log(JSON.stringify(r, null, 2)), 0
      if (r.releases.length === 0) console.log('集线器上没有发布包 / no releases on the hub')
      for (const x of r.releases) console.log(`${x.version.padEnd(16)} ${x.complete ? '完整 complete  ' : '缺少载荷 no payload'} ${x.payload.size} bytes  key ${x.key ?? '-'}`)
      return 0
    }
    // Wrong flags are told before the password is asked for or the hub is reached.
    const rollout = action === 'start' ? rolloutFlags(v) : null
    if (action === 'upload' && files.length !== 2) throw new UsageError(`${uploadFilesWrong(files)}\n用法 / usage: counter-edge update upload <x.release.json> <x.tar.gz>`)
    if (!v.username) throw new UsageError('需要 --username（大厅技术员账号）/ --username is required (a technician account of the hall)')
    await hub.login(v.username as string, await readPassword(v))
    if (action === 'upload') {
      const [manifestFile, payloadFile] = files as [string, string]
      const text = await readFile(manifestFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`无法读取 ${manifestFile}，${readFailureZh(e.code)} / cannot read ${manifestFile}: ${readFailureEn(e)}`)
      })
      const size = (await stat(payloadFile).catch(() => null))?.size
      if (size === undefined) throw new UsageError(`无法读取 ${payloadFile}，文件不存在 / cannot read ${payloadFile}: the file does not exist`)
      const version = versionOf(text, manifestFile)
      await hub.send('PUT', `/api/releases/${encodeURIComponent(version)}/manifest`, text, 'application/json')
      console.log(`签名清单已通过 / signed manifest accepted: ${version}`)
      const r = (await hub.upload(`/api/releases/${encodeURIComponent(version)}/payload`, payloadFile, size)) as { payload: { sha256: string } }
      console.log(`发布包已上传并校验 / release ${version} uploaded and checked (${size} bytes, SHA-256 ${r.payload.sha256})`)
      return 0
    }
    if (action === 'start') {
      const { atATime, confirmWithinS, boards } = rollout!
      const started = (await hub.send('POST', '/api/rollout', JSON.stringify({ version: v.version, ...(boards ? { boards } : { all: true }), atATime, confirmWithinS }), 'application/json')) as RolloutStatus
      console.log(`升级已开始 / rollout of ${started.version} started: ${started.boards.length} boards, ${atATime} at a time`)
      if (!v.wait) return printStatus(started, Boolean(v.json))
      // The hub keeps the rollout across its own restart (hub/fleet/rollout-file.ts): while it cannot be reached the
      // rollout goes on, so waiting goes on too, said once per outage; Ctrl-C stops waiting, not the rollout.
      let unreachable = false
      for (;;) {
        let s: RolloutStatus | null = null
        try {
          s = (await hub.get('/api/rollout')) as RolloutStatus
        } catch (err) {
          if (!(err instanceof HubUnreachable)) throw err
          if (!unreachable) console.error(`${err.message}; 升级在集线器上继续，仍在等待 / the rollout goes on at the hub: still waiting (Ctrl-C stops waiting, not the rollout)`)
          unreachable = true
        }
        if (s) {
          if (unreachable) console.error('集线器已恢复 / the hub answers again')
          unreachable = false
          if (s.state !== 'running') return printStatus(s, Boolean(v.json))
        }
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
    const cancelled = (await hub.send('POST', '/api/rollout/cancel', '{}', 'application/json')) as RolloutStatus
    console.log('升级已取消；已收到命令的窗口会完成各自的升级 / rollout cancelled; boards already sent the command finish their own update')
    return printStatus(cancelled, Boolean(v.json))
  },
}

const STATE_WORDS: Record<string, string> = { none: '无 none', running: '进行中 running', done: '完成 done', halted: '已中止 halted', cancelled: '已取消 cancelled' }
const BOARD_WORDS: Record<string, string> = { pending: '等待 pending', sent: '升级中 updating', confirmed: '已确认 confirmed', failed: '失败 failed', 'rolled-back': '已回退 rolled back', skipped: '跳过 skipped' }

/** The rollout, one line per board; exit 1 when it halted. */
function printStatus(s: unknown, json: boolean): number {
  const r = s as RolloutStatus
  if (json) console.log(JSON.stringify(r, null, 2))
  else {
    console.log(`升级 / rollout: ${STATE_WORDS[r.state] ?? r.state}${r.version ? `  版本 version ${r.version}` : ''}${r.waves ? `  批次 waves ${r.waves}` : ''}`)
    if (r.halted) console.log(`中止于 ${r.halted.counter} / halted at ${r.halted.counter}: ${r.halted.reason}`)
    for (const b of r.boards) console.log(`  ${b.counter.padEnd(8)} ${(BOARD_WORDS[b.state] ?? b.state).padEnd(22)} ${(b.running ?? '-').padEnd(12)} ${b.reason ?? ''}`.trimEnd())
  }
  return r.state === 'halted' ? 1 : 0
}

function versionOf(text: string, file: string): string {
  try {
    const signed = JSON.parse(text) as { manifest?: unknown }
    const m = JSON.parse(Buffer.from(String(signed.manifest), 'base64').toString('utf8')) as { version?: unknown }
    if (typeof m.version === 'string') return m.version
  } catch {
    // fall through to the one message
  }
  throw new UsageError(`${file} 不是签名清单 / ${file} is not a signed release manifest (.release.json)`)
}

function rolloutFlags(v: Record<string, string | boolean | undefined>): { atATime: number; confirmWithinS: number; boards: string[] | undefined } {
  if (!v.version) throw new UsageError('需要 --version / --version is required')
  if (Boolean(v.all) === Boolean(v.boards)) throw new UsageError('请用 --boards w01,w02 或 --all（二选一）/ choose boards with --boards w01,w02 or --all (one of the two)')
  return {
    atATime: wholeNumber(v['at-a-time'] as string, 'at-a-time', ROLLOUT_LIMITS.atATime),
    confirmWithinS: wholeNumber(v['confirm-within'] as string, 'confirm-within', ROLLOUT_LIMITS.confirmWithinS),
    boards: v.all ? undefined : boardList(v.boards as string),
  }
}

/** `--boards w01,w02`: each a counter id, as the hub would take it ("W01" is pointed to w01), before any login. */
function boardList(text: string): string[] {
  const boards = text.split(',').map((b) => b.trim()).filter(Boolean)
  if (boards.length === 0) throw new UsageError(`--boards "${text}"：没有窗口 id，如 w01,w02 / --boards "${text}": no counter ids, e.g. w01,w02`)
  return boards.map((b) => checkedFlag(idSchema, b, '--boards', { zh: '', en: '' }))
}

/** Checked here, so the message names the flag; the hub's own refusal would name its JSON field. */
function wholeNumber(text: string, flag: string, range: { min: number; max: number }): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < range.min || n > range.max) {
    throw new UsageError(`--${flag} 须为 ${range.min} 到 ${range.max} 的整数 / --${flag} must be a whole number from ${range.min} to ${range.max} (got ${text})`)
  }
  return n
}

/** No answer at all from the hub (refused, reset, down): it may be restarting. */
class HubUnreachable extends Error {
  override readonly name = 'HubUnreachable'
}

/** The hub's HTTP API with a technician's session cookie; a refusal becomes an error carrying the hub's own words. */
class HubApi {
  private cookie = ''

  constructor(private readonly base: string) {}

  async login(username: string, password: string): Promise<void> {
    await this.send('POST', '/api/login', JSON.stringify({ username, password }), 'application/json')
  }

  get(path: string): Promise<unknown> {
    return this.send('GET', path, null, null)
  }

  async send(method: string, path: string, body: string | null, type: string | null): Promise<unknown> {
    let res: Response
    try {
      res = await fetch(`${this.base}${path}`, { method, headers: { ...(type ? { 'content-type': type } : {}), ...(this.cookie ? { cookie: this.cookie } : {}) }, ...(body !== null ? { body } : {}) })
    } catch (err) {
      throw new HubUnreachable(`无法连接集线器 / cannot reach the hub at ${this.base}: ${((err as Error & { cause?: Error }).cause ?? (err as Error)).message}`)
    }
    const cookie = /ce_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0]
    if (cookie) this.cookie = cookie
    return answer(res.status, await res.text(), `${method} ${path}`)
  }

  /** Streams a file as the request body: a release can be larger than is comfortable to hold in memory. */
  upload(path: string, file: string, size: number): Promise<unknown> {
    const url = new URL(`${this.base}${path}`)
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'PUT', headers: { 'content-type': 'application/gzip', 'content-length': String(size), cookie: this.cookie } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          try {
            resolve(answer(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), `PUT ${path}`))
          } catch (err) {
            reject(err)
          }
        })
      })
      req.on('socket', (s) => s.setNoDelay(true))
      req.on('error', (err) => reject(new Error(`上传失败 / upload to ${this.base} failed: ${err.message}`)))
      createReadStream(file).pipe(req)
    })
  }
}

function answer(status: number, text: string, what: string): unknown {
  let body: { error?: string } & Record<string, unknown>
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    body = { error: text.slice(0, 200) }
  }
  if (status >= 200 && status < 300) return body
  throw new Error(`集线器拒绝 / the hub refused ${what} (HTTP ${status}): ${body.error ?? text.slice(0, 200)}`)
}

/** What is wrong with upload's file list other than two files: which one is missing, or which are extra. */
function uploadFilesWrong(files: string[]): string {
  if (files.length === 0) return '缺少两个文件：签名的发布清单（x.release.json）和载荷（x.tar.gz） / both files are missing: the signed release (x.release.json) and its payload (x.tar.gz)'
  if (files.length === 1) {
    return files[0]!.endsWith('.tar.gz')
      ? `缺少签名的发布清单（x.release.json），只给了载荷 ${files[0]} / the signed release (x.release.json) is missing; only the payload ${files[0]} was given`
      : `缺少载荷（x.tar.gz），只给了发布清单 ${files[0]} / the payload (x.tar.gz) is missing; only the release ${files[0]} was given`
  }
  const extra = files.slice(2).join(' ')
  return `文件太多：只要发布清单和载荷两个，多了 ${extra} / too many files: upload takes the release and its payload, not also ${extra}`
}

import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { normalizeAddress } from '../address-guards.ts'
import type { Logger } from '../../edge/shared/logger.ts'
import { HttpError, isJsonContentType, readJsonBody } from '../http/json-body.ts'
import type { LoginLimiter } from '../login-limiter.ts'
import type { HubCounters } from '../hub-counters.ts'
import { ReleaseRefusal, type ReleaseStore, type StoredRelease } from './release-store.ts'
import { ROLLOUT_LIMITS, RolloutRefusal, type RolloutRequest, type RolloutStatus } from './rollout-status.ts'

/** What the routes need of the rollout controller (hub/fleet/rollout.ts). */
export interface RolloutControl {
  begin(request: RolloutRequest): RolloutStatus
  status(): RolloutStatus
  cancel(): RolloutStatus
  resultCounts(): Readonly<Record<'confirmed' | 'rolled-back' | 'failed', number>>
}

export interface FleetRoutesOptions {
  hall: string
  store: ReleaseStore
  rollout: RolloutControl | null
  /** The hub's one login limiter: a board's download login costs and is limited like its MQTT login. */
  logins: LoginLimiter
  counters: HubCounters
  log: Logger
}

const MANIFEST_MAX_BYTES = 64 * 1024
const REFUSED_BOARD = '用户名或密码错误 / wrong username or password (a board of this hall downloads with its own MQTT username and password)'

/**
 * The hub's HTTP side of fleet updates (docs/operations.md, "Updating a hall"):
 *
 * - `GET /api/releases`, `GET /api/rollout`: open, as the dashboard is;
 * - `PUT /api/releases/<v>/manifest` (the .release.json, JSON), `PUT /api/releases/<v>/payload`
 *   (the .tar.gz, raw bytes), `DELETE /api/releases/<v>`, `POST /api/rollout`, `POST /api/rollout/cancel`:
 *   a technician's dashboard login;
 * - `GET /releases/<v>/<file>`: for boards, HTTP Basic with the board's own MQTT username and password.
 *
 * The manifest and the payload go in two requests so the payload can be streamed
 * to disk and checked against a manifest whose signature was already checked.
 */
export class FleetRoutes {
  constructor(private readonly opts: FleetRoutesOptions) {}

  /** The rollout behind these routes, for /metrics (hub/fleet/fleet-metrics.ts); null without one. */
  get rolloutControl(): RolloutControl | null {
    return this.opts.rollout
  }

  serves(path: string): boolean {
    return path === '/api/releases' || path.startsWith('/api/releases/') || path === '/api/rollout' || path.startsWith('/api/rollout/') || path.startsWith('/releases/')
  }

  /** `technician`: the dashboard session's username, or null when the request has none. */
  async respond(req: IncomingMessage, res: ServerResponse, path: string, technician: string | null): Promise<void> {
    const method = req.method ?? 'GET'
    try {
      await this.route(req, res, method, path, technician)
    } catch (err) {
      if (err instanceof ReleaseRefusal) throw new HttpError(STATUS[err.kind], err.message)
      if (err instanceof RolloutRefusal) throw new HttpError(err.status, err.message)
      throw err
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, method: string, path: string, technician: string | null): Promise<void> {
    const { store } = this.opts
    const download = /^\/releases\/([^/]+)\/([^/]+)$/.exec(path)
    if (download) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'boards may only download')
      return this.download(req, res, decodeURIComponent(download[1]!), decodeURIComponent(download[2]!))
    }
    if (method === 'GET' && path === '/api/releases') return json(res, 200, { releases: store.list().map(view) })
    if (method === 'GET' && path === '/api/rollout') return json(res, 200, this.rollout().status())
    const release = /^\/api\/releases\/([^/]+)(?:\/(manifest|payload))?$/.exec(path)
    const known = release || path === '/api/rollout' || path === '/api/rollout/cancel'
    if (!known) throw new HttpError(404, `no ${method} ${path}`)
    if (!technician) throw new HttpError(401, '请先以技术员身份登录 / log in as a technician first (POST /api/login)')
    if (release) {
      const version = decodeURIComponent(release[1]!)
      const part = release[2]
      if (method === 'PUT' && part === 'manifest') {
        if (!isJsonContentType(req)) throw new HttpError(415, '签名清单须以 Content-Type: application/json 上传 / upload the .release.json with Content-Type: application/json')
        const text = await readText(req, MANIFEST_MAX_BYTES)
        const r = await store.addManifest(version, text)
        this.opts.log.info({ username: technician, version, created: r.created }, 'release manifest uploaded')
        return json(res, r.created ? 201 : 200, view(r.release))
      }
      if (method === 'PUT' && part === 'payload') {
        const length = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : null
        const r = await store.addPayload(version, req, Number.isFinite(length) ? length : null).catch((err: unknown) => {
          // The rest of a refused body is read and dropped, so the client gets the answer rather than a reset.
          req.resume()
          throw err
        })
        this.opts.log.info({ username: technician, version }, 'release payload uploaded')
        return json(res, 201, view(r))
      }
      if (method === 'DELETE' && !part) {
        await store.remove(version)
        this.opts.log.info({ username: technician, version }, 'release deleted')
        return json(res, 200, { deleted: version })
      }
      throw new HttpError(405, `no ${method} ${path}: PUT …/manifest, PUT …/payload, DELETE /api/releases/<version>`)
    }
    if (method === 'POST' && path === '/api/rollout') {
      const body = await readJsonBody(req, 64 * 1024, { requireJsonType: true })
      const status = this.rollout().begin(parseRequest(body))
      this.opts.log.info({ username: technician, version: status.version, boards: status.boards.length }, 'rollout started')
      return json(res, 201, status)
    }
    if (method === 'POST' && path === '/api/rollout/cancel') {
      this.opts.log.info({ username: technician }, 'rollout cancelled')
      return json(res, 200, this.rollout().cancel())
    }
    throw new HttpError(405, `no ${method} ${path}`)
  }

  private rollout(): RolloutControl {
    if (!this.opts.rollout) throw new HttpError(503, '集线器没有升级控制 / this hub runs no rollouts (no releases section in its config)')
    return this.opts.rollout
  }

  private async download(req: IncomingMessage, res: ServerResponse, version: string, name: string): Promise<void> {
    const who = basicCredentials(req)
    const address = normalizeAddress(req.socket.remoteAddress)
    const r = await this.opts.logins.login({
      address,
      username: who?.username,
      password: who?.password,
      screen: (p) => (p.role !== 'board' || p.hall !== this.opts.hall ? 'not-a-board-of-this-hall' : null),
    })
    if (!r.ok) {
      this.opts.counters.authFailures++
      this.opts.log.warn({ username: who?.username ?? null, address, refusal: r.kind }, 'release download refused')
      res.setHeader('www-authenticate', 'Basic realm="counter-edge releases", charset="UTF-8"')
      if (r.kind === 'bad-credentials') throw new HttpError(401, REFUSED_BOARD)
      res.setHeader('retry-after', '1')
      throw new HttpError(429, '登录尝试过多，请稍后再试 / too many login attempts; try again later')
    }
    r.settle('succeeded')
    const file = this.opts.store.file(version, name)
    if (!file) throw new HttpError(404, `没有此文件 / no file ${name} of a complete release ${version} on this hub`)
    const total = file.size >= 0 ? file.size : (await stat(file.path)).size
    const range = parseRange(req.headers.range, total)
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${total}` })
      return void res.end()
    }
    const headers: Record<string, string> = { 'content-type': name.endsWith('.json') ? 'application/json' : 'application/gzip', 'accept-ranges': 'bytes', 'cache-control': 'no-store' }
    const [start, end] = range ?? [0, total - 1]
    headers['content-length'] = String(end - start + 1)
    if (range) headers['content-range'] = `bytes ${start}-${end}/${total}`
    res.writeHead(range ? 206 : 200, headers)
    if (req.method === 'HEAD') return void res.end()
    this.opts.log.info({ username: r.principal.username, version, file: name, start, end }, 'board downloads a release')
    await new Promise<void>((resolve) => {
      const s = createReadStream(file.path, { start, end })
      s.on('error', (err) => {
        this.opts.log.error({ version, file: name, err: err.message }, 'release file could not be read')
        res.destroy()
        resolve()
      })
      res.on('close', () => {
        s.destroy()
        resolve()
      })
      s.pipe(res)
    })
  }
}

const STATUS: Record<ReleaseRefusal['kind'], number> = { 'bad-release': 400, 'not-found': 404, 'in-use': 409, busy: 409, 'no-store': 503 }

function view(r: StoredRelease) {
  return { version: r.version, complete: r.complete, uploaded: r.uploaded, payload: r.manifest.payload, node: r.manifest.node, native: r.manifest.native, created: r.manifest.created, commit: r.manifest.commit ?? null, key: r.signed.key ?? null }
}

function parseRequest(body: Record<string, unknown>): RolloutRequest {
  const version = body.version
  if (typeof version !== 'string') throw new HttpError(400, '缺少版本 / "version" is required, e.g. {"version": "1.2.3", "all": true}')
  const boards = body.boards
  const all = body.all === true
  if (all && boards !== undefined) throw new HttpError(400, '"boards" 与 "all" 只能选一 / "boards" and "all" exclude each other')
  if (!all && (!Array.isArray(boards) || boards.length === 0 || !boards.every((b) => typeof b === 'string'))) {
    throw new HttpError(400, '请选择窗口 / choose boards: "boards": ["w01", "w02"] or "all": true')
  }
  const atATime = body.atATime ?? 5
  const a = ROLLOUT_LIMITS.atATime
  if (typeof atATime !== 'number' || !Number.isInteger(atATime) || atATime < a.min || atATime > a.max) throw new HttpError(400, `每批窗口数须为 ${a.min} 到 ${a.max} 的整数 / "atATime" must be a whole number from ${a.min} to ${a.max} (got ${String(JSON.stringify(atATime)).slice(0, 40)})`)
  const confirmWithinS = body.confirmWithinS ?? 120
  const c = ROLLOUT_LIMITS.confirmWithinS
  if (typeof confirmWithinS !== 'number' || !Number.isInteger(confirmWithinS) || confirmWithinS < c.min || confirmWithinS > c.max) throw new HttpError(400, `确认时限须为 ${c.min} 到 ${c.max} 秒的整数 / "confirmWithinS" must be a whole number of seconds from ${c.min} to ${c.max} (got ${String(JSON.stringify(confirmWithinS)).slice(0, 40)})`)
  return { version, boards: all ? 'all' : (boards as string[]), atATime, confirmWithinS }
}

function basicCredentials(req: IncomingMessage): { username: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '')
  if (!m) return null
  const text = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon < 0) return null
  return { username: text.slice(0, colon), password: text.slice(colon + 1) }
}

/** One byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`); several ranges or a malformed header get the whole file, as RFC 9110 allows. */
function parseRange(header: string | undefined, total: number): [number, number] | null | 'unsatisfiable' {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null
  if (!m || (m[1] === '' && m[2] === '')) return null
  let start: number
  let end: number
  if (m[1] === '') {
    start = Math.max(0, total - Number(m[2]))
    end = total - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? total - 1 : Math.min(Number(m[2]), total - 1)
  }
  if (start >= total || start > end) return 'unsatisfiable'
  return [start, end]
}

async function readText(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > maxBytes) throw new HttpError(413, `签名清单过大 / the signed manifest is larger than ${maxBytes} bytes`)
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

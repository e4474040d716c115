import { rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Logger } from '../edge/shared/logger.ts'
import type { SimWindow } from './sim-window.ts'
import { HttpError, readJsonBody } from '../hub/http/json-body.ts'
import { listenOn } from '../hub/http/listen.ts'
import { encodePng } from './png.ts'
import type { RemoteWindows } from './remote-windows.ts'

export interface ControlApiOptions {
  host: string
  port: number
  /** Listen on this unix socket instead of host:port (a board process's API, `counter-edge edge --control /path.sock`). */
  socketPath?: string
  hall: string
  windows: Map<string, SimWindow>
  /** Windows running in processes of their own: /api/windows/{counter}/… is forwarded to the API each serves. */
  remote?: RemoteWindows
  info: () => Record<string, unknown>
  /** Absent where no central stand-in counts them (a board's own API, a hall on the integrator's broker); bounded by its owner (sim/central-ratings.ts). */
  ratings?: () => readonly unknown[]
  log: Logger
}

const FAULTS = ['absent', 'nack-once', 'eio', 'none'] as const
const CAPTURE_FAULTS = ['never', 'stuck', 'early', 'bounce', 'none'] as const
const MODBUS_FAULTS = ['unplugged', 'bad-crc', 'none'] as const

/**
 * The simulated hall's control API (HTTP JSON): what a person at a window would
 * see and do, for tests and for central-system integrators without hardware.
 */
export class ControlApi {
  private server: Server | null = null
  port = 0

  constructor(private readonly opts: ControlApiOptions) {}

  get url(): string {
    return this.opts.socketPath ? `http://localhost (unix socket ${this.opts.socketPath})` : `http://${this.opts.host}:${this.port}`
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: Error) => {
        const status = err instanceof HttpError ? err.status : 500
        if (status === 500) this.opts.log.error({ err: err.message }, 'control API error')
        send(res, status, { error: err.message })
      })
    })
    server.on('connection', (s) => s.setNoDelay(true))
    this.server = server
    if (this.opts.socketPath) {
      // A socket file left by a process that was killed would refuse the bind.
      await rm(this.opts.socketPath, { force: true })
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.opts.socketPath, () => {
          server.off('error', reject)
          resolve()
        })
      })
      return
    }
    this.port = await listenOn(server, this.opts.port, this.opts.host)
  }

  private window(counter: string): SimWindow {
    const w = this.opts.windows.get(counter)
    const all = [...this.opts.windows.keys(), ...(this.opts.remote?.counters() ?? [])]
    if (!w) throw new HttpError(404, `大厅 ${this.opts.hall} 没有窗口 "${counter}"，现有：${all.join('、')} / no window "${counter}" in hall ${this.opts.hall}; windows: ${all.join(', ')}`)
    return w
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const parts = url.pathname.split('/').filter(Boolean)
    const method = req.method ?? 'GET'
    if (parts[0] !== 'api') throw new HttpError(404, `没有路径 ${url.pathname}，接口都在 /api 之下（GET /api 列出）/ unknown path ${url.pathname}; the API lives under /api (GET /api for the list)`)
    const allow = allowedMethods(parts)
    if (allow && !allow.includes(method)) {
      res.setHeader('allow', allow.join(', '))
      throw new HttpError(405, `${url.pathname} 只接受 ${allow.join('、')}，不接受 ${method}（GET /api 列出接口）/ ${url.pathname} takes ${allow.join(' or ')}, not ${method}; GET /api lists the endpoints`)
    }
    if (parts.length === 1 && method === 'GET') return send(res, 200, { ...this.opts.info(), endpoints: ENDPOINTS })
    if (parts[1] === 'ratings' && parts.length === 2 && method === 'GET') {
      if (!this.opts.ratings) throw new HttpError(404, '这里没有中心替身统计评价，请在您的中心代理处统计 / no central stand-in here counts ratings: count them at your central broker')
      return send(res, 200, this.opts.ratings())
    }
    if (parts[1] !== 'windows') throw new HttpError(404, `没有路径 ${url.pathname}（GET /api 列出接口）/ unknown path ${url.pathname}; GET /api lists the endpoints`)
    const remote = this.opts.remote
    if (parts.length === 2 && method === 'GET') {
      const here = [...this.opts.windows.values()].map((w) => w.describe())
      return send(res, 200, remote ? [...here, ...(await remote.describeAll())] : here)
    }
    if (remote?.has(parts[2]!)) return remote.forward(parts[2]!, req, res)
    const w = this.window(parts[2]!)
    if (parts.length === 3 && method === 'GET') return send(res, 200, w.describe())
    if (parts.length === 4 && parts[3] === 'display' && method === 'GET') return send(res, 200, w.hardware.view())
    if (parts.length === 4 && (parts[3] === 'screen.png' || parts[3] === 'panel.png') && method === 'GET') {
      const frame = parts[3] === 'screen.png' ? w.hardware.screenPixels() : w.hardware.panel()?.pixels
      if (frame === undefined) {
        throw new HttpError(
          404,
          parts[3] === 'screen.png'
            ? `窗口 ${w.counter} 的显示屏（${w.hardware.profile.display.driver}）不是点阵屏，请用 GET /api/windows/${w.counter}/display 读取 / window ${w.counter}'s display (${w.hardware.profile.display.driver}) is not a pixel screen; GET /api/windows/${w.counter}/display reads it`
            : `窗口 ${w.counter} 没有工作人员面板 / window ${w.counter} has no officer panel`,
        )
      }
      const scale = url.searchParams.has('scale') ? Number(url.searchParams.get('scale')) : 4
      if (!Number.isInteger(scale) || scale < 1 || scale > 16) throw new HttpError(400, `scale 须为 1 到 16 的整数，不是 "${url.searchParams.get('scale')}" / scale must be a whole number from 1 to 16, not "${url.searchParams.get('scale')}"`)
      const png = encodePng(frame, { scale })
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length, 'cache-control': 'no-store' })
      res.end(png)
      return
    }
    if (parts.length === 6 && parts[3] === 'keys' && parts[5] === 'press' && method === 'POST') {
      const keys = w.keyNames()
      const key = keys.find((k) => k === parts[4])
      if (!key) throw new HttpError(400, `窗口 ${w.counter} 没有按键 "${parts[4]}"，现有：${keys.join('、')} / window ${w.counter} has no key "${parts[4]}"; keys: ${keys.join(', ')}`)
      const body = bodyWith(await readJsonBody(req, 16_384), ['holdMs'])
      // A JSON number only: Number() would take true as 1 ms and "100" or [100] as 100.
      const holdMs = body.holdMs === undefined ? 80 : body.holdMs
      if (typeof holdMs !== 'number' || !Number.isFinite(holdMs) || holdMs < 1 || holdMs > 60_000) {
        throw new HttpError(400, `holdMs 须为 1 到 60000 之间的毫秒数，${given(holdMs).zh} / holdMs must be a number of milliseconds between 1 and 60000, ${given(holdMs).en}`)
      }
      await w.hardware.press(key, { holdMs })
      return send(res, 200, { pressed: key, holdMs, display: w.hardware.view() })
    }
    if (parts.length === 4 && parts[3] === 'faults' && method === 'POST') {
      const body = bodyWith(await readJsonBody(req, 16_384), ['device', 'fault'])
      if (body.device === 'photo' || body.device === 'fingerprint') {
        const model = w.captures[body.device]
        if (!model) throw new HttpError(400, `窗口 ${w.counter} 没有 ${body.device} 设备 / window ${w.counter} has no ${body.device} device`)
        const fault = CAPTURE_FAULTS.find((f) => f === body.fault)
        if (!fault) throw faultError(CAPTURE_FAULTS, body.fault)
        model.setFault(fault)
        return send(res, 200, { device: body.device, fault: body.fault })
      }
      const modbus = typeof body.device === 'string' ? /^modbus-([0-9]{1,3})$/.exec(body.device) : null
      if (modbus) {
        const slave = Number(modbus[1])
        if (!w.hardware.modbus.has(slave)) throw new HttpError(400, `窗口 ${w.counter} 没有 Modbus 模块 ${slave} / window ${w.counter} has no Modbus module ${slave}`)
        const fault = MODBUS_FAULTS.find((f) => f === body.fault)
        if (!fault) throw faultError(MODBUS_FAULTS, body.fault)
        await w.hardware.modbusFault(slave, fault)
        return send(res, 200, { device: body.device, fault })
      }
      if (body.device !== 'display' && body.device !== 'officer-panel') {
        const devices = '"display", "officer-panel", "photo", "fingerprint", "modbus-<slave>"'
        throw new HttpError(400, `device 须为 ${devices} 之一，${given(body.device).zh} / device must be one of ${devices}, ${given(body.device).en}`)
      }
      const fault = FAULTS.find((f) => f === body.fault)
      if (!fault) throw faultError(FAULTS, body.fault)
      if (body.device === 'officer-panel') {
        if (!w.hardware.officerPanel) throw new HttpError(400, `窗口 ${w.counter} 没有工作人员面板 / window ${w.counter} has no officer panel`)
        w.hardware.panelFault(fault)
        return send(res, 200, { device: 'officer-panel', fault: body.fault })
      }
      w.injectDisplayFault(fault)
      return send(res, 200, { device: 'display', fault: body.fault })
    }
    throw new HttpError(404, `没有 ${method} ${url.pathname}（GET /api 列出接口）/ no ${method} ${url.pathname}; GET /api lists the endpoints`)
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = null
    if (server) {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  }
}

/** A body with only the fields an endpoint takes: a misspelt one ("hold") would otherwise be ignored without a word. */
function bodyWith(body: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const unknown = Object.keys(body).filter((k) => !fields.includes(k))
  if (unknown.length) {
    const names = unknown.map((k) => JSON.stringify(k))
    throw new HttpError(400, `请求内容有未知字段 ${names.join('、')}，此处只接受 ${fields.join('、')} / unknown field ${names.join(', ')} in the body; this endpoint takes ${fields.join(', ')}`)
  }
  return body
}

function faultError(faults: readonly string[], got: unknown): HttpError {
  return new HttpError(400, `fault 须为 ${faults.join('、')} 之一，${given(got).zh} / fault must be one of ${faults.join(', ')}, ${given(got).en}`)
}

/** What a field held, for a refusal: "missing" rather than "not undefined". */
function given(v: unknown): { zh: string; en: string } {
  return v === undefined ? { zh: '未给出', en: 'missing' } : { zh: `不是 ${JSON.stringify(v)}`, en: `not ${JSON.stringify(v)}` }
}

/** The methods a known path takes; null for a path the API does not have (404 then). */
function allowedMethods(parts: string[]): string[] | null {
  if (parts.length === 1) return ['GET']
  if (parts[1] === 'ratings' && parts.length === 2) return ['GET']
  if (parts[1] !== 'windows') return null
  if (parts.length === 2 || parts.length === 3) return ['GET']
  if (parts.length === 4 && ['display', 'screen.png', 'panel.png'].includes(parts[3]!)) return ['GET']
  if (parts.length === 4 && parts[3] === 'faults') return ['POST']
  if (parts.length === 6 && parts[3] === 'keys' && parts[5] === 'press') return ['POST']
  return null
}

const ENDPOINTS = [
  'GET  /api                                  hall, hub and central addresses (process per window: each process\'s pid)',
  'GET  /api/windows                          every window: online, mode, ticket, what its display shows',
  'GET  /api/windows/{counter}                one window',
  'GET  /api/windows/{counter}/display        what the call display shows (text, lit, blink, brightness)',
  'GET  /api/windows/{counter}/screen.png     a pixel screen\'s picture as its chips hold it (?scale=4)',
  'GET  /api/windows/{counter}/panel.png      the officer panel\'s picture (?scale=4)',
  'POST /api/windows/{counter}/keys/{key}/press   press an evaluator key, body {"holdMs": 80} optional',
  'POST /api/windows/{counter}/keys/{key}/press   also officer keys: call-next, recall, no-show, pause, help',
  'POST /api/windows/{counter}/faults         body {"device":"display"|"officer-panel","fault":"absent"|"nack-once"|"eio"|"none"}',
  '                                           or {"device":"photo"|"fingerprint","fault":"never"|"stuck"|"early"|"bounce"|"none"}',
  '                                           or {"device":"modbus-<slave>","fault":"unplugged"|"bad-crc"|"none"}',
  'GET  /api/ratings                          ratings central has received (deduplicated by id; the last 1000)',
]

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}


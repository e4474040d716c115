import type { IncomingMessage } from 'node:http'
import { MAX_PAYLOAD_DEPTH, nestsDeeperThan } from '../../edge/protocol/index.ts'

/** An error whose status goes back to the HTTP client, with its message as `{ error }`. */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Is the request's Content-Type application/json (any parameters, such as a charset, allowed)? */
export function isJsonContentType(req: IncomingMessage): boolean {
  return /^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')
}

/**
 * A request body that must be a JSON object (an empty body is `{}`); a bound on its size keeps a client from filling memory.
 * With `requireJsonType`, only `Content-Type: application/json` is read (415 otherwise): a page of another site can
 * send a form or `text/plain` without asking, but not that type, so a cross-site form cannot pass for the dashboard.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number, opts: { requireJsonType?: boolean } = {}): Promise<Record<string, unknown>> {
  if (opts.requireJsonType && !isJsonContentType(req)) {
    req.resume()
    throw new HttpError(415, `请求必须以 Content-Type: application/json 发送 JSON / the body must be JSON sent with Content-Type: application/json (got ${JSON.stringify(req.headers['content-type'] ?? 'none')})`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > maxBytes) throw new HttpError(413, `请求内容超过 ${maxBytes} 字节 / request body larger than ${maxBytes} bytes`)
    chunks.push(c as Buffer)
  }
  if (size === 0) return {}
  let v: unknown
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, '请求内容必须是 JSON 对象 / body must be a JSON object')
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, '请求内容必须是 JSON 对象 / body must be a JSON object')
  // Walked later (logged, stored, written back): refused before anything can overflow the stack on it.
  if (nestsDeeperThan(v, MAX_PAYLOAD_DEPTH)) throw new HttpError(400, `请求内容嵌套超过 ${MAX_PAYLOAD_DEPTH} 层 / body nests objects and arrays more than ${MAX_PAYLOAD_DEPTH} levels deep`)
  return v as Record<string, unknown>
}

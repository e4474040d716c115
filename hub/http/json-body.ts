import type { IncomingMessage } from 'node:http'

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

/** A request body that must be a JSON object (an empty body is `{}`); a bound on its size keeps a client from filling memory. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > maxBytes) throw new HttpError(413, `request body larger than ${maxBytes} bytes`)
    chunks.push(c as Buffer)
  }
  if (size === 0) return {}
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object')
    return v as Record<string, unknown>
  } catch {
    throw new HttpError(400, 'body must be a JSON object')
  }
}

import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'

export interface DownloadOptions {
  url: string
  username: string
  password: string
  dest: string
  /** From the signed manifest: more bytes than this is refused as they arrive, not after the disk has filled. */
  size: number
  onProgress?: (bytes: number, total: number) => void
  /** Smallest gap in bytes between two progress calls (default 1/20 of the size). */
  progressStep?: number
  timeoutMs?: number
}

export class DownloadError extends Error {
  override readonly name = 'DownloadError'
  /**
   * @param retry the hub was away or cut the transfer (restarting, the network dropped): worth another
   * try; not so for a refusal (credentials, no such release) or a payload larger than its manifest.
   */
  constructor(
    message: string,
    readonly retry = false,
  ) {
    super(message)
  }
}

/**
 * The payload over the hub's HTTP server, authenticated as the board itself
 * (its MQTT username and password, HTTP Basic), streamed to disk and hashed as
 * it goes. TCP_NODELAY like every socket of ours; a stalled transfer fails
 * after timeoutMs without data.
 */
export async function download(o: DownloadOptions): Promise<{ bytes: number; sha256: string }> {
  const url = new URL(o.url)
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}` }, timeout: o.timeoutMs ?? 30_000 })
    req.on('socket', (s) => s.setNoDelay(true))
    req.on('timeout', () => req.destroy(new DownloadError(`集线器无应答 / no answer from ${url.host} within ${o.timeoutMs ?? 30_000} ms`, true)))
    req.on('response', resolve)
    req.on('error', (err) => reject(err instanceof DownloadError ? err : new DownloadError(`无法连接集线器 / cannot reach ${url.host}: ${err.message}`, true)))
    req.end()
  })
  if (res.statusCode !== 200) {
    res.resume()
    const why = res.statusCode === 401 || res.statusCode === 403 ? '集线器拒绝本板凭据 / the hub refused this board\'s credentials' : res.statusCode === 404 ? '集线器上没有此版本 / the hub has no such release' : '集线器出错 / the hub answered with an error'
    throw new DownloadError(`HTTP ${res.statusCode} for ${url.pathname}: ${why}`, (res.statusCode ?? 0) >= 500)
  }
  const hash = createHash('sha256')
  const step = o.progressStep ?? Math.max(1, Math.floor(o.size / 20))
  let bytes = 0
  let told = 0
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length
      if (bytes > o.size) return done(new DownloadError(`下载内容超出签名清单的大小 / more than the ${o.size} bytes the signed manifest names`))
      hash.update(chunk)
      if (bytes - told >= step || bytes === o.size) {
        told = bytes
        o.onProgress?.(bytes, o.size)
      }
      done(null, chunk)
    },
  })
  try {
    await pipeline(res, count, createWriteStream(o.dest))
  } catch (err) {
    await rm(o.dest, { force: true })
    throw err instanceof DownloadError ? err : new DownloadError(`下载中断 / download cut short after ${bytes} bytes: ${(err as Error).message}`, true)
  }
  return { bytes, sha256: hash.digest('hex') }
}

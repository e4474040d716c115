import { describe, it, expect, afterEach } from 'vitest'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { HttpError, readJsonBody } from '../../../hub/http/json-body.ts'

/** The dashboard's and the fleet routes' body reader: each refusal names what is wrong, in both languages. */
describe('readJsonBody', () => {
  let server: Server | null = null
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())))

  async function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
    server = createServer((req, res) => {
      readJsonBody(req, 16 * 1024, { requireJsonType: true }).then(
        (v) => res.writeHead(200).end(JSON.stringify({ keys: Object.keys(v) })),
        (err: HttpError) => res.writeHead(err.status).end(JSON.stringify({ error: err.message })),
      )
    })
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST', body, headers })
    return { status: res.status, body: (await res.json()) as { error?: string; keys?: string[] } }
  }

  it('takes an object nested up to the limit', async () => {
    expect(await post(JSON.stringify({ a: { b: [1, { c: 2 }] } }))).toEqual({ status: 200, body: { keys: ['a'] } })
  })

  it('refuses a body nested thousands deep before anything walks it', async () => {
    const r = await post(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`)
    expect(r).toEqual({ status: 400, body: { error: '请求内容嵌套超过 32 层 / body nests objects and arrays more than 32 levels deep' } })
  })

  it('refuses what is not a JSON object, and a body over its size, in both languages', async () => {
    expect((await post('[1]')).body.error).toBe('请求内容必须是 JSON 对象 / body must be a JSON object')
    expect((await post('{"a":')).body.error).toBe('请求内容必须是 JSON 对象 / body must be a JSON object')
    expect(await post(JSON.stringify({ pad: 'x'.repeat(17 * 1024) }))).toMatchObject({ status: 413, body: { error: '请求内容超过 16384 字节 / request body larger than 16384 bytes' } })
  })
})

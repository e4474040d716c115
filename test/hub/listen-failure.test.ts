import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { silentLogger } from '../../edge/shared/logger.ts'
import { startHub } from '../../hub/main.ts'
import { LISTENER_NAMES, listenFailure } from '../../hub/http/listen.ts'
import { credentialStoreOf, user } from './support/hub-fixture.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A port some other process holds, as a technician meets it: the hub cannot have it. */
async function takenPort(): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  return (server.address() as AddressInfo).port
}

async function hubFailure(config: (port: number) => object): Promise<Error> {
  const creds = await credentialStoreOf([user('board', 'hall-1', 'w01')])
  cleanups.push(creds.stop)
  const port = await takenPort()
  const err = await startHub({ hall: 'hall-1', port: 0, credentialsFile: creds.path, ...config(port) }, silentLogger()).then(
    async (hub) => {
      await hub.stop()
      throw new Error('the hub started on a taken port')
    },
    (e: unknown) => e as Error,
  )
  return Object.assign(err, { port })
}

describe('a hub listener that cannot bind', () => {
  it('names the MQTT listener, the address, and what to do', async () => {
    const err = await hubFailure((port) => ({ port }))
    const port = (err as Error & { port: number }).port
    expect(err.message).toBe(
      `MQTT 端口 127.0.0.1:${port} 已被另一个进程占用：请停掉那个进程，或在配置中换一个端口（"port" (--port)） / the MQTT port 127.0.0.1:${port} is already in use by another process: stop that process, or choose another port in the config ("port" (--port))`,
    )
    expect((err.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE')
    // Kept on the error itself: the simulator branches on it.
    expect((err as NodeJS.ErrnoException).code).toBe('EADDRINUSE')
  })

  it('names the dashboard HTTP listener, which the dashboard server binds itself', async () => {
    const err = await hubFailure((port) => ({ http: { port } }))
    expect(err.message).toMatch(/^仪表板 HTTP 端口 127\.0\.0\.1:\d+ 已被另一个进程占用.* \/ the dashboard HTTP port 127\.0\.0\.1:\d+ is already in use by another process: stop that process, or choose another port in the config \("http\.port" \(--http-port\)\)$/)
  })

  it('names the WebSocket listener by its own setting', async () => {
    const err = await hubFailure((port) => ({ ws: { port } }))
    expect(err.message).toContain('the MQTT over WebSocket port')
    expect(err.message).toContain('("ws.port" (--ws-port))')
  })

  it('says why a low port is refused, and passes other failures through unchanged', () => {
    const eacces = Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:443'), { code: 'EACCES' })
    expect((listenFailure(eacces, LISTENER_NAMES.tls, '0.0.0.0', 443) as Error).message).toContain('ports below 1024 need root or CAP_NET_BIND_SERVICE')
    const other = Object.assign(new Error('something else'), { code: 'EOTHER' })
    expect(listenFailure(other, LISTENER_NAMES.mqtt, '0.0.0.0', 1883)).toBe(other)
  })
})

import type { Server } from 'node:http'
import type { Server as NetServer } from 'node:net'

/** Listens and resolves with the port it got (port 0 picks a free one); a failure to bind rejects. */
export async function listenOn(server: Server | NetServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const a = server.address()
  return typeof a === 'object' && a ? a.port : port
}

/** One of the hub's listeners, as a technician knows it: its name and the config field (and flag) that sets its port. */
export interface ListenerName {
  zh: string
  en: string
  /** e.g. `"port" (--port)`. */
  setting: string
}

export const LISTENER_NAMES = {
  mqtt: { zh: 'MQTT ', en: 'MQTT', setting: '"port" (--port)' },
  tls: { zh: 'MQTT over TLS ', en: 'MQTT over TLS', setting: '"tls.port" (--tls-port)' },
  ws: { zh: 'MQTT over WebSocket ', en: 'MQTT over WebSocket', setting: '"ws.port" (--ws-port)' },
  http: { zh: '仪表板 HTTP ', en: 'dashboard HTTP', setting: '"http.port" (--http-port)' },
} as const satisfies Record<string, ListenerName>

/**
 * A failure to bind, with the listener named and what to do: Node says only "listen EADDRINUSE: address
 * already in use 127.0.0.1:1883", which does not tell a hub with four listeners which one, nor why.
 * Other failures pass through as they are; Node's text stays as the cause, and its code on the error, for
 * callers that branch on it (the simulator names its own port flags on EADDRINUSE).
 */
export function listenFailure(err: unknown, which: ListenerName, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code
  const at = `${host}:${port}`
  const fix = { zh: `或在配置中换一个端口（${which.setting}）`, en: `or choose another port in the config (${which.setting})` }
  if (code === 'EADDRINUSE') {
    return withCode(`${which.zh}端口 ${at} 已被另一个进程占用：请停掉那个进程，${fix.zh} / the ${which.en} port ${at} is already in use by another process: stop that process, ${fix.en}`, err, code)
  }
  if (code === 'EACCES') {
    return withCode(`无权监听${which.zh}端口 ${at}：1024 以下的端口需要 root 或 CAP_NET_BIND_SERVICE，${fix.zh} / not allowed to listen on the ${which.en} port ${at}: ports below 1024 need root or CAP_NET_BIND_SERVICE; give it that, ${fix.en}`, err, code)
  }
  if (code === 'EADDRNOTAVAIL') {
    return withCode(`本机没有地址 ${host}，无法监听${which.zh}端口：请检查配置中的 host / this machine has no address ${host} for the ${which.en} listener: check "host" in the config`, err, code)
  }
  return err
}

function withCode(message: string, cause: unknown, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message, { cause }), { code })
}

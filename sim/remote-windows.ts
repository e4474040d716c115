import { request, type IncomingMessage, type ServerResponse } from 'node:http'

/**
 * Windows that run as processes of their own (`counter-edge sim
 * --process-per-window`), each serving its control API on a unix socket
 * (`counter-edge edge --control <socket>`): the hall's control API forwards a
 * window's requests to its process, so the hall is driven at one address as
 * `npm start`'s is, while each window can be killed alone.
 */
export class RemoteWindows {
  constructor(private readonly sockets: ReadonlyMap<string, string>) {}

  has(counter: string): boolean {
    return this.sockets.has(counter)
  }

  counters(): string[] {
    return [...this.sockets.keys()]
  }

  /** Passes the request on as it came and the window's answer back as it comes; a window whose process is down gets 503 saying so. */
  forward(counter: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socketPath = this.sockets.get(counter)!
    return new Promise<void>((resolve) => {
      const out = request({ socketPath, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
        answer.once('end', () => resolve())
        answer.once('error', () => resolve())
      })
      out.once('error', (err: NodeJS.ErrnoException) => {
        if (!res.headersSent) {
          const text = JSON.stringify({ error: `窗口 ${counter} 的进程未运行 / window ${counter}'s process is not answering (${err.code ?? err.message}); the simulator restarts it` }, null, 2)
          res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
          res.end(text)
        } else res.destroy()
        resolve()
      })
      req.pipe(out)
    })
  }

  /** Every window's description, in counter order; one whose process is down says so instead. */
  describeAll(): Promise<unknown[]> {
    return Promise.all(
      this.counters().map(
        (counter) =>
          new Promise<unknown>((resolve) => {
            const down = (why: string) => resolve({ counter, online: false, process: `not answering (${why})` })
            const out = request({ socketPath: this.sockets.get(counter)!, path: `/api/windows/${counter}`, method: 'GET' }, (answer) => {
              let body = ''
              answer.setEncoding('utf8')
              answer.on('data', (d: string) => (body += d))
              answer.once('end', () => {
                try {
                  if (answer.statusCode === 200) resolve(JSON.parse(body))
                  else down(`HTTP ${answer.statusCode}`)
                } catch {
                  down('unreadable answer')
                }
              })
              answer.once('error', (e) => down(e.message))
            })
            out.setTimeout(5_000, () => out.destroy(new Error('timeout')))
            out.once('error', (e: NodeJS.ErrnoException) => down(e.code ?? e.message))
            out.end()
          }),
      ),
    )
  }
}

import { get, type ClientRequest } from 'node:http'

/** The live streams a hall keeps open on its hub all day: the technician's dashboard and the hall screen. */
export const WATCHED_PAGES = ['/api/live', '/screen/live'] as const

export interface PageWatchers {
  close(): void
}

/**
 * One reader per page stream of the hub's dashboard, each reading what comes and throwing it away,
 * as the pages do once drawn: what the hub spends on its followers of the hall is then in the
 * figures (docs/benchmarks.md, issue 22, sixth pass). Resolves once the hub has answered each.
 */
export async function watchPages(httpPort: number): Promise<PageWatchers> {
  const open = await Promise.all(WATCHED_PAGES.map((path) => watch(httpPort, path)))
  return { close: () => open.forEach((r) => r.destroy()) }
}

function watch(port: number, path: string): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${path} answered ${res.statusCode}`))
      res.resume()
      resolve(req)
    })
    req.on('socket', (s) => s.setNoDelay(true))
    req.on('error', reject)
  })
}

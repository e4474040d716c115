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

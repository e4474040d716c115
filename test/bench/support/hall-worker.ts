/**
 * A child process that runs simulated halls for the central-side bench: per
 * hall, a hub (in this process, data on disk, bridge to the central
 * Mosquitto) and its windows (the real edge runtime on simulated buses). The
 * bench process drives them over IPC: it asks which ticket to look for on a
 * display, presses keys, reads modes; every time is stamped here with
 * epochNow(), so IPC delays never enter a latency.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { pino } from 'pino'
import { loadBoardProfile } from '../../../boards/profile-schema.ts'
import { startHub, type RunningHub } from '../../../hub/main.ts'
import { benchDataRoot, boardAccount, counterName, LOOPBACK_LIMITS, writeAccounts } from './bench-hub.ts'
import { epochNow } from './clock.ts'
import { benchBoardLogger, InProcessBoard, startBoards, waitConnected } from './fleet.ts'
import { BOARDS_DIR } from '../../../edge/shared/package-root.ts'

export type ToWorker =
  | { type: 'start'; halls: string[]; windows: number; centralUrl: string }
  | { type: 'expect'; req: number; hall: string; counter: string; text: string; timeoutMs: number; notBefore: number }
  | { type: 'press'; req: number; hall: string; counter: string; score: 'satisfied' | 'neutral' | 'dissatisfied' }
  | { type: 'mode'; req: number; hall: string; counter: string }
  | { type: 'ping'; req: number }
  | { type: 'stats'; req: number }
  | { type: 'stop' }

export type FromWorker =
  | { type: 'ready'; boards: Array<{ hall: string; counter: string }> }
  | { type: 'reply'; req: number; t?: number; mode?: string | null; error?: string; stats?: WorkerStats }
  | { type: 'failed'; error: string }
  | { type: 'stopped' }

export interface WorkerStats {
  rssMb: number
  eventLoopP99Ms: number
}

const PASSWORD = 'bench-hall-password'

async function main(): Promise<void> {
  const hubs: RunningHub[] = []
  const boards = new Map<string, InProcessBoard>()
  const dirs: string[] = []
  const eld = monitorEventLoopDelay({ resolution: 5 })
  eld.enable()
  const send = (m: FromWorker) => process.send!(m)

  const stopAll = async () => {
    const list = [...boards.values()]
    for (let i = 0; i < list.length; i += 100) await Promise.all(list.slice(i, i + 100).map((b) => b.stop().catch(() => {})))
    for (const h of hubs) await h.stop().catch(() => {})
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  }

  process.on('message', (m: ToWorker) => {
    void (async () => {
      switch (m.type) {
        case 'start': {
          try {
            const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
            const boardLog = benchBoardLogger()
            const hubLog = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }))
            const ready: Array<{ hall: string; counter: string }> = []
            for (const hall of m.halls) {
              const dir = await mkdtemp(join(await benchDataRoot(), `hall-${hall}-`))
              dirs.push(dir)
              const accounts = Array.from({ length: m.windows }, (_, i) => boardAccount(hall, counterName(i + 1), PASSWORD))
              await writeAccounts(join(dir, 'credentials.json'), accounts)
              const hub = await startHub(
                {
                  hall,
                  host: '127.0.0.1',
                  port: 0,
                  credentialsFile: join(dir, 'credentials.json'),
                  dataDir: join(dir, 'data'),
                  upstream: { url: m.centralUrl, clientId: `bench-hub-${hall}-${process.pid}` },
                  limits: LOOPBACK_LIMITS,
                },
                hubLog.child({ hall }),
              )
              hubs.push(hub)
              const hallBoards = accounts.map(
                (a) => new InProcessBoard(hall, a.counter!, { profile, hubPort: hub.port, username: a.username, password: PASSWORD, log: boardLog.child({ hall, counter: a.counter }) }),
              )
              // One hall at a time, each fully connected before the next: a burst of logins beyond what the
              // hubs' scrypt checks finish within the boards' connect timeout never converges (see the login storm bench).
              await startBoards(hallBoards, 8)
              await waitConnected(hallBoards, 120_000)
              for (const b of hallBoards) {
                boards.set(`${hall}/${b.counter}`, b)
                ready.push({ hall, counter: b.counter })
              }
            }
            send({ type: 'ready', boards: ready })
          } catch (err) {
            send({ type: 'failed', error: (err as Error).stack ?? String(err) })
          }
          return
        }
        case 'expect': {
          const b = boards.get(`${m.hall}/${m.counter}`)
          if (!b) return send({ type: 'reply', req: m.req, error: `no window ${m.hall}/${m.counter}` })
          b.expectDisplay(m.text, m.timeoutMs, m.notBefore).then(
            (t) => send({ type: 'reply', req: m.req, t }),
            (err: Error) => send({ type: 'reply', req: m.req, error: err.message }),
          )
          return
        }
        case 'press': {
          const b = boards.get(`${m.hall}/${m.counter}`)
          if (!b) return send({ type: 'reply', req: m.req, error: `no window ${m.hall}/${m.counter}` })
          return send({ type: 'reply', req: m.req, t: await b.press(m.score) })
        }
        case 'mode': {
          const b = boards.get(`${m.hall}/${m.counter}`)
          return send({ type: 'reply', req: m.req, mode: b ? await b.mode() : null })
        }
        case 'ping':
          return send({ type: 'reply', req: m.req, t: epochNow() })
        case 'stats': {
          const stats = { rssMb: Math.round(process.memoryUsage().rss / 2 ** 20), eventLoopP99Ms: Math.round(Math.max(0, eld.percentile(99) / 1e6 - 5) * 100) / 100 }
          eld.reset()
          return send({ type: 'reply', req: m.req, stats })
        }
        case 'stop':
          await stopAll()
          send({ type: 'stopped' })
          setTimeout(() => process.exit(0), 100)
          return
      }
    })()
  })
}

await main()

/**
 * A board that produces events as fast as its journal commits them, for the
 * crash tests: the real edge runtime (startEdge, SimWindowHardware, the
 * on-disk journal, the MQTT link), run as a child process so a test can
 * SIGKILL it at any point.
 *
 *   node --import tsx test/support/event-generator.ts <config.json>
 *
 * config: { hall, counter, port, username, password, dataDir, limit?, batch?, backlogRate? }
 *
 * stdout, one line each, written synchronously (a pipe) so a kill cannot
 * reorder them:
 *   boot <boot id>             the runtime is up
 *   appended <id> <id> …       handed to the link (maybe not on disk yet)
 *   durable <id> <id> …        committed to the journal: must reach the hub
 *   status …                   twice a second: connected, entries waiting
 */
import { readFile } from 'node:fs/promises'
import { createLogger } from '../../edge/shared/logger.ts'
import { startEdge } from '../../edge/main.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { SimWindowHardware } from '../../sim/window-hardware.ts'
import { EVALUATION_SCORES } from '../../edge/protocol/index.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { letTimePass } from './pace.ts'

interface GeneratorConfig {
  hall: string
  counter: string
  port: number
  username: string
  password: string
  dataDir: string
  /** Stop producing after this many events (the test's last, unkilled run); unlimited when absent. */
  limit?: number
  /** Largest burst between two commits; 20 unless set (a bench sets it to `limit` for one big backlog). */
  batch?: number
  /** The link's backlog pacing (entries/s); the runtime's default unless set. */
  backlogRate?: number
}

const config = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as GeneratorConfig
const log = createLogger({ name: 'event-generator', level: 'warn', pretty: false, destination: process.stderr })
const profile = await loadBoardProfile('sim-window', BOARDS_DIR)
const hardware = new SimWindowHardware(profile)
const edge = await startEdge(
  { hall: config.hall, counter: config.counter, hub: [{ host: '127.0.0.1', port: config.port }], username: config.username, password: config.password, dataDir: config.dataDir, ...(config.backlogRate ? { backlogRate: config.backlogRate } : {}) },
  { profile, gpio: hardware.gpio, bus: hardware.bus, log },
)
process.stdout.write(`boot ${edge.boot}\n`)
// For a failing test's message: what the link was doing.
setInterval(() => process.stdout.write(`status connected=${edge.link.connected} waiting=${edge.link.backlog}\n`), 500).unref()

let stopping = false
let stopped!: () => void
const stopRequested = new Promise<void>((r) => (stopped = r))
process.on('SIGTERM', () => {
  stopping = true
  stopped()
})

const scores = EVALUATION_SCORES.slice(1, 4)
let produced = 0
while (!stopping && (config.limit === undefined || produced < config.limit)) {
  const size = Math.min(config.batch ?? 1 + Math.floor(Math.random() * 20), (config.limit ?? Infinity) - produced)
  const ids: string[] = []
  for (let i = 0; i < size; i++, produced++) {
    // Ratings and officer keys: what a hall must never lose.
    ids.push(
      produced % 2 === 0
        ? edge.link.publish('event', { type: 'evaluated', ticket: `A${String(produced % 1000).padStart(3, '0')}`, officer: null, score: scores[produced % 3]!, scale: 3, latencyMs: produced % 5000, early: false, caseNo: null, item: null })
        : edge.link.publish('event', { type: 'officer-key', key: 'help', ticket: null }),
    )
  }
  process.stdout.write(`appended ${ids.join(' ')}\n`)
  await edge.link.flush()
  process.stdout.write(`durable ${ids.join(' ')}\n`)
  await letTimePass(2, 'a board makes events in bursts, with pauses between them')
}
await stopRequested
await edge.stop('stop')
await hardware.stop()
process.exit(0)

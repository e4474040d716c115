/**
 * One simulated window's edge runtime as its own process, so a test can
 * SIGKILL it like a power cut (test/support/edge-process.ts starts it with
 * `node --import tsx` and an IPC channel).
 *
 * Config comes in EDGE_CHILD (JSON). The process tells its parent:
 * - { kind: 'ready', boot } once the runtime runs;
 * - { kind: 'event', id, type, fields } for every event the window made, sent
 *   once the link says it is on disk in the journal (`link.flush()`), so the
 *   parent counts an event as made only when the board has promised it;
 * - replies to { op: 'mode' }, { op: 'clock' } (its wall clock, which a test may step
 *   with libfaketime), { op: 'press', score } and { op: 'officer-key', key } requests.
 */
import { SimWindow } from '../../sim/sim-window.ts'
import { loadBoardProfile } from '../../boards/profile-schema.ts'
import { createLogger } from '../../edge/shared/logger.ts'
import type { EventDraft, EvaluationScore } from '../../edge/protocol/index.ts'
import { BOARDS_DIR } from '../../edge/shared/package-root.ts'
import { eventually } from './probe.ts'

interface ChildConfig {
  hall: string
  counter: string
  host: string
  port: number
  username: string
  password: string
  dataDir: string
  hubs?: Array<{ host: string; port: number }>
}

type Request = { n: number; op: 'mode' } | { n: number; op: 'clock' } | { n: number; op: 'press'; score: EvaluationScore } | { n: number; op: 'officer-key'; key: 'call-next' | 'help' }

const cfg = JSON.parse(process.env.EDGE_CHILD ?? '{}') as ChildConfig
const send = (m: unknown) => {
  if (process.connected) process.send!(m)
}

const sim = new SimWindow({
  hall: cfg.hall,
  counter: cfg.counter,
  profile: await loadBoardProfile('sim-window', BOARDS_DIR),
  hub: cfg.hubs ?? [{ host: cfg.host, port: cfg.port }],
  username: cfg.username,
  password: cfg.password,
  dataDir: cfg.dataDir,
  log: createLogger({ name: 'edge-child', level: 'warn', pretty: false, destination: process.stderr }),
})
await sim.start()
const edge = sim.running!
const link = edge.link
// Every event reaches the journal through append(): the window's own (stamped first and saved with its state,
// docs/architecture.md §4) and what publish() stamps, recovered ones again with their ids after a restart.
const append = link.append.bind(link)
link.append = (record) => {
  const id = append(record)
  if (record.cls !== 'event') return id
  const { type, ...rest } = JSON.parse(record.body) as EventDraft
  void link.flush().then(() => send({ kind: 'event', id, type, fields: rest }))
  return id
}
send({ kind: 'ready', boot: edge.boot })

const mode = () => edge.window.current.mode

process.on('message', (m: Request) => {
  if (m.op === 'mode') return send({ kind: 'reply', n: m.n, mode: mode() })
  if (m.op === 'clock') return send({ kind: 'reply', n: m.n, wall: Date.now() })
  if (m.op === 'officer-key') {
    // Officer keys make events without central: they pile up in the board while the hub is unreachable.
    void sim.hardware.press(m.key).then(() => send({ kind: 'reply', n: m.n, pressed: true }))
    return
  }
  if (m.op === 'press') {
    void (async () => {
      if (mode() !== 'evaluating') return send({ kind: 'reply', n: m.n, pressed: false })
      await sim.hardware.press(m.score)
      await eventually(() => mode() !== 'evaluating', 5_000, 'the window to close the evaluation', 10).catch(() => {})
      send({ kind: 'reply', n: m.n, pressed: mode() !== 'evaluating' })
    })()
  }
})
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => {
  void sim.shutdown().finally(() => process.exit(0))
})

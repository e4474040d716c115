import type { CommandInput, CommandName } from './commands.ts'
import type { Envelope } from './envelope.ts'
import type { EventOf, EventType } from './events.ts'
import type { CentralStatus, CentralWaiting, HubBridge, HubStatus, MessageKind, Reply, Screen, State, Status, Telemetry, UpdateReport } from './messages.ts'

/**
 * One valid payload per command, event and message. The reference docs show
 * them and the protocol tests parse every one, so an example cannot go stale;
 * the simulator and integrators may use them as templates.
 */

const EXPIRES = '2025-03-04T09:16:00.000Z'
const TS = '2025-03-04T09:15:02.120Z'
/** The examples' board is counter w05: by default the public window 5. */
const WINDOW = { number: '5', name: '5号窗口' }

function envelope(seq: number): Envelope {
  return { v: 1, id: `w05-7f3k-${seq}`, boot: '7f3k2m', seq, ts: TS, synced: true }
}

export const commandExamples: { readonly [N in CommandName]: CommandInput<N> } = {
  call: { id: 'q-881203', expires: EXPIRES, issued: '2025-03-04T09:15:00.000Z', ticket: 'A023', service: 'passport', green: false, appointment: true, caseNo: 'CJ2025030400187', item: 'passport-first-issue' },
  recall: { id: 'q-881250', expires: EXPIRES, ticket: 'A023' },
  'no-show': { id: 'q-881290', expires: EXPIRES, ticket: 'A023' },
  start: { id: 'q-881204', expires: EXPIRES, ticket: 'A023' },
  finish: { id: 'q-881320', expires: EXPIRES, outcome: 'served', ticket: 'A023' },
  evaluate: { id: 'q-881321', expires: EXPIRES, ticket: 'A023' },
  pause: { id: 'q-881400', expires: EXPIRES, reason: 'break', limitS: 900 },
  resume: { id: 'q-881401', expires: EXPIRES },
  capture: { id: 'q-881310', expires: EXPIRES, kind: 'photo', ticket: 'A023' },
  officer: { id: 'q-881100', expires: EXPIRES, action: 'sign-in', officer: 'P10482', officerName: 'Li Wei' },
  identify: { id: 't-0192', expires: EXPIRES, seconds: 15 },
  'self-test': { id: 't-0193', expires: EXPIRES, tests: ['display', 'keys'] },
  sync: { id: 'q-881000', expires: EXPIRES },
  config: { id: 'q-881001', expires: EXPIRES, settings: { overtimeWarnS: 300, overtimeLimitS: 1800, scale: 3 } },
  transfer: { id: 'q-881330', expires: EXPIRES, ticket: 'A023', toWindow: 'w07', reason: 'needs-approval' },
  park: { id: 'q-881340', expires: EXPIRES, ticket: 'A023', reason: 'document' },
  update: {
    id: 'u-000120',
    expires: EXPIRES,
    release: {
      manifest: 'eyJmb3JtYXQiOjEsIm5hbWUiOiJjb3VudGVyLWVkZ2UiLCJ2ZXJzaW9uIjoiMC4yLjAiLCJub2RlIjoiPj0yMC4xOSIsInBheWxvYWQiOnsiZmlsZSI6ImNvdW50ZXItZWRnZS0wLjIuMC50YXIuZ3oiLCJzaXplIjoxODQzMjAyLCJzaGEyNTYiOiJhM2YxYzIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIn0sIm5hdGl2ZSI6eyJpMmMtYnVzIjoiNS4yLjMiLCJvbm9mZiI6IjYuMC4zIiwiZXBvbGwiOiI0LjAuMiIsIkBjb3VudGVyLWVkZ2UvZ3Bpby1pb2N0bCI6IjAuMS4wIn0sImNyZWF0ZWQiOiIyMDI1LTAzLTAxVDEwOjAwOjAwLjAwMFoiLCJjb21taXQiOiJlY2ZlN2UxIn0=',
      signature: 'SRNmHnfyF3xkVEAqZffs20do1fAbNt+Y72CtoWi8jTSpJCxVAxFjZt+/BLeTcnvi6WUG+zdT4a8ntIrFUSfMDQ==',
      key: '324be2dea8bc4446',
    },
    url: 'http://10.20.0.2:8080/releases/0.2.0/counter-edge-0.2.0.tar.gz',
    confirmWithinS: 120,
  },
}

export const eventExamples: { readonly [T in EventType]: EventOf<T> } = {
  called: { ...envelope(41), type: 'called', ticket: 'A023', service: 'passport', green: false, appointment: true, cmd: 'q-881203', record: 'w05-7f3k2m-12', caseNo: 'CJ2025030400187', item: 'passport-first-issue', continues: null, window: WINDOW },
  recalled: { ...envelope(42), type: 'recalled', ticket: 'A023', count: 1, cmd: 'q-881250', record: 'w05-7f3k2m-12', window: WINDOW },
  'no-show': { ...envelope(43), type: 'no-show', ticket: 'A023', cmd: 'q-881290', record: 'w05-7f3k2m-12' },
  'service-started': { ...envelope(44), type: 'service-started', ticket: 'A023', officer: 'P10482', waitedMs: 48_200, cmd: 'q-881204', record: 'w05-7f3k2m-12' },
  'service-finished': { ...envelope(45), type: 'service-finished', ticket: 'A023', officer: 'P10482', outcome: 'served', durationMs: 252_000, record: 'w05-7f3k2m-12', caseNo: 'CJ2025030400187', item: 'passport-first-issue' },
  evaluated: { ...envelope(46), type: 'evaluated', ticket: 'A023', officer: 'P10482', score: 'satisfied', scale: 3, latencyMs: 3_400, early: false, record: 'w05-7f3k2m-12', caseNo: 'CJ2025030400187', item: 'passport-first-issue' },
  'rating-alert': { ...envelope(60), type: 'rating-alert', ticket: 'A025', officer: 'P10482', score: 'dissatisfied', scale: 3, level: '不满意', record: 'w05-7f3k2m-14', caseNo: 'CJ2025030400191', item: 'id-card-renewal', early: false },
  'evaluation-missed': { ...envelope(47), type: 'evaluation-missed', ticket: 'A024', officer: 'P10482', afterMs: 30_000, reason: 'timeout', record: 'w05-7f3k2m-13', caseNo: null, item: null },
  'capture-done': { ...envelope(48), type: 'capture-done', kind: 'photo', ticket: 'A023', latencyMs: 2_150, cmd: 'q-881310', record: 'w05-7f3k2m-12' },
  'capture-failed': { ...envelope(49), type: 'capture-failed', kind: 'fingerprint', ticket: 'A023', reason: 'timeout', message: 'no done signal within 20 s', cmd: 'q-881311', record: 'w05-7f3k2m-12' },
  overtime: { ...envelope(50), type: 'overtime', ticket: 'A023', officer: 'P10482', level: 'warning', elapsedMs: 300_000, limitMs: 300_000, record: 'w05-7f3k2m-12' },
  'help-requested': { ...envelope(51), type: 'help-requested', ticket: 'A023', officer: 'P10482' },
  'officer-key': { ...envelope(52), type: 'officer-key', key: 'call-next', ticket: null },
  paused: { ...envelope(53), type: 'paused', reason: 'break', cmd: 'q-881400', afterService: true, limitMs: 900_000 },
  resumed: { ...envelope(54), type: 'resumed', pausedMs: 600_000, cmd: 'q-881401' },
  fault: { ...envelope(55), type: 'fault', device: 'display', code: 'nack', message: 'HT16K33 at 0x70 did not acknowledge' },
  'fault-cleared': { ...envelope(56), type: 'fault-cleared', device: 'display', code: 'nack' },
  'service-transferred': { ...envelope(61), type: 'service-transferred', ticket: 'A023', officer: 'P10482', toWindow: 'w07', toQueue: null, reason: 'needs-approval', durationMs: 184_000, cmd: 'q-881330', record: 'w05-7f3k2m-12', caseNo: 'CJ2025030400187', item: 'passport-first-issue' },
  'service-parked': { ...envelope(62), type: 'service-parked', ticket: 'A023', officer: 'P10482', reason: 'document', durationMs: 95_000, cmd: 'q-881340', record: 'w05-7f3k2m-12', caseNo: 'CJ2025030400187', item: 'passport-first-issue' },
  'signed-in': { ...envelope(63), type: 'signed-in', officer: 'P10482', officerName: 'Li Wei', cmd: 'q-881100' },
  'signed-out': { ...envelope(64), type: 'signed-out', officer: 'P10482', officerName: 'Li Wei', staffedMs: 14_400_000, pausedMs: 1_500_000, cmd: 'q-881990' },
  'call-unanswered': { ...envelope(65), type: 'call-unanswered', ticket: 'A024', record: 'w05-7f3k2m-13', waitedMs: 120_000, limitMs: 120_000, recalls: 3, suggest: 'no-show' },
  'pause-overtime': { ...envelope(66), type: 'pause-overtime', reason: 'break', officer: 'P10482', pausedMs: 900_000, limitMs: 900_000 },
}

const statusOnline: Status = {
  ...envelope(0), online: true, version: '0.1.0', board: 'rpi4-ht16k33', capabilities: ['display', 'display-width:4', 'display-lacks:KMVWXZ', 'evaluator:3', 'capture:photo', 'capture:fingerprint', 'video-hooks'],
}

const state: State = {
  ...envelope(40),
  mode: 'serving',
  ticket: { number: 'A023', service: 'passport', green: false, appointment: true, calledAt: '2025-03-04T09:10:12.000Z', recalls: 0, startedAt: '2025-03-04T09:11:00.200Z', record: 'w05-7f3k2m-12', continues: null, unanswered: false },
  officer: { id: 'P10482', name: 'Li Wei', since: '2025-03-04T07:58:12.000Z' },
  since: '2025-03-04T09:11:00.200Z',
  overtime: 'none',
  evaluation: null,
  pause: null,
  pauseAfter: null,
  faults: [],
  window: WINDOW,
}

const screen: Screen = {
  ...envelope(41),
  device: 'display',
  text: '请A023号',
  ticket: 'A023',
  fault: null,
  picture: {
    width: 64,
    height: 16,
    bits: 'AEAAAAAAAABAQAAAAAAf8Cf8AAAAABAQIEAAAAAAEBAD+BgYPDwQEABAJCRCQh/w5/4kQkJCAAAgAEJGAgL//iP4QkoMHAgAIgh+UhACEAAj+EJiIAIf8CIIQkJAQgAQK/hCJEBCABAyCEIYfjwAECIoAAAAAACgAhAAAAAAAEA=',
  },
}

const update: UpdateReport = {
  ...envelope(60),
  running: '0.2.0',
  state: 'confirmed',
  target: null,
  previous: '0.1.0',
  cmd: 'u-000120',
  reason: null,
  progress: null,
}

const telemetry: Telemetry = {
  ...envelope(57), uptimeS: 8_640, rssBytes: 61_440_000, heapUsedBytes: 18_350_000, cpuPct: 3.2, tempC: 51.5,
  journal: { depth: 0, oldestAgeMs: null }, rttMs: 4.1, devices: { display: 'ok', evaluator: 'ok', camera: 'ok', fingerprint: 'absent' }, ignoredPresses: 2,
  staffedMs: 4_370_000, shiftPausedMs: 600_000, pauseMs: null,
}

const reply: Reply = { ...envelope(58), cmd: 'q-881203', name: 'call', ok: true }

const hubStatus: HubStatus = { online: true, hub: 'hall-01-hub', boot: 'h9x2', version: '0.1.0', ts: TS }

const hubBridge: HubBridge = { state: 'connected', backlog: 0, since: '2025-03-04T07:58:40.000Z', ts: TS, upstream: 'mqtts://central.example:8883' }

const centralStatus: CentralStatus = { online: true, ts: TS }

const centralWaiting: CentralWaiting = {
  services: [
    { service: 'social-security', name: '社保业务', waiting: 12 },
    { service: 'household', name: '户政业务', waiting: 3 },
  ],
  ts: TS,
}

export const messageExamples = {
  status: statusOnline,
  state,
  screen,
  telemetry,
  reply,
  update,
  'hub-status': hubStatus,
  'hub-bridge': hubBridge,
  'central-status': centralStatus,
  'central-waiting': centralWaiting,
} satisfies { readonly [K in MessageKind]: unknown }

/** Further examples the docs show next to the main ones: the will, and a refused command. */
export const extraExamples = {
  statusOffline: { ...envelope(1), online: false, reason: 'will' } satisfies Status,
  screenFault: { ...envelope(42), device: 'display', text: null, ticket: null, fault: { code: 'absent', message: 'ht16k33@0x70 did not answer' }, picture: null } satisfies Screen,
  replyRefused: { ...envelope(59), cmd: 'q-881190', name: 'call', ok: false, code: 'expired', message: 'expired at 2025-03-04T09:14:00.000Z' } satisfies Reply,
}

import type { EvaluationScale, EvaluationScore, OvertimeLevel, WindowMode, ErrorCode, Command, EventDraft, CommandName, CaptureKind, CaptureFailure, Continuation, OfficerKey, SelfTest, CommandOf } from '../protocol/index.ts'

/**
 * Times are milliseconds, always passed in: the machine never reads a clock.
 * Two clocks: wall time (since the epoch) for timestamps and command expiry,
 * and a monotonic reading (the `…Mono` fields) for every duration, window and
 * timeout, so a clock step (NTP, a board without a real-time clock after a
 * power cut) can neither make a duration negative nor close an evaluation early.
 */
export type Millis = number

export interface Settings {
  evaluationTimeoutS: number
  overtimeWarnS: number
  overtimeLimitS: number
  telemetryPeriodS: number
  brightness: number
  scale: EvaluationScale
  /** How long a fresh call or recall blinks on the display to draw the applicant's eye. */
  attentionS: number
  /** A press sooner than this after the evaluator opened is still a rating but flagged `early` for audit (who was at the keys). */
  evaluationDwellMs: number
  /** A call not started this long after the last call or recall raises the no-show prompt (`call-unanswered`). */
  noShowPromptS: number
  /** A pause longer than this (unless the pause set its own) raises `pause-overtime` for the duty supervisor. */
  pauseLimitS: number
  /** Recalls allowed per call: halls allow two or three before they give a ticket up. */
  recallLimit: number
}

export const DEFAULT_SETTINGS: Settings = {
  evaluationTimeoutS: 30,
  // Warn after 5 minutes of service, critical after 15; a call may override both per service type.
  overtimeWarnS: 300,
  overtimeLimitS: 900,
  telemetryPeriodS: 60,
  brightness: 15,
  scale: 3,
  attentionS: 10,
  evaluationDwellMs: 1000,
  noShowPromptS: 120,
  pauseLimitS: 1800,
  recallLimit: 3,
}

export interface Ticket {
  number: string
  /** The service record every event of this service carries: `<counter>-<boot>-<n>`, unique across boards and restarts. */
  record: string
  /** Case number and service item from central's call, travelling with the record. */
  caseNo: string | null
  item: string | null
  service: string | null
  green: boolean
  appointment: boolean
  calledAt: Millis
  /** Last call or recall: the display blinks for attentionS after it. */
  attentionAt: Millis
  recalls: number
  startedAt: Millis | null
  calledMono: Millis
  attentionMono: Millis
  startedMono: Millis | null
  /** The officer who started the service: the one a rating of it is charged to. */
  servedBy: string | null
  /** Per-service-type overtime thresholds from the call; null: the window's settings. */
  overtimeWarnS: number | null
  overtimeLimitS: number | null
  /** Set when the call continues a transferred or parked service (its record came with the call). */
  continues: Continuation | null
  /** The no-show prompt was raised for the current call (cleared by a recall). */
  unanswered: boolean
}

export interface Officer {
  id: string
  name: string | null
  /** When this officer signed in, on both clocks: staffed time is measured on the monotonic one. */
  since: Millis
  sinceMono: Millis
  /** Paused time of this sign-in from pauses already ended (the current pause is added when read). */
  pausedMs: number
}

export interface Pause {
  reason: string
  since: Millis
  sinceMono: Millis
  /** This pause's own limit from its command; null: the window's pauseLimitS. */
  limitS: number | null
  /** `pause-overtime` was raised. */
  over: boolean
  /** Began when the service it waited for ended. */
  afterService: boolean
  cmd: string | null
}

/** A pause asked for during a service: it begins when the window next becomes idle. */
export interface PendingPause {
  reason: string
  since: Millis
  limitS: number | null
  cmd: string
}

export interface Evaluation {
  ticket: string
  record: string
  caseNo: string | null
  item: string | null
  officer: string | null
  openedAt: Millis
  closesAt: Millis
  openedMono: Millis
  closesMono: Millis
}

export interface Fault {
  device: string
  code: string
  message: string
  since: Millis
}

export interface CounterState {
  mode: WindowMode
  since: Millis
  ticket: Ticket | null
  officer: Officer | null
  evaluation: Evaluation | null
  pause: Pause | null
  pauseAfter: PendingPause | null
  overtime: OvertimeLevel
  faults: Fault[]
  settings: Settings
  /** Evaluator presses while no evaluation was open: counted, never ratings. */
  ignoredPresses: number
  /** What the board's call display can show, from its profile: a call it cannot show is refused, never mangled. */
  display: DisplayLimits
  /** Capture devices this board has (from its profile). */
  captureDevices: CaptureKind[]
  /** How many keys the board's evaluator has (from its profile): a `scale` above it is refused, so a rating never claims keys the applicant did not have. */
  evaluatorKeys: EvaluationScale
  /** Captures running now, one per device at most: the command and ticket they belong to. */
  captures: Partial<Record<CaptureKind, { cmd: string; ticket: string | null; record: string | null }>>
  /** Where the next service record id comes from: the runtime sets the prefix to `<counter>-<boot>` at each start. Not saved. */
  records: { prefix: string; next: number }
  /** Records that reached their outcome here (rated, missed, finished, no-show), newest last: a call continuing one is refused. */
  closedRecords: string[]
}

export interface DisplayLimits {
  digits: number
  /** Characters the display renders unambiguously. */
  charset: string
}

export function initialState(now: Millis, display: DisplayLimits, settings: Partial<Settings> = {}, captureDevices: CaptureKind[] = [], evaluatorKeys: EvaluationScale = 5): CounterState {
  return {
    mode: 'closed',
    since: now,
    ticket: null,
    officer: null,
    evaluation: null,
    pause: null,
    pauseAfter: null,
    overtime: 'none',
    faults: [],
    settings: { ...DEFAULT_SETTINGS, ...settings },
    ignoredPresses: 0,
    display,
    captureDevices,
    evaluatorKeys,
    captures: {},
    records: { prefix: 'svc', next: 1 },
    closedRecords: [],
  }
}

/** What can happen to a window. */
export type Input =
  | { kind: 'command'; command: Command }
  /** `pressedMono`: when the key went down (the evaluator decides a press a little later); absent, the press is as old as the step. */
  | { kind: 'key'; score: EvaluationScore; pressedMono?: Millis }
  | { kind: 'ambiguous-press' }
  | { kind: 'tick' }
  | { kind: 'fault'; device: string; code: string; message: string }
  | { kind: 'fault-cleared'; device: string; code: string }
  | { kind: 'officer-key'; key: OfficerKey }
  | { kind: 'capture-result'; device: CaptureKind; cmd: string; outcome: { ok: true; latencyMs: number } | { ok: false; reason: CaptureFailure; message: string } }

/** An event as the link publishes it (the contract's EventDraft: `type` and its fields). */
export type EventEffect = { kind: 'event'; event: EventDraft }

/**
 * A reply to a command the machine could read, so `cmd` and `name` are known;
 * without `kind`, it is the contract's ReplyFields. Kept flat: the state file
 * stores these in its ledger.
 */
export type ReplyEffect =
  | { kind: 'reply'; cmd: string; name: CommandName; ok: true; result?: Record<string, unknown> }
  | { kind: 'reply'; cmd: string; name: CommandName; ok: false; code: ErrorCode; message: string; result?: Record<string, unknown> }

/** What the runtime must do after a step; the display and lamp follow from the state itself. */
export type Effect =
  | EventEffect
  | ReplyEffect
  | { kind: 'identify'; seconds: number }
  | { kind: 'sync' }
  | { kind: 'apply-settings'; changed: Array<keyof Settings | 'logLevel'>; logLevel?: string }
  | { kind: 'capture'; device: CaptureKind; cmd: string }
  /** The runtime runs the tests on the devices and sends the reply itself. */
  | { kind: 'self-test'; cmd: string; tests: SelfTest[] }
  /** No applicant at the window: the runtime checks the release and replies itself (edge/update/installer.ts), then installs it. */
  | { kind: 'update'; cmd: CommandOf<'update'> }

export interface Step {
  state: CounterState
  effects: Effect[]
}

import type { EvaluationScale, EvaluationScore, OvertimeLevel, WindowMode, ErrorCode, Command, EventType, EventFields, CommandName } from '../protocol/index.ts'

/** Times are milliseconds since the epoch, always passed in: the machine never reads a clock. */
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
}

export const DEFAULT_SETTINGS: Settings = {
  evaluationTimeoutS: 30,
  // "one acceptance within 5 minutes, done within 30 minutes" (DOMAIN.md): warn at 5, over at 30.
  overtimeWarnS: 300,
  overtimeLimitS: 1800,
  telemetryPeriodS: 60,
  brightness: 15,
  scale: 3,
  attentionS: 10,
}

export interface Ticket {
  number: string
  service: string | null
  green: boolean
  appointment: boolean
  calledAt: Millis
  /** Last call or recall: the display blinks for attentionS after it. */
  attentionAt: Millis
  recalls: number
  startedAt: Millis | null
}

export interface Officer {
  id: string
  name: string | null
}

export interface Evaluation {
  ticket: string
  officer: string | null
  openedAt: Millis
  closesAt: Millis
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
  pause: { reason: string; since: Millis } | null
  overtime: OvertimeLevel
  faults: Fault[]
  settings: Settings
  /** Evaluator presses while no evaluation was open: counted, never ratings. */
  ignoredPresses: number
  /** What the board's call display can show, from its profile: a call it cannot show is refused, never mangled. */
  display: DisplayLimits
}

export interface DisplayLimits {
  digits: number
  /** Characters the display renders unambiguously. */
  charset: string
}

export function initialState(now: Millis, display: DisplayLimits, settings: Partial<Settings> = {}): CounterState {
  return {
    mode: 'closed',
    since: now,
    ticket: null,
    officer: null,
    evaluation: null,
    pause: null,
    overtime: 'none',
    faults: [],
    settings: { ...DEFAULT_SETTINGS, ...settings },
    ignoredPresses: 0,
    display,
  }
}

/** What can happen to a window. */
export type Input =
  | { kind: 'command'; command: Command }
  | { kind: 'key'; score: EvaluationScore }
  | { kind: 'ambiguous-press' }
  | { kind: 'tick' }
  | { kind: 'fault'; device: string; code: string; message: string }
  | { kind: 'fault-cleared'; device: string; code: string }

export type EventEffect = { [T in EventType]: { kind: 'event'; type: T; fields: EventFields<T> } }[EventType]

/** What the runtime must do after a step; the display and lamp follow from the state itself. */
export type Effect =
  | EventEffect
  | { kind: 'reply'; cmd: string; name: CommandName; ok: true; result?: Record<string, unknown> }
  | { kind: 'reply'; cmd: string; name: CommandName; ok: false; code: ErrorCode; message: string }
  | { kind: 'identify'; seconds: number }
  | { kind: 'sync' }
  | { kind: 'apply-settings'; changed: Array<keyof Settings | 'logLevel'>; logLevel?: string }

export interface Step {
  state: CounterState
  effects: Effect[]
}

import { z } from 'zod'

/**
 * Enumerations shared by commands, events and state. Each lives here once so a
 * value added for a command cannot be forgotten in the event that reports it.
 */

export const SERVICE_OUTCOMES = ['served', 'transferred', 'abandoned'] as const
export const outcomeSchema = z.enum(SERVICE_OUTCOMES).describe('how the service ended')
export type ServiceOutcome = z.infer<typeof outcomeSchema>

/** How a service record goes on at a window after it left another (or the same) one. */
export const CONTINUATIONS = ['transfer', 'park'] as const
export const continuesSchema = z.enum(CONTINUATIONS)
export type Continuation = z.infer<typeof continuesSchema>

export const CAPTURE_KINDS = ['photo', 'fingerprint'] as const
export const captureKindSchema = z.enum(CAPTURE_KINDS)
export type CaptureKind = z.infer<typeof captureKindSchema>

export const CAPTURE_FAILURES = ['timeout', 'busy', 'stuck', 'not-ready', 'fault'] as const
export const captureFailureSchema = z.enum(CAPTURE_FAILURES)
export type CaptureFailure = z.infer<typeof captureFailureSchema>

/**
 * A three-key evaluator (satisfied / neutral / dissatisfied, the common hall
 * model) uses the middle three values; a five-key one uses all five.
 */
export const EVALUATION_SCORES = ['very-satisfied', 'satisfied', 'neutral', 'dissatisfied', 'very-dissatisfied'] as const
export const THREE_KEY_SCORES = ['satisfied', 'neutral', 'dissatisfied'] as const
export const scoreSchema = z.enum(EVALUATION_SCORES)
export type EvaluationScore = z.infer<typeof scoreSchema>

/**
 * What each score means to the people who read it. The national 政务服务"好差评"
 * rules have five levels; a hall with a three-key evaluator labels its keys
 * 满意 / 一般 / 不满意, which are the national 满意 / 基本满意 / 不满意 (a three-key
 * board never sends the two outer levels). The two dissatisfied levels are the
 * ones the rules say must be followed up.
 */
export const SCORE_LABELS = {
  'very-satisfied': { national: '非常满意', threeKey: null, en: 'very satisfied', followUp: false },
  satisfied: { national: '满意', threeKey: '满意', en: 'satisfied', followUp: false },
  neutral: { national: '基本满意', threeKey: '一般', en: 'basically satisfied (three keys: neutral)', followUp: false },
  dissatisfied: { national: '不满意', threeKey: '不满意', en: 'dissatisfied', followUp: true },
  'very-dissatisfied': { national: '非常不满意', threeKey: null, en: 'very dissatisfied', followUp: true },
} as const satisfies Record<(typeof EVALUATION_SCORES)[number], { national: string; threeKey: string | null; en: string; followUp: boolean }>

/** The scores the rules say must be followed up (差评): a board sends a `rating-alert` beside `evaluated` for each. */
export const FOLLOW_UP_SCORES = ['dissatisfied', 'very-dissatisfied'] as const satisfies ReadonlyArray<{ [S in EvaluationScore]: (typeof SCORE_LABELS)[S]['followUp'] extends true ? S : never }[EvaluationScore]>
export const followUpScoreSchema = z.enum(FOLLOW_UP_SCORES)
export type FollowUpScore = z.infer<typeof followUpScoreSchema>

export function isFollowUpScore(score: EvaluationScore): score is FollowUpScore {
  return SCORE_LABELS[score].followUp
}

export const EVALUATION_SCALES = [3, 5] as const
export const scaleSchema = z.literal(EVALUATION_SCALES).describe('number of keys on the evaluator')
export type EvaluationScale = z.infer<typeof scaleSchema>

export const WINDOW_MODES = ['closed', 'idle', 'calling', 'serving', 'evaluating', 'paused'] as const
export const modeSchema = z.enum(WINDOW_MODES)
export type WindowMode = z.infer<typeof modeSchema>

/** The modes with an applicant at the window: no update (it restarts the board) and no trigger test (it fires the capture devices) then. */
const APPLICANT_MODES: ReadonlySet<WindowMode> = new Set(['calling', 'serving', 'evaluating'])
export function hasApplicantMode(mode: WindowMode): boolean {
  return APPLICANT_MODES.has(mode)
}

export const OVERTIME_LEVELS = ['none', 'warning', 'over'] as const
export const overtimeLevelSchema = z.enum(OVERTIME_LEVELS)
export type OvertimeLevel = z.infer<typeof overtimeLevelSchema>

export const OFFICER_KEYS = ['call-next', 'recall', 'no-show', 'pause', 'resume', 'help', 'finish'] as const
export const officerKeySchema = z.enum(OFFICER_KEYS)
export type OfficerKey = z.infer<typeof officerKeySchema>

export const DEVICE_HEALTH = ['ok', 'fault', 'absent'] as const
export const deviceHealthSchema = z.enum(DEVICE_HEALTH)
export type DeviceHealth = z.infer<typeof deviceHealthSchema>

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const
export const logLevelSchema = z.enum(LOG_LEVELS)
export type LogLevel = z.infer<typeof logLevelSchema>

export const SELF_TESTS = ['display', 'keys', 'triggers'] as const
export const selfTestSchema = z.enum(SELF_TESTS)
export type SelfTest = z.infer<typeof selfTestSchema>

export const OFFLINE_REASONS = ['will', 'stop', 'restart', 'upgrade', 'fault'] as const
export const offlineReasonSchema = z.enum(OFFLINE_REASONS)
export type OfflineReason = z.infer<typeof offlineReasonSchema>

export const BRIDGE_STATES = ['connected', 'connecting', 'disconnected'] as const
export const bridgeStateSchema = z.enum(BRIDGE_STATES)
export type BridgeState = z.infer<typeof bridgeStateSchema>

/** Fault devices and codes are board-specific names (e.g. 'display', 'nack'), kept short for logs and topics. */
export const deviceNameSchema = z.string().min(1).max(32)
export const faultCodeSchema = z.string().min(1).max(32)

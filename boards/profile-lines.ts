/**
 * Every GPIO line a board profile declares, under one stable name per role.
 *
 * The runtime opens lines under these names and the simulated board declares
 * its pins under the same names, so both sides come from this one list and a
 * role added here shows up in both.
 */
import type { LineRef, OfficerKey, Score } from './line-ref.ts'

export interface ProfileLine {
  /** Line name: the score for evaluator keys, 'officer-<key>', 'status-lamp', 'photo-trigger', … */
  name: string
  /** Where it sits in the profile, for error messages ('keys.neutral'). */
  path: string
  ref: LineRef
  direction: 'in' | 'out'
  /** Logical level an output starts in; default 0 (inactive). */
  initial?: 0 | 1
}

/** The parts of a profile that hold lines (structural, so the schema can use it while validating). */
export interface ProfileLineSource {
  display?: { driver: string; pins?: { din: LineRef; clk: LineRef; cs: LineRef } | undefined } | undefined
  keys: Partial<Record<Score, LineRef | undefined>>
  officerKeys?: Partial<Record<OfficerKey, LineRef | undefined>> | undefined
  outputs?:
    | {
        statusLamp?: LineRef | undefined
        evaluatorLamp?: LineRef | undefined
        nvrRelay?: LineRef | undefined
      }
    | undefined
  capture?:
    | {
        photo?: { trigger: LineRef; done: LineRef } | undefined
        fingerprint?: { trigger: LineRef; done: LineRef } | undefined
      }
    | undefined
}

export const OUTPUT_LINE_NAMES = {
  statusLamp: 'status-lamp',
  evaluatorLamp: 'evaluator-lamp',
  nvrRelay: 'nvr-relay',
} as const

/** A GPIO-driven display's lines (MAX7219). */
export const DISPLAY_LINE_NAMES = {
  din: 'display-din',
  clk: 'display-clk',
  cs: 'display-cs',
} as const

export function officerLineName(key: OfficerKey): string {
  return `officer-${key}`
}

export function profileLines(profile: ProfileLineSource): ProfileLine[] {
  const lines: ProfileLine[] = []
  const add = (name: string, path: string, ref: LineRef | undefined, direction: 'in' | 'out', initial?: 0 | 1) => {
    if (ref !== undefined) lines.push({ name, path, ref, direction, ...(initial !== undefined ? { initial } : {}) })
  }
  const pins = profile.display?.pins
  if (pins !== undefined) {
    add(DISPLAY_LINE_NAMES.din, 'display.pins.din', pins.din, 'out')
    add(DISPLAY_LINE_NAMES.clk, 'display.pins.clk', pins.clk, 'out')
    // LOAD/CS rests high: a frame is latched on its rising edge.
    add(DISPLAY_LINE_NAMES.cs, 'display.pins.cs', pins.cs, 'out', 1)
  }
  for (const [score, ref] of Object.entries(profile.keys)) add(score, `keys.${score}`, ref, 'in')
  for (const [key, ref] of Object.entries(profile.officerKeys ?? {})) {
    add(officerLineName(key as OfficerKey), `officerKeys.${key}`, ref, 'in')
  }
  const outputs = profile.outputs ?? {}
  for (const role of Object.keys(OUTPUT_LINE_NAMES) as Array<keyof typeof OUTPUT_LINE_NAMES>) {
    add(OUTPUT_LINE_NAMES[role], `outputs.${role}`, outputs[role], 'out')
  }
  for (const kind of ['photo', 'fingerprint'] as const) {
    const device = profile.capture?.[kind]
    add(`${kind}-trigger`, `capture.${kind}.trigger`, device?.trigger, 'out')
    add(`${kind}-done`, `capture.${kind}.done`, device?.done, 'in')
  }
  return lines
}

export interface SharedLine {
  path: string
  firstPath: string
  chip: string
  offset: number
}

/** Lines declared twice (same chip and offset under two roles): a copy-paste slip in a profile. */
export function findSharedLines(profile: ProfileLineSource): SharedLine[] {
  const seen = new Map<string, string>()
  const shared: SharedLine[] = []
  for (const line of profileLines(profile)) {
    const key = `${line.ref.chip}:${line.ref.offset}`
    const firstPath = seen.get(key)
    if (firstPath === undefined) seen.set(key, line.path)
    else shared.push({ path: line.path, firstPath, chip: line.ref.chip, offset: line.ref.offset })
  }
  return shared
}

import { z } from 'zod'
import { checkTemplate, DEFAULT_TEMPLATES } from './script.ts'

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected HH:MM, e.g. "20:30"' })

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

const template = z.string().min(1).max(200).superRefine((t, ctx) => {
  const problem = checkTemplate(t)
  // The Chinese rides along for issueHalves (edge/shared/schema-problem.ts); the English stays the issue's message.
  if (problem) ctx.addIssue({ code: 'custom', message: problem.en, params: { zh: problem.zh } })
})

/** The hub's `announcer` section: the hall's voice caller (docs/operations.md). Absent: no announcer. */
export const announcerConfigSchema = z.strictObject({
  /** The voice pack: `generated/<lang>/` from espeak-ng, the hall's recordings in `<lang>/` (hub/announcer/voice-pack.ts). */
  voiceDir: z.string().min(1),
  /** Make the default pack at start when the directory has none and espeak-ng is installed (default true). */
  makeVoicePack: z.boolean().default(true),
  output: z.union([
    z.strictObject({ aplay: z.strictObject({ device: z.string().min(1).default('default') }) }),
    z.strictObject({ dir: z.string().min(1), keep: z.number().int().min(1).optional(), line: z.string().min(1).optional() }),
  ]),
  template: template.default(DEFAULT_TEMPLATES.zh),
  /** Say it in English after the Chinese: true for the default English template, or a template of one's own. */
  english: z.union([z.boolean(), template]).default(false),
  /** 0–2; 1 keeps the clips as recorded, above 1 louder (clipped, never wrapped). */
  volume: z.number().min(0).max(2).default(1),
  /** How many times a call and a recall are said, one after the other. */
  repeat: z.strictObject({ called: z.number().int().min(1).max(5).default(1), recalled: z.number().int().min(1).max(5).default(2) }).prefault({}),
  /** No announcement from `from` until `to`, hall-local time (may span midnight); the dashboard still lists them. */
  quietHours: z.strictObject({ from: clock, to: clock }).nullable().default(null),
  /** The hall's time zone, for quiet hours and the times the dashboard shows. */
  timeZone: z.string().refine(validTimeZone, { error: 'an IANA time zone such as "Asia/Shanghai"' }).default('Asia/Shanghai'),
  /** An announcement still waiting after this long is dropped, not said: a call said minutes late sends people to the wrong window. */
  maxDelayS: z.number().min(1).max(3600).default(60),
  /** The espeak-ng binary that makes the default pack. */
  espeak: z.string().min(1).default('/usr/bin/espeak-ng'),
  /** Silences, in milliseconds: between clips, between the languages, between repeats. */
  clipGapMs: z.number().int().min(0).max(2000).default(60),
  languageGapMs: z.number().int().min(0).max(5000).default(500),
  repeatGapMs: z.number().int().min(0).max(5000).default(800),
})

export type AnnouncerConfig = z.input<typeof announcerConfigSchema>
export type ResolvedAnnouncerConfig = z.output<typeof announcerConfigSchema>

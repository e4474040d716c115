/**
 * A GPIO line as a board profile names it, and the names of the keys a
 * profile wires. The key names are the contract's own (edge/protocol), so a
 * profile can only wire a key the counter and central know by that name.
 */
import { z } from 'zod'
import type { EvaluationScore, OfficerKey } from '../edge/protocol/vocabulary.ts'

export const lineRefSchema = z.strictObject({
  /** gpiochip label, e.g. 'pinctrl-bcm2711' (Pi 4), 'pinctrl-rp1' (Pi 5). */
  chip: z.string().min(1),
  offset: z.number().int().min(0).max(511),
  activeLow: z.boolean().default(false),
  /** Pull wanted on an input; documents config.txt for onoff, requested directly by chardev. */
  bias: z.enum(['pull-up', 'pull-down', 'none']).optional(),
  /**
   * What holds the pin while the board boots, before any program drives it:
   * the SoC's reset pull ('up', 'down') or nothing ('none', floating). An
   * output whose inactive level is the other one is switched on during every
   * boot (a relay closing, a camera firing); the profile schema refuses that.
   */
  bootPull: z.enum(['up', 'down', 'none']).optional(),
})
export type LineRef = z.infer<typeof lineRefSchema>

/** An evaluator key, named by the rating it gives (the contract's score). */
export type Score = EvaluationScore
export type { OfficerKey }

/**
 * A GPIO line as a board profile names it, and the names of the keys a
 * profile wires. The key names are the contract's own (edge/protocol), so a
 * profile can only wire a key the counter and central know by that name.
 */
import { z } from 'zod'
import type { EvaluationScore, OfficerKey } from '../edge/protocol/vocabulary.ts'

/**
 * A line on a Modbus DI/DO module is named by the chip `modbus:<slave>/di`
 * (a discrete input) or `modbus:<slave>/coil` (a coil), its offset the input
 * or coil number from 0; `"modbus:<slave>/<di|coil>/<n>"` is the short form.
 */
const MODBUS_CHIP = /^modbus:([0-9]{1,3})\/(di|coil)$/
const MODBUS_SHORT = /^(modbus:[0-9]{1,3}\/(?:di|coil))\/([0-9]{1,4})$/

export type ModbusLineKind = 'di' | 'coil'

/** The slave and kind a `modbus:` chip names; undefined for any other chip. */
export function modbusChip(chip: string): { slave: number; kind: ModbusLineKind } | undefined {
  const m = MODBUS_CHIP.exec(chip)
  return m ? { slave: Number(m[1]), kind: m[2] as ModbusLineKind } : undefined
}

/** `"modbus:1/di/3"` → `{ chip: 'modbus:1/di', offset: 3 }`; anything else is left for the object schema to judge. */
function expandShortRef(v: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof v !== 'string') return v
  const m = MODBUS_SHORT.exec(v)
  if (m) return { chip: m[1], offset: Number(m[2]) }
  ctx.addIssue({ code: 'custom', message: `"${v}" is not a line: use { "chip": …, "offset": … } or "modbus:<slave>/<di|coil>/<n>"` })
  return z.NEVER
}

const lineRefShape = {
  /** gpiochip label, e.g. 'pinctrl-bcm2711' (Pi 4), 'pinctrl-rp1' (Pi 5); or 'modbus:<slave>/<di|coil>'. */
  chip: z.string().min(1),
  offset: z.number().int().min(0).max(9999),
  activeLow: z.boolean().default(false),
  /** Pull wanted on an input; documents config.txt for sysfs (onoff), requested from the kernel by the chardev backend. */
  bias: z.enum(['pull-up', 'pull-down', 'none']).optional(),
  /**
   * Kernel debounce of an input, in µs (gpio.backend 'chardev' only): edges
   * shorter than this never reach the runtime. Leave it off evaluator keys,
   * whose driver judges bounce and chatter itself from the raw edges.
   */
  debounceUs: z.number().int().min(1).max(1_000_000).optional(),
  /**
   * What holds the pin while the board boots, before any program drives it:
   * the SoC's reset pull ('up', 'down') or nothing ('none', floating). An
   * output whose inactive level is the other one is switched on during every
   * boot (a relay closing, a camera firing); the profile schema refuses that.
   */
  bootPull: z.enum(['up', 'down', 'none']).optional(),
}

/** A gpiochip has at most 512 lines; a Modbus module's range is checked against the module the profile declares. */
function checkOffset(ref: { chip: string; offset: number }, ctx: z.RefinementCtx): void {
  if (ref.offset > 511 && modbusChip(ref.chip) === undefined) {
    ctx.addIssue({ code: 'custom', path: ['offset'], message: `offset ${ref.offset} is beyond a gpiochip's 0..511` })
  }
}

const lineRefObjectSchema = z.strictObject(lineRefShape).superRefine(checkOffset)
export const lineRefSchema = z.preprocess(expandShortRef, lineRefObjectSchema)
export type LineRef = z.infer<typeof lineRefObjectSchema>

/** A line with more fields (the relay's hold time): the same two forms. */
export function lineRefWith<T extends z.ZodRawShape>(extra: T) {
  return z.preprocess(expandShortRef, z.strictObject({ ...lineRefShape, ...extra }).superRefine((ref, ctx) => checkOffset(ref as { chip: string; offset: number }, ctx)))
}

/** An evaluator key, named by the rating it gives (the contract's score). */
export type Score = EvaluationScore
export type { OfficerKey }

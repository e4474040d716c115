/**
 * Board profile parts for pixel screens (docs/hardware.md §4.5–4.8): a chain
 * of MAX7219 8×8 matrix modules on three GPIO lines, or an SSD1306 / SH1106
 * 128×64 OLED on I2C, as the window's display; and an optional OLED officer
 * panel beside it.
 */
import { z } from 'zod'
import { lineRefSchema } from './line-ref.ts'

const brightnessSchema = z.number().int().min(0).max(15).default(15)

/** "0x3C" reads better in a profile than 60; the modules answer at 0x3C, or 0x3D with the address jumper. */
const oledAddressSchema = z
  .union([
    z.number().int(),
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{1,2}$/, 'expected an address like "0x3C"')
      .transform((s) => Number.parseInt(s, 16)),
  ])
  .pipe(z.number().int().refine((a) => a === 0x3c || a === 0x3d, 'an SSD1306/SH1106 module answers at 0x3C or 0x3D'))

/** Longest ticket number the screen takes (a longer call is refused, never cut): the counter checks calls against it. */
const ticketCharsSchema = z.number().int().min(1).max(12)

/**
 * MAX7219 8×8 modules in one chain (FC-16 wiring, docs/hardware.md §4.5):
 * `modulesWide` × `modulesHigh` modules, 64×16 for the usual window strip.
 */
export const max7219MatrixDisplaySchema = z.strictObject({
  driver: z.literal('max7219-matrix'),
  modulesWide: z.number().int().min(1).max(16),
  modulesHigh: z.number().int().min(1).max(4),
  digits: ticketCharsSchema.default(6),
  pins: z.strictObject({ din: lineRefSchema, clk: lineRefSchema, cs: lineRefSchema }),
  brightness: brightnessSchema,
  /** A MAX7219 cannot be read back or NACK: everything is re-sent this often (ms; 0 = never). */
  refreshMs: z.number().int().min(0).default(10_000),
  /** As for the 7-segment MAX7219: the shifter between 3.3 V GPIO and the 5 V chips ('74AHCT125 at 5 V'), or 'none'. */
  levelShifter: z.string().min(1).optional(),
})

const oledFields = {
  address: oledAddressSchema,
  brightness: brightnessSchema,
  /** The controller comes back off with random RAM after a brown-out and still acknowledges: init and frame every this many ms. */
  refreshMs: z.number().int().min(0).default(5_000),
}

/** A 128×64 OLED as the window's own sign. */
export const oledDisplaySchema = z.strictObject({
  driver: z.enum(['ssd1306', 'sh1106']),
  digits: ticketCharsSchema.default(8),
  ...oledFields,
})

/** The officer's panel: who is signed in (name, 警号) and what the window is doing; on the same I2C bus. */
export const officerPanelSchema = z.strictObject({
  driver: z.enum(['ssd1306', 'sh1106']),
  ...oledFields,
})

export const PIXEL_DISPLAY_DRIVERS = ['max7219-matrix', 'ssd1306', 'sh1106'] as const
export type PixelDisplayDriver = (typeof PIXEL_DISPLAY_DRIVERS)[number]

export function isPixelDisplay(driver: string): driver is PixelDisplayDriver {
  return (PIXEL_DISPLAY_DRIVERS as readonly string[]).includes(driver)
}

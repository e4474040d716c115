import { z } from 'zod'

/**
 * The window as the public knows it: the number on the sign above it and the
 * name a voice caller, a hall screen or central says ("3", "3号窗口"). It is
 * not the counter id (`w03`), which is a topic level and an account name and
 * may be anything a hall's installer chose.
 */

/** What the voice pack can say one character at a time (docs/operations.md, the announcer): the same alphabet as tickets. */
export const WINDOW_NUMBER_PATTERN = /^[0-9A-Z]{1,8}$/

export const publicWindowSchema = z
  .strictObject({
    number: z.string().regex(WINDOW_NUMBER_PATTERN, { error: 'expected 1–8 characters A–Z, 0–9, e.g. "3"' }).describe('the number on the window\'s sign, e.g. "3"'),
    name: z.string().min(1).max(32).describe('what the hall calls it, e.g. "3号窗口"'),
  })
  .describe('the public window: from the board\'s config, or by default from the counter id (w03 → "3", "3号窗口")')

export type PublicWindow = z.infer<typeof publicWindowSchema>

/** The name a window gets when its config gives a number only. */
export function windowNameFor(number: string): string {
  return `${number}号窗口`
}

/**
 * The public window of a counter whose config names none: the last run of
 * digits in the id without leading zeros (w03 → "3", hall-2-w12 → "12"); an id
 * without digits keeps its letters (passport → "PASSPORT"), so every window
 * has a number however its installer named it.
 */
export function defaultPublicWindow(counter: string): PublicWindow {
  const digits = /(\d+)(?!.*\d)/.exec(counter)?.[1]
  const number = digits !== undefined ? String(Number(digits.slice(-8))) : counter.toUpperCase().replace(/[^0-9A-Z]/g, '').slice(0, 8) || '0'
  return { number, name: windowNameFor(number) }
}

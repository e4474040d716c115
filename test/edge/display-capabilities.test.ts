import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { readdirSync } from 'node:fs'
import { TICKET_CHARACTERS } from '../../edge/protocol/index.ts'
import { harnessPerTest, type EdgeHarness } from '../support/edge-harness.ts'

const perTest = harnessPerTest()
const PROFILES = readdirSync(new URL('../../boards/', import.meta.url)).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''))

/** What the birth promises: the longest ticket, and the characters the display cannot draw. */
function displayPromise(h: EdgeHarness): { width: number; lacks: string } {
  const birth = h.publishes.find((p) => p.parsed.kind === 'status')!
  const caps = (birth.message as { capabilities: string[] }).capabilities
  const widths = caps.filter((c) => c.startsWith('display-width:'))
  expect(widths).toHaveLength(1)
  return { width: Number(widths[0]!.slice('display-width:'.length)), lacks: caps.filter((c) => c.startsWith('display-lacks:')).map((c) => c.slice('display-lacks:'.length)).join('') }
}

/**
 * Central reads a window's display from its birth (docs/integration.md,
 * "Tickets a window can show") so that it calls only tickets the window will
 * show: the window must accept exactly those and refuse the rest.
 */
describe("the birth's display capabilities", () => {
  it.each(PROFILES)('%s: the window accepts a call exactly when its birth says the display can show the ticket', async (profile) => {
    const h = await perTest.start({ profile })
    const { width, lacks } = displayPromise(h)
    expect(width).toBeGreaterThanOrEqual(1)
    expect(await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))).toMatchObject({ ok: true })
    const shown = (t: string) => t.length <= width && ![...t].some((c) => lacks.includes(c))
    // Every character once, the widest ticket and one past it, then random tickets.
    const fixed = [...TICKET_CHARACTERS, 'A'.repeat(width), ...(width < 8 ? ['A'.repeat(width + 1)] : [])]
    const random = fc.sample(fc.string({ unit: fc.constantFrom(...TICKET_CHARACTERS), minLength: 1, maxLength: 8 }), { numRuns: 60, seed: 22 })
    for (const ticket of [...fixed, ...random]) {
      const reply = await h.reply(h.command('call', { ticket }))
      expect({ ticket, ok: reply.ok, code: reply.ok ? null : reply.code }).toEqual({ ticket, ok: shown(ticket), code: shown(ticket) ? null : 'unsupported' })
      if (reply.ok) expect(await h.reply(h.command('no-show', {}))).toMatchObject({ ok: true })
    }
  })
})

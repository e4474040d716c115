import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EdgeHarness, type RecordedPublish } from '../support/edge-harness.ts'
import { disk } from '../support/power-cut-disk.ts'

// The board's own file calls go through the power-cut disk (test/support/power-cut-disk.ts): real files, plus what a cut would leave.
vi.mock('node:fs/promises', async (actual) => (await import('../support/power-cut-disk.ts')).disk.wrap(await actual()))

/**
 * A rating must never be lost or doubled, whatever instant the
 * power fails. The applicant rates, and at once the officer's next command
 * comes: the power is cut after each write the board makes from the press
 * on (state file, journal), the board starts again on what the disk kept,
 * and central, keeping one copy per message id, has exactly one rating for
 * the service. The journal's fsync is slow, as on an SD card, so the
 * command's state save lands while the rating is still on its way into the journal.
 */
const JOURNAL_SYNC_MS = 40

let dataDir = ''
beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2025-03-04T09:00:00.000Z') })
  dataDir = await mkdtemp(join(tmpdir(), 'rating-cut-'))
})
afterEach(async () => {
  vi.useRealTimers()
  disk.slowSyncMs = () => 0
  await rm(dataDir, { recursive: true, force: true })
})

/** Runs until the journal has nothing waiting: everything the board keeps has reached the hub. */
async function drained(h: EdgeHarness): Promise<void> {
  await h.sync()
  await h.until(() => h.edge.link.backlog === 0, 'the journal drained')
}

const outcomes = (received: RecordedPublish[], ticket: string) => {
  const byId = new Map(received.map((p) => [p.message.id as string, p]))
  return [...byId.values()].filter((p) => p.parsed.kind === 'event' && (p.message.type === 'evaluated' || p.message.type === 'evaluation-missed') && p.message.ticket === ticket)
}

describe('a rating across a power cut at any write', () => {
  it('a rating followed at once by a command: exactly one rating at central, wherever the power failed', async () => {
    disk.slowSyncMs = (p) => (p.includes('/journal/') ? JOURNAL_SYNC_MS : 0)
    const cuts: string[] = []
    for (let point = 1; ; point++) {
      const dir = join(dataDir, `p${point}`)
      disk.watch(dir)
      const received: RecordedPublish[] = []
      let h = await EdgeHarness.start({ dataDir: dir })
      try {
        expect(await h.reply(h.command('officer', { action: 'sign-in', officer: 'li-na' }))).toMatchObject({ ok: true })
        expect(await h.reply(h.command('call', { ticket: 'A001' }))).toMatchObject({ ok: true })
        expect(await h.reply(h.command('start', {}))).toMatchObject({ ok: true })
        expect(await h.reply(h.command('finish', { outcome: 'served' }))).toMatchObject({ ok: true })
        await drained(h)
        expect(h.edge.window.current.mode).toBe('evaluating')
        disk.arm(point, () => h.drop())
        const pressed = h.hardware.press('satisfied')
        // The officer calls the next applicant the moment the rating is in.
        for (let ms = 0; ms < 250 && !disk.cut && h.edge.window.current.mode === 'evaluating'; ms++) await vi.advanceTimersByTimeAsync(1)
        let next: string | null = null
        if (!disk.cut) next = h.command('call', { ticket: 'A002' })
        await vi.advanceTimersByTimeAsync(250)
        await pressed
        await h.until(() => disk.cut || (next !== null && h.publishes.some((p) => p.parsed.kind === 'reply' && p.message.cmd === next)), 'the call answered')
        // The call's answer is in the journal: the last write of this sequence.
        let committed = false
        void h.edge.link.flush().then(() => (committed = true))
        await h.until(() => disk.cut || committed, 'the journal committed')
        if (!disk.cut) {
          disk.disarm()
          await drained(h)
        }
        if (!disk.cut) {
          // Every write point from the press to the end has had its cut: done.
          received.push(...h.publishes)
          expect(outcomes(received, 'A001').map((p) => p.message.type)).toEqual(['evaluated'])
          break
        }
        cuts.push(disk.log[disk.log.length - 1]!)
        received.push(...h.publishes)
        await h.stop()
        disk.restore()
        h = await EdgeHarness.start({ dataDir: dir })
        await drained(h)
        // The evaluator is still open for A001 if the press never reached the disk: the applicant presses again.
        if (h.edge.window.current.mode === 'evaluating' && h.edge.window.current.evaluation?.ticket === 'A001') {
          await h.press('satisfied')
          await drained(h)
        }
        received.push(...h.publishes)
        const got = outcomes(received, 'A001')
        expect(got.map((p) => p.message.type), `power cut at write ${disk.log[disk.log.length - 1]}`).toEqual(['evaluated'])
      } finally {
        await h.stop()
      }
    }
    // The cuts covered the rating's and the command's writes to both files.
    expect(cuts.some((c) => c.includes('window-state.json')), cuts.join('\n')).toBe(true)
    expect(cuts.some((c) => c.includes('journal')), cuts.join('\n')).toBe(true)
  }, 60_000)
})

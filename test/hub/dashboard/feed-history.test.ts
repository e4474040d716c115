import { describe, it, expect, afterEach } from 'vitest'
import fc from 'fast-check'
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../../edge/shared/logger.ts'
import { FeedHistory } from '../../../hub/dashboard/feed-history.ts'
import type { FeedItem } from '../../../hub/dashboard/service-stats.ts'
import { CapturedLog } from '../support/hub-fixture.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'feed-history-'))
  dirs.push(dir)
  return join(dir, 'feed.jsonl')
}

const item = (i: number, counter = i % 2 === 0 ? 'w02' : 'w01'): FeedItem => ({ counter, type: 'called', ts: new Date(Date.UTC(2026, 11, 5, 2, 0, i)).toISOString(), ticket: `A${String(i).padStart(3, '0')}`, detail: null })

const fileLines = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter(Boolean)

describe('FeedHistory', () => {
  it('numbers the entries, answers newest first, of all windows or of one, at most the limit', async () => {
    const h = new FeedHistory({ file: null, log: silentLogger() })
    await h.start()
    for (let i = 1; i <= 6; i++) expect(h.add(item(i)).entry.seq).toBe(i)
    expect(h.recent(3).map((e) => e.ticket)).toEqual(['A006', 'A005', 'A004'])
    expect(h.recent(10, 'w01').map((e) => e.ticket)).toEqual(['A005', 'A003', 'A001'])
    expect(h.recent(10, 'w09')).toEqual([])
    await h.stop()
  })

  it('keeps at most max entries in memory, and the file never passes twice max lines', async () => {
    const file = await tempFile()
    const h = new FeedHistory({ file, max: 10, log: silentLogger() })
    await h.start()
    let longest = 0
    for (let i = 1; i <= 95; i++) {
      h.add(item(i))
      await h.flushed()
      longest = Math.max(longest, (await fileLines(file)).length)
    }
    expect(h.recent(1000)).toHaveLength(10)
    expect(h.recent(1000).at(-1)!.ticket).toBe('A086')
    // One window's entries come from the same last ten, never from older ones still held between trims.
    expect(h.recent(1000, 'w01').map((e) => e.ticket)).toEqual(['A095', 'A093', 'A091', 'A089', 'A087'])
    expect(longest).toBeLessThan(20)
    // Rewritten at least once: 95 entries would be 95 lines otherwise.
    expect((await fileLines(file)).length).toBeLessThan(20)
    await h.stop()
  })

  it('whatever the order of adds and finished writes, a restart finds the last max entries, and the file never passes twice max lines', async () => {
    // Adds within one turn share an append; a rewrite can fall between an append queued and its run.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constant('flush' as const)), { maxLength: 30 }), async (max, steps) => {
        const file = await tempFile()
        const h = new FeedHistory({ file, max, log: silentLogger() })
        await h.start()
        let n = 0
        for (const step of steps) {
          if (step === 'flush') {
            await h.flushed()
            expect((n === 0 ? [] : await fileLines(file)).length).toBeLessThan(2 * max)
          } else for (let i = 0; i < step; i++) h.add(item(++n))
        }
        await h.stop()
        const again = new FeedHistory({ file, max, log: silentLogger() })
        await again.start()
        const expected = Array.from({ length: Math.min(n, max) }, (_, i) => n - i)
        expect(again.recent(100).map((e) => e.seq)).toEqual(expected)
        expect(again.recent(100).map((e) => e.ticket)).toEqual(expected.map((i) => item(i).ticket))
        await again.stop()
      }),
      { numRuns: 150 },
    )
  })

  it('a restart reloads the last entries from the file and numbers on from the last', async () => {
    const file = await tempFile()
    const first = new FeedHistory({ file, max: 10, log: silentLogger() })
    await first.start()
    for (let i = 1; i <= 25; i++) first.add(item(i))
    await first.stop()
    const again = new FeedHistory({ file, max: 10, log: silentLogger() })
    await again.start()
    expect(again.recent(100).map((e) => e.seq)).toEqual([25, 24, 23, 22, 21, 20, 19, 18, 17, 16])
    expect(again.recent(100)[0]).toMatchObject({ counter: 'w01', type: 'called', ticket: 'A025', detail: null })
    expect(again.add(item(26)).entry.seq).toBe(26)
    await again.stop()
    // The reload rewrote the file down to what it keeps.
    expect((await fileLines(file)).length).toBeLessThanOrEqual(11)
  })

  it('skips a line it cannot read (torn, not JSON, wrong shape) with a log line naming it, keeps the rest, and rewrites the file without it', async () => {
    const file = await tempFile()
    const first = new FeedHistory({ file, max: 10, log: silentLogger() })
    await first.start()
    for (let i = 1; i <= 3; i++) first.add(item(i))
    await first.stop()
    await appendFile(file, '{"seq":4,"counter":"w01","ty\n[1,2]\n{"seq":5,"counter":"w01","type":"called","ts":"x","ticket":null,"detail":null}\n')
    const log = new CapturedLog()
    const again = new FeedHistory({ file, max: 10, log: log.logger })
    await again.start()
    const skipped = log.lines.filter((l) => l.msg === 'skipped an unreadable line of the feed history')
    expect(skipped.map((l) => l.line)).toEqual([4, 5])
    expect(skipped[0]).toMatchObject({ file, why: 'not JSON' })
    expect(again.recent(100).map((e) => e.seq)).toEqual([5, 3, 2, 1])
    expect(again.add(item(6)).entry.seq).toBe(6)
    await again.stop()
    const lines = await fileLines(file)
    expect(lines).toHaveLength(5)
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow()
  })

  it('without a file it starts empty each time', async () => {
    const a = new FeedHistory({ file: null, log: silentLogger() })
    await a.start()
    a.add(item(1))
    await a.stop()
    const b = new FeedHistory({ file: null, log: silentLogger() })
    await b.start()
    expect(b.recent(10)).toEqual([])
  })
})

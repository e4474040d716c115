import { describe, it, expect } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { RatingAlertsFile, type RatingAlertView } from '../../hub/rating-alerts.ts'

function alertView(n: number, receivedAt: string): RatingAlertView {
  return {
    id: `w01-boot-${n}`, counter: 'w01', record: `w01-boot-r${n}`, ticket: `A${String(n).padStart(3, '0')}`, officer: 'P10482', score: 'dissatisfied',
    level: '不满意', levelEn: 'dissatisfied', caseNo: null, item: null, early: false, ts: receivedAt, receivedAt,
  }
}

describe('rating alerts file', () => {
  it('a flood of saves folds into a write or two of the latest list, and the file holds that list', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rating-alerts-'))
    try {
      const file = new RatingAlertsFile(join(dir, 'rating-alerts.json'), silentLogger())
      const at = new Date(2026, 10, 22, 9, 30).toISOString()
      const list: RatingAlertView[] = []
      const saves: Array<Promise<void>> = []
      for (let i = 1; i <= 100; i++) {
        list.unshift(alertView(i, at))
        saves.push(file.save([...list]))
      }
      // The first save starts a write; the 99 asked for while it runs share the one after it.
      expect(new Set(saves).size).toBeLessThanOrEqual(2)
      await Promise.all(saves)
      await file.drain()
      const saved = JSON.parse(await readFile(join(dir, 'rating-alerts.json'), 'utf8')) as { alerts: RatingAlertView[] }
      expect(saved.alerts).toHaveLength(100)
      expect(saved.alerts[0]!.ticket).toBe('A100')
      expect(await file.load(at)).toEqual(list)
      // A later day reads none of them back.
      expect(await file.load(new Date(2026, 10, 23).toISOString())).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a save that cannot be written is logged, not thrown, and the next one still lands', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rating-alerts-'))
    try {
      // A directory where the file should be: the write fails.
      const blocked = new RatingAlertsFile(dir, silentLogger())
      await expect(blocked.save([alertView(1, new Date().toISOString())])).resolves.toBeUndefined()
      const file = new RatingAlertsFile(join(dir, 'rating-alerts.json'), silentLogger())
      await file.save([alertView(2, new Date().toISOString())])
      expect((await file.load('')).map((a) => a.ticket)).toEqual(['A002'])
    } finally {
      await rm(dir, { recursive: true, force: true })
      await rm(`${dir}.tmp`, { force: true })
    }
  })
})

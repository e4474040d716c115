import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../../../edge/shared/logger.ts'
import { RolloutFile, type SavedRollout } from '../../../hub/fleet/rollout-file.ts'
import type { RolloutStatus } from '../../../hub/fleet/rollout-status.ts'

/** Log lines as JSON objects, as the hub's root logger writes them. */
function capturedLogger(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  return { log: createLogger({ name: 'test', level: 'info', pretty: false, destination }), lines }
}

function rollout(waves: number): SavedRollout {
  const status: RolloutStatus = {
    state: 'running',
    version: '2.0.0',
    atATime: 2,
    confirmWithinS: 90,
    started: '2026-12-05T09:00:00.000Z',
    finished: null,
    wave: ['w03'],
    waves,
    boards: [
      { counter: 'w01', state: 'confirmed', reported: 'confirmed', running: '2.0.0', reason: null, cmd: 'rollout-aaaaaaaaaaaa' },
      { counter: 'w03', state: 'sent', reported: 'downloading', running: '1.0.0', reason: null, cmd: 'rollout-bbbbbbbbbbbb' },
      { counter: 'w02', state: 'pending', reported: 'idle', running: '1.0.0', reason: '相邻窗口在本批 / a neighbouring window is in this wave', cmd: null },
    ],
    halted: null,
  }
  return { status, sentAt: { w01: '2026-12-05T09:00:01.000Z', w03: '2026-12-05T09:01:00.000Z' } }
}

describe('rollout file (the rollout across hub restarts)', () => {
  let dir: string
  let path: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rollout-file-'))
    path = join(dir, 'data', 'rollout.json')
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads back what it saved, boards, commands and when each was sent; nothing saved reads as no rollout', async () => {
    const { log } = capturedLogger()
    const file = new RolloutFile(path, log)
    expect(await file.load()).toBeNull()
    const r = rollout(1)
    await file.save(() => r)
    expect(await new RolloutFile(path, log).load()).toEqual(r)
    const halted: SavedRollout = { ...r, status: { ...r.status, state: 'halted', finished: '2026-12-05T09:05:00.000Z', halted: { counter: 'w03', reason: 'rolled back: boom' } } }
    await file.save(() => halted)
    expect(await new RolloutFile(path, log).load()).toEqual(halted)
    // Only the file itself is left: no temp file beside it.
    expect(await readdir(join(dir, 'data'))).toEqual(['rollout.json'])
  })

  it('saves asked for together land in order and the newest is what stays', async () => {
    const { log } = capturedLogger()
    const file = new RolloutFile(path, log)
    let newest = rollout(0)
    const saves: Array<Promise<void>> = []
    for (let i = 1; i <= 20; i++) {
      newest = rollout(i)
      saves.push(file.save(() => newest))
    }
    await Promise.all(saves)
    expect((await file.load())?.status.waves).toBe(20)
  })

  it('a reader never finds half a file while saves run one after another', async () => {
    const { log } = capturedLogger()
    const file = new RolloutFile(path, log)
    await file.save(() => rollout(0))
    let writing = true
    const reads: string[] = []
    const reader = (async () => {
      while (writing) reads.push(await readFile(path, 'utf8'))
    })()
    for (let i = 1; i <= 40; i++) await file.save(() => rollout(i))
    writing = false
    await reader
    expect(reads.length).toBeGreaterThan(0)
    for (const text of reads) expect(() => JSON.parse(text) as unknown, text.slice(-80)).not.toThrow()
  })

  it('a write cut off mid-way (its temp file half written, as kill -9 leaves it) is not read: the last whole save is', async () => {
    const { log } = capturedLogger()
    const file = new RolloutFile(path, log)
    const whole = rollout(3)
    await file.save(() => whole)
    const next = JSON.stringify({ format: 1, ...rollout(4) })
    await writeFile(`${path}.tmp`, next.slice(0, next.length / 2))
    expect(await new RolloutFile(path, log).load()).toEqual(whole)
    // The next save replaces the leftover.
    await file.save(() => rollout(5))
    expect((await file.load())?.status.waves).toBe(5)
    expect(await readdir(join(dir, 'data'))).toEqual(['rollout.json'])
  })

  for (const [what, text] of [
    ['half a file', JSON.stringify({ format: 1, ...rollout(2) }).slice(0, 120)],
    ['JSON of another shape', JSON.stringify({ format: 1, status: { state: 'flying' }, sentAt: {} })],
    ['nothing at all', ''],
  ] as const) {
    it(`a corrupt file (${what}) is set aside as .bad with a bilingual log line, and the hub starts with no rollout`, async () => {
      const { log, lines } = capturedLogger()
      await new RolloutFile(path, log).save(() => rollout(1))
      await writeFile(path, text)
      const file = new RolloutFile(path, log)
      expect(await file.load()).toBeNull()
      expect(await readFile(`${path}.bad`, 'utf8')).toBe(text)
      const line = lines.find((l) => l.level === 50)
      expect(line?.msg).toMatch(/升级进度文件无法读取.*\/ the rollout file could not be read and was set aside/)
      expect(line?.keptAs).toBe(`${path}.bad`)
      expect(String(line?.why)).toMatch(/ \/ /)
      // Nothing is left to trip over at the next start; a new save works.
      expect(await file.load()).toBeNull()
      await file.save(() => rollout(7))
      expect((await file.load())?.status.waves).toBe(7)
    })
  }

  it('without a path (a hub cluster, no data directory) nothing is read or written', async () => {
    const { log } = capturedLogger()
    const file = new RolloutFile(null, log)
    await file.save(() => rollout(1))
    expect(await file.load()).toBeNull()
    expect(await readdir(dir)).toEqual([])
  })
})

import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile, appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../edge/shared/logger.ts'
import { Journal, MemoryStorage, type NewEntry } from '../../edge/link/journal.ts'
import { SegmentStorage } from '../../edge/link/journal-segments.ts'
import { entryBytes } from '../../edge/link/journal-records.ts'
import { eventually } from '../support/probe.ts'

const log = silentLogger()
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'journal-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function event(i: number, cls: NewEntry['cls'] = 'event'): NewEntry {
  return { cls, topic: `hall/h1/counter/w01/${cls === 'telemetry' ? 'telemetry' : 'event/called'}`, payload: Buffer.from(JSON.stringify({ id: `e-${i}`, i })), qos: cls === 'telemetry' ? 0 : 1, retain: false }
}

async function openJournal(opts: { segmentBytes?: number; ackFlushMs?: number } = {}) {
  const storage = new SegmentStorage({ dir, log, ...(opts.segmentBytes ? { segmentBytes: opts.segmentBytes } : {}) })
  const journal = new Journal({ storage, log, ...(opts.ackFlushMs ? { ackFlushMs: opts.ackFlushMs } : {}) })
  const recovered = await journal.open()
  return { journal, storage, recovered }
}

const ids = (entries: Array<{ payload: Buffer }>) => entries.map((e) => (JSON.parse(e.payload.toString()) as { id: string }).id)

async function segmentFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.startsWith('seg-')).sort()
}

describe('journal on disk', () => {
  it('gives back, after a restart, every entry not acknowledged, in order and byte for byte', async () => {
    const a = await openJournal()
    for (let i = 0; i < 50; i++) a.journal.append(event(i))
    await a.journal.flush()
    for (let n = 1; n <= 20; n++) a.journal.ack(n)
    await a.journal.close()

    const b = await openJournal()
    expect(ids(b.recovered.entries)).toEqual(Array.from({ length: 30 }, (_, i) => `e-${i + 20}`))
    expect(b.recovered.entries[0]).toMatchObject({ n: 21, cls: 'event', qos: 1, retain: false, topic: 'hall/h1/counter/w01/event/called' })
    expect(b.journal.depth).toBe(30)
    // Numbers go on from where the last run stopped, so an old ack can never release a new entry.
    expect(b.journal.append(event(99))!.n).toBe(51)
    await b.journal.close()
  })

  it('commits a burst with one fsync, not one per entry, and counts an entry committed only once it is synced', async () => {
    const { journal, storage } = await openJournal()
    const syncsBefore = storage.stats.syncs
    for (let i = 0; i < 1000; i++) journal.append(event(i))
    expect(journal.committedN).toBe(0)
    await journal.flush()
    expect(journal.committedN).toBe(1000)
    expect(storage.stats.syncs - syncsBefore).toBe(1)

    // Appends that come in separate turns while a commit is under way are grouped into the next one.
    const before = storage.stats.syncs
    for (let round = 0; round < 20; round++) {
      journal.append(event(2000 + round))
      await new Promise((r) => setImmediate(r))
    }
    await journal.flush()
    expect(storage.stats.syncs - before).toBeGreaterThanOrEqual(1)
    expect(storage.stats.syncs - before).toBeLessThanOrEqual(20)
    await journal.close()
    const again = await openJournal()
    expect(again.recovered.entries).toHaveLength(1020)
    await again.journal.close()
  })

  it('recovers to the last whole record when the last write was torn at any byte', async () => {
    const a = await openJournal()
    for (let i = 0; i < 5; i++) a.journal.append(event(i))
    await a.journal.close()
    const [file] = await segmentFiles()
    const path = join(dir, file!)
    const whole = await readFile(path)
    const lastRecord = entryBytes('hall/h1/counter/w01/event/called', Buffer.from(JSON.stringify({ id: 'e-4', i: 4 })))
    const lastStart = whole.length - lastRecord

    for (let cut = lastStart; cut < whole.length; cut++) {
      await writeFile(path, whole.subarray(0, cut))
      const b = await openJournal()
      expect(ids(b.recovered.entries), `cut at byte ${cut}`).toEqual(['e-0', 'e-1', 'e-2', 'e-3'])
      expect(b.recovered.torn === null).toBe(cut === lastStart)
      // What comes after the recovery is readable too: the torn bytes were cut off, not written after.
      b.journal.append(event(10))
      await b.journal.close()
      const c = await openJournal()
      expect(ids(c.recovered.entries)).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-10'])
      expect(c.recovered.torn).toBeNull()
      await c.journal.close()
    }
  })

  it('stops at a record whose checksum does not match, and at garbage after the last record', async () => {
    const a = await openJournal()
    for (let i = 0; i < 3; i++) a.journal.append(event(i))
    await a.journal.close()
    const path = join(dir, (await segmentFiles())[0]!)
    const whole = await readFile(path)

    await appendFile(path, Buffer.from([0x13, 0x00, 0x00, 0x00, 0xde, 0xad]))
    const b = await openJournal()
    expect(ids(b.recovered.entries)).toEqual(['e-0', 'e-1', 'e-2'])
    expect(b.recovered.torn?.bytes).toBe(6)
    await b.journal.close()

    const flipped = Buffer.from(whole)
    flipped[flipped.length - 3]! ^= 0xff
    await writeFile(path, flipped)
    const c = await openJournal()
    expect(ids(c.recovered.entries)).toEqual(['e-0', 'e-1'])
    expect(c.recovered.torn?.why).toMatch(/checksum/)
    await c.journal.close()
  })

  it('deletes a segment once every entry in it is acknowledged, and keeps one with a straggler', async () => {
    const { journal, storage } = await openJournal({ segmentBytes: 2048 })
    for (let i = 0; i < 100; i++) {
      journal.append(event(i))
      if (i % 10 === 9) await journal.flush()
    }
    await journal.flush()
    const segmentsFull = (await segmentFiles()).length
    expect(segmentsFull).toBeGreaterThan(3)
    // Everything acknowledged but entry 5 (in the first segment).
    for (let n = 1; n <= 100; n++) if (n !== 5) journal.ack(n)
    journal.append(event(100)) // a commit also writes the releases and drops emptied segments
    await journal.flush()
    const left = await segmentFiles()
    expect(left.length).toBe(2) // the first (holding entry 5) and the active one
    expect(storage.stats.deleted).toBe(segmentsFull - 2)
    await journal.close()

    const b = await openJournal({ segmentBytes: 2048 })
    expect(ids(b.recovered.entries)).toEqual(['e-4', 'e-100'])
    b.journal.ack(5)
    b.journal.ack(101)
    await b.journal.close()
    const c = await openJournal({ segmentBytes: 2048 })
    expect(c.recovered.entries).toEqual([])
    expect(await segmentFiles()).toHaveLength(1)
    await c.journal.close()
  })

  it('does not bring back acknowledged entries when the segment that recorded their acks is deleted', async () => {
    const { journal } = await openJournal({ segmentBytes: 1024 })
    for (let i = 0; i < 8; i++) journal.append(event(i))
    await journal.flush()
    for (let i = 8; i < 16; i++) journal.append(event(i))
    await journal.flush()
    // 1..7 acknowledged (recorded in a later segment); 8 stays; all of the rest too, so their segments can go.
    for (let n = 1; n <= 16; n++) if (n !== 8) journal.ack(n)
    for (let i = 16; i < 40; i++) {
      journal.append(event(i))
      await journal.flush()
      journal.ack(i + 1)
    }
    await journal.close()
    const b = await openJournal({ segmentBytes: 1024 })
    expect(ids(b.recovered.entries)).toEqual(['e-7'])
    await b.journal.close()
  })

  it('keeps acks compact: a run of in-order acks is one small record, written without an fsync of its own', async () => {
    const { journal, storage } = await openJournal({ ackFlushMs: 50 })
    for (let i = 0; i < 500; i++) journal.append(event(i))
    await journal.flush()
    const sizeBefore = (await stat(join(dir, (await segmentFiles())[0]!))).size
    const syncs = storage.stats.syncs
    const writes = storage.stats.writes
    for (let n = 1; n <= 500; n++) journal.ack(n)
    await eventually(() => storage.stats.writes > writes, 2_000, 'the ack flush timer to write the acks')
    const sizeAfter = (await stat(join(dir, (await segmentFiles())[0]!))).size
    expect(sizeAfter - sizeBefore).toBeLessThan(32)
    // Barrier: the journal does its writes one after another, so once a later entry's commit is
    // on disk, the ack write (and any fsync it did) is over; the entry accounts for exactly one.
    journal.append(event(500))
    await journal.flush()
    expect(storage.stats.syncs).toBe(syncs + 1)
    await journal.close()
  })
})

describe('journal size bound', () => {
  const size = entryBytes(event(0).topic, event(0).payload)

  it('sheds the oldest telemetry first and never an event', async () => {
    const journal = new Journal({ storage: new MemoryStorage(), log, maxBytes: size * 10 })
    await journal.open()
    for (let i = 0; i < 4; i++) journal.append(event(i, 'telemetry'))
    for (let i = 4; i < 10; i++) journal.append(event(i))
    expect(journal.depth).toBe(10)
    journal.append(event(10))
    journal.append(event(11, 'reply'))
    expect(journal.stats.dropped).toBe(2)
    const left = [...Array(20).keys()].map((n) => journal.get(n + 1)).filter((e) => e !== undefined)
    expect(ids(left)).toEqual(['e-2', 'e-3', 'e-4', 'e-5', 'e-6', 'e-7', 'e-8', 'e-9', 'e-10', 'e-11'])
  })

  it('when full of events and replies, refuses telemetry and keeps new events over the bound, counting them', async () => {
    const journal = new Journal({ storage: new MemoryStorage(), log, maxBytes: size * 3 })
    await journal.open()
    for (let i = 0; i < 3; i++) journal.append(event(i, 'reply'))
    expect(journal.append(event(3, 'telemetry'))).toBeNull()
    expect(journal.stats.refused).toBe(1)
    expect(journal.append(event(4))).not.toBeNull()
    expect(journal.append(event(5, 'reply'))).not.toBeNull()
    expect(journal.stats.overCapacity).toBe(2)
    expect(journal.depth).toBe(5)
    expect(journal.stats.dropped).toBe(0)
  })

  it('counts only waiting entries: room comes back as the hub acknowledges', async () => {
    const journal = new Journal({ storage: new MemoryStorage(), log, maxBytes: size * 2 })
    await journal.open()
    journal.append(event(0))
    journal.append(event(1))
    journal.ack(1)
    expect(journal.append(event(2, 'telemetry'))).not.toBeNull()
    expect(journal.stats.refused).toBe(0)
    const telemetry = event(2, 'telemetry')
    expect(journal.bytes).toBe(size + entryBytes(telemetry.topic, telemetry.payload))
  })
})

import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { CustodyLog } from '../../hub/custody-log.ts'
import { LevelCustodyStore, encodeRecord, type CustodyRecord } from '../../hub/custody-store.ts'
import { silentLogger } from '../../edge/shared/logger.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'custody-store-'))
  dirs.push(d)
  return d
}

const topic = 'hall/h1/counter/w01/event/called'
const record = (seq: number): CustodyRecord => ({ seq, topic, payload: Buffer.from(`{"n":${seq}}`), qos: 1, retain: seq % 3 === 0, at: 1_700_000_000_000 + seq })

async function openLog(dir: string): Promise<CustodyLog> {
  const l = new CustodyLog({ store: new LevelCustodyStore(dir), log: silentLogger() })
  await l.start()
  return l
}

async function drain(log: CustodyLog): Promise<CustodyRecord[]> {
  const out: CustodyRecord[] = []
  let after = 0
  for (;;) {
    const batch = await log.next(after, 7)
    if (batch.length === 0) return out
    out.push(...batch)
    after = batch[batch.length - 1]!.seq
  }
}

async function keysIn(dir: string): Promise<string[]> {
  const db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' })
  await db.open()
  const keys: string[] = []
  for await (const k of db.keys()) keys.push(k)
  await db.close()
  return keys
}

describe('custody store on LevelDB', () => {
  it('reads a data directory the one-key-per-record layout wrote, sends it first, and deletes it as acknowledged', async () => {
    const dir = join(await tempDir(), 'custody')
    // What a hub before the group layout left: r!<seq, 14 hex digits> → one record.
    const old = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' })
    await old.open()
    await old.batch(
      [4, 5, 6, 7].map((seq) => ({ type: 'put' as const, key: `r!${seq.toString(16).padStart(14, '0')}`, value: encodeRecord(record(seq)) })),
      { sync: true },
    )
    await old.close()

    const log = await openLog(dir)
    expect(log.size).toBe(4)
    const added = await Promise.all([log.append(record(0)), log.append(record(0))])
    expect(added).toEqual([8, 9])
    const all = await drain(log)
    expect(all.map((r) => r.seq)).toEqual([4, 5, 6, 7, 8, 9])
    expect(all[2]).toMatchObject({ seq: 6, topic, retain: true, qos: 1, at: 1_700_000_000_006 })
    expect(all[2]!.payload.toString()).toBe('{"n":6}')
    log.ack(4)
    log.ack(5)
    log.ack(8)
    await log.stop()

    const again = await openLog(dir)
    expect(again.size).toBe(3)
    expect((await drain(again)).map((r) => r.seq)).toEqual([6, 7, 9])
    for (const seq of [6, 7, 9]) again.ack(seq)
    await again.stop()
    expect(await keysIn(dir)).toEqual([])
  })

  it('keeps a group until its last record is acknowledged, and which of it were across a restart', async () => {
    const dir = join(await tempDir(), 'custody')
    const store = new LevelCustodyStore(dir)
    await store.open()
    await store.write([1, 2, 3, 4, 5].map(record), [], true)
    await store.write([6, 7].map(record), [], true)
    await store.write([], [2, 4, 6, 7], false)
    expect((await store.read(0, 100)).map((r) => r.seq)).toEqual([1, 3, 5])
    // The group of 6 and 7 is gone whole; as with one key per record, the highest seq still stored is what counts.
    expect(await store.scan()).toEqual({ count: 3, lastSeq: 5 })
    await store.close()
    expect((await keysIn(dir)).filter((k) => k.startsWith('g!'))).toHaveLength(1)

    const reopened = new LevelCustodyStore(dir)
    await reopened.open()
    expect(await reopened.scan()).toEqual({ count: 3, lastSeq: 5 })
    expect((await reopened.read(1, 100)).map((r) => r.seq)).toEqual([3, 5])
    await reopened.write([], [1, 3, 5], false)
    expect(await reopened.read(0, 100)).toEqual([])
    await reopened.close()
    expect(await keysIn(dir)).toEqual([])
  })

  it('a burst with a gap in its seqs (a failed write between) is stored as one group per run', async () => {
    const dir = join(await tempDir(), 'custody')
    const store = new LevelCustodyStore(dir)
    await store.open()
    await store.write([1, 2, 5, 6, 7].map(record), [], true)
    expect((await store.read(0, 100)).map((r) => r.seq)).toEqual([1, 2, 5, 6, 7])
    expect((await store.read(2, 2)).map((r) => r.seq)).toEqual([5, 6])
    expect(await store.scan()).toEqual({ count: 5, lastSeq: 7 })
    await store.close()
    expect((await keysIn(dir)).filter((k) => k.startsWith('g!'))).toHaveLength(2)
  })
})

describe('custody store backlog', () => {
  it('drains a backlog of many small groups a window at a time, in order, after a restart', async () => {
    const dir = join(await tempDir(), 'custody')
    const store = new LevelCustodyStore(dir)
    await store.open()
    for (let seq = 1; seq <= 3_000; seq += 2) await store.write([record(seq), record(seq + 1)], [], false)
    await store.write([], [10, 11, 12], false)
    await store.close()
    const again = new LevelCustodyStore(dir)
    await again.open()
    expect(await again.scan()).toEqual({ count: 2_997, lastSeq: 3_000 })
    const seen: number[] = []
    for (let after = 0; ; ) {
      const batch = await again.read(after, 32)
      if (batch.length === 0) break
      seen.push(...batch.map((r) => r.seq))
      after = batch[batch.length - 1]!.seq
    }
    await again.close()
    expect(seen).toEqual(Array.from({ length: 3_000 }, (_, i) => i + 1).filter((s) => s < 10 || s > 12))
  })
})

import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CustodyLog } from '../../hub/custody-log.ts'
import { LevelCustodyStore, MemoryCustodyStore, type CustodyRecord, type CustodyStore } from '../../hub/custody-store.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { eventually } from '../support/probe.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'custody-'))
  dirs.push(d)
  return d
}

const msg = (i: number) => ({ topic: `hall/h1/counter/w01/event/called`, payload: Buffer.from(`{"n":${i}}`), qos: 1 as const, retain: false })

/** Records every write, and can hold one back to show an append is not durable until its write is. */
class RecordingStore extends MemoryCustodyStore {
  readonly writes: Array<{ puts: number; dels: number; sync: boolean }> = []
  hold: Promise<void> | null = null
  fail = false

  override async write(puts: readonly CustodyRecord[], dels: readonly number[], sync: boolean): Promise<void> {
    this.writes.push({ puts: puts.length, dels: dels.length, sync })
    if (this.hold) await this.hold
    if (this.fail) throw new Error('disk full')
    return super.write(puts, dels, sync)
  }
}

async function drain(log: CustodyLog, after = 0): Promise<CustodyRecord[]> {
  const out: CustodyRecord[] = []
  for (;;) {
    const batch = await log.next(after, 7)
    if (batch.length === 0) return out
    out.push(...batch)
    after = batch[batch.length - 1]!.seq
  }
}

describe('custody log', () => {
  it('group-commits: a burst of appends costs a few synced writes, not one each', async () => {
    const store = new RecordingStore()
    const log = new CustodyLog({ store, log: silentLogger() })
    await log.start()
    const seqs = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(msg(i))))
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
    expect(store.writes.length).toBeLessThanOrEqual(3)
    expect(store.writes.every((w) => w.sync)).toBe(true)
    expect(log.size).toBe(500)
    await log.stop()
  })

  it('an append resolves only once its write is done, and fails if the write fails', async () => {
    const store = new RecordingStore()
    const log = new CustodyLog({ store, log: silentLogger() })
    await log.start()
    let release!: () => void
    store.hold = new Promise((r) => (release = r))
    let durable = false
    const writes = store.writes.length
    const p = log.append(msg(1)).then(() => (durable = true))
    // The write has reached the store, which holds it: only the release can make the append durable.
    await eventually(() => store.writes.length > writes, 2_000, 'the append to reach the store')
    expect(durable).toBe(false)
    expect(await log.next(0, 10)).toEqual([]) // not handed to the bridge before it is durable
    release()
    await p
    expect(durable).toBe(true)
    store.hold = null
    store.fail = true
    await expect(log.append(msg(2))).rejects.toThrow('disk full')
    expect(log.size).toBe(1)
    store.fail = false
    await log.stop()
  })

  it('reads in order from memory and, past the cache, from the store; acks remove records', async () => {
    const store = new RecordingStore()
    const log = new CustodyLog({ store, log: silentLogger(), cacheLimit: 10, deleteDelayMs: 1 })
    await log.start()
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(msg(i))))
    const all = await drain(log)
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    expect(all.map((r) => r.payload.toString())).toEqual(Array.from({ length: 40 }, (_, i) => `{"n":${i}}`))
    for (const r of all.slice(0, 25)) log.ack(r.seq)
    expect(log.size).toBe(15)
    // Deletes need no fsync: they are written on their own, unsynced.
    await eventually(() => store.writes.some((w) => w.dels > 0 && !w.sync), 2_000, 'the deletes to be written without an fsync')
    expect((await drain(log, 0)).map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 26))
    await log.stop()
  })

  it('survives a restart on LevelDB: unacknowledged records come back in order, new ones follow them', async () => {
    const dir = await tempDir()
    const open = async () => {
      const l = new CustodyLog({ store: new LevelCustodyStore(join(dir, 'custody')), log: silentLogger() })
      await l.start()
      return l
    }
    const first = await open()
    await Promise.all(Array.from({ length: 30 }, (_, i) => first.append({ ...msg(i), retain: i % 2 === 0 })))
    for (const r of (await drain(first)).slice(0, 10)) first.ack(r.seq)
    await first.stop()

    const second = await open()
    expect(second.size).toBe(20)
    const back = await drain(second)
    expect(back.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11))
    expect(back[0]).toMatchObject({ topic: 'hall/h1/counter/w01/event/called', qos: 1, retain: true })
    expect(back[0]!.payload.toString()).toBe('{"n":10}')
    const next = await second.append(msg(99))
    expect(next).toBe(31)
    await second.stop()
  })

  it('a store that cannot open makes start fail rather than acknowledge into nothing', async () => {
    class LockedStore extends MemoryCustodyStore implements CustodyStore {
      override open(): Promise<void> {
        return Promise.reject(new Error('locked'))
      }
    }
    await expect(new CustodyLog({ store: new LockedStore(), log: silentLogger() }).start()).rejects.toThrow('locked')
  })
})

import { describe, it, expect } from 'vitest'
import { GroupCommit } from '../../edge/shared/group-commit.ts'

function gate() {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

/** A store whose writes the test lets land (or fail) one at a time. */
function heldStore() {
  const writes: Array<{ batch: number[]; done: ReturnType<typeof gate> }> = []
  const commit = new GroupCommit<number, string>({
    write: async (batch) => {
      const done = gate()
      writes.push({ batch, done })
      await done.promise
      return batch.map((n) => `ok-${n}`)
    },
  })
  return { commit, writes }
}

const turn = () => new Promise((r) => setImmediate(r))

describe('GroupCommit', () => {
  it('commits a synchronous burst as one group, and what arrives during a commit as the next one', async () => {
    const { commit, writes } = heldStore()
    const first = [1, 2, 3].map((n) => commit.append(n))
    await turn()
    expect(writes.map((w) => w.batch)).toEqual([[1, 2, 3]])
    const during = [4, 5].map((n) => commit.append(n))
    await turn()
    const late = commit.append(6)
    await turn()
    // Nothing more is written while the first commit is in flight.
    expect(writes).toHaveLength(1)
    writes[0]!.done.resolve()
    expect(await Promise.all(first)).toEqual(['ok-1', 'ok-2', 'ok-3'])
    await turn()
    expect(writes.map((w) => w.batch)).toEqual([[1, 2, 3], [4, 5, 6]])
    writes[1]!.done.resolve()
    expect(await Promise.all([...during, late])).toEqual(['ok-4', 'ok-5', 'ok-6'])
  })

  it("a failed commit rejects exactly its own group's appends with its error", async () => {
    const { commit, writes } = heldStore()
    const a = commit.append(1)
    await turn()
    const b = commit.append(2)
    const failure = new Error('disk full')
    writes[0]!.done.reject(failure)
    await expect(a).rejects.toBe(failure)
    await turn()
    writes[1]!.done.resolve()
    expect(await b).toBe('ok-2')
  })

  it('an append resolves only once its commit has landed', async () => {
    const { commit, writes } = heldStore()
    let landed = false
    const a = commit.append(1).then(() => (landed = true))
    await turn()
    await turn()
    expect(landed).toBe(false)
    writes[0]!.done.resolve()
    await a
    expect(landed).toBe(true)
  })

  it('splits a burst larger than maxBatch over consecutive commits', async () => {
    const batches: number[][] = []
    const commit = new GroupCommit<number>({ write: async (batch) => void batches.push(batch), maxBatch: 2 })
    await Promise.all([1, 2, 3, 4, 5].map((n) => commit.append(n)))
    expect(batches).toEqual([[1, 2], [3, 4], [5]])
  })

  it('request() commits an empty group (side work such as deletes), after the one in flight', async () => {
    const { commit, writes } = heldStore()
    void commit.append(1)
    await turn()
    commit.request()
    commit.request()
    await turn()
    expect(writes).toHaveLength(1)
    writes[0]!.done.resolve()
    await turn()
    expect(writes.map((w) => w.batch)).toEqual([[1], []])
    let idle = false
    const waiting = commit.idle().then(() => (idle = true))
    await turn()
    expect(idle).toBe(false)
    writes[1]!.done.resolve()
    await waiting
    expect(commit.pending).toBe(0)
  })

  it('uses the schedule it is given for the first commit of an idle period', async () => {
    const batches: number[][] = []
    const scheduled: Array<() => void> = []
    const commit = new GroupCommit<number>({ write: async (batch) => void batches.push(batch), schedule: (run) => scheduled.push(run) })
    const a = commit.append(1)
    const b = commit.append(2)
    expect(scheduled).toHaveLength(1)
    await turn()
    expect(batches).toEqual([])
    scheduled[0]!()
    await Promise.all([a, b])
    expect(batches).toEqual([[1, 2]])
  })
})

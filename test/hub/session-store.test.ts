import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { QueueCappedPersistence, openSessionPersistence } from '../../hub/session-store.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

let counter = 0
function packet(topic: string) {
  counter++
  return { cmd: 'publish', topic, payload: Buffer.from(`{"n":${counter}}`), qos: 1, retain: false, dup: false, messageId: 0, brokerId: 'b1', brokerCounter: counter }
}

const fakeBroker = { id: 'b1' }

describe('per-client queue cap over the session store', () => {
  it('counts what LevelDB already holds after a restart, so the cap survives it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sessions-'))
    dirs.push(dir)
    const drops: string[] = []
    const open = async () => {
      const p = new QueueCappedPersistence(await openSessionPersistence(dir), 3, (clientId) => drops.push(clientId))
      await p.setup(fakeBroker)
      return p
    }
    const first = await open()
    for (let i = 0; i < 2; i++) await first.outgoingEnqueueCombi([{ clientId: 'h1-w01' }, { clientId: 'h1-w02' }], packet('hall/h1/counter/w01/cmd/call'))
    expect(await first.queuedFor('h1-w01')).toBe(2)
    await first.destroy()

    const second = await open()
    expect(await second.queuedFor('h1-w01')).toBe(2)
    for (let i = 0; i < 3; i++) await second.outgoingEnqueueCombi([{ clientId: 'h1-w01' }, { clientId: 'h1-w01' }], packet('hall/h1/counter/w01/cmd/call'))
    expect(drops).toEqual(['h1-w01', 'h1-w01']) // one more fitted; overlapping matches count once
    let stored = 0
    for await (const _ of second.outgoingStream({ id: 'h1-w01' })) stored++
    expect(stored).toBe(3)
    await second.destroy()
  })
})

describe('PUBACKs and the session store', () => {
  it("a clean client's PUBACK is answered without the store; the clearing at connect and a persistent client's PUBACK still clear what is stored", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sessions-'))
    dirs.push(dir)
    const p = new QueueCappedPersistence(await openSessionPersistence(dir), 10, () => {})
    await p.setup(fakeBroker)
    const id = 'h1-w01'
    // What a persistent session under this id left: a delivery stored, then sent as message id 7.
    const stored = packet('hall/h1/counter/w01/cmd/call')
    await p.outgoingEnqueueCombi([{ clientId: id }], stored)
    await p.outgoingUpdate({ id }, { ...stored, messageId: 7 })
    expect(await p.queuedFor(id)).toBe(1)

    // Aedes never stores a delivery to a clean session, so a clean client's PUBACK has nothing to clear.
    expect(await p.outgoingClearMessageId({ id, clean: true } as { id: string }, { cmd: 'puback', messageId: 7 })).toBeUndefined()
    expect(await p.queuedFor(id)).toBe(1)

    // A persistent client's PUBACK clears its stored delivery.
    const other = 'h1-w02'
    const second = packet('hall/h1/counter/w02/cmd/call')
    await p.outgoingEnqueueCombi([{ clientId: other }], second)
    await p.outgoingUpdate({ id: other }, { ...second, messageId: 3 })
    expect(await p.outgoingClearMessageId({ id: other, clean: false } as { id: string }, { cmd: 'puback', messageId: 3 })).toMatchObject({ topic: second.topic })
    expect(await p.queuedFor(other)).toBe(0)

    // A clean connect over the old session clears what it left (aedes connect.js passes the stored packet itself).
    expect(await p.outgoingClearMessageId({ id, clean: true } as { id: string }, { ...stored, messageId: 7 })).toMatchObject({ topic: stored.topic })
    expect(await p.queuedFor(id)).toBe(0)
    await p.destroy()
  })
})

describe('session store failures', () => {
  it('a failed will delete is reported, never an unhandled rejection (Aedes chains it with .finally only)', async () => {
    const inner = await openSessionPersistence(undefined)
    const failing = Object.assign(Object.create(Object.getPrototypeOf(inner) as object) as typeof inner, inner, {
      delWill: () => Promise.reject(new Error('IO error: No space left on device')),
    })
    const errors: string[] = []
    const p = new QueueCappedPersistence(failing, 3, () => {}, (op, err) => errors.push(`${op}: ${err.message}`))
    // What Aedes's connect handler does with it:
    await p.delWill({ id: 'h1-w01' }).finally(() => {})
    expect(errors).toEqual(['delWill: IO error: No space left on device'])
  })

  it('a count that failed is not kept: the next enqueue for that client counts again', async () => {
    const inner = await openSessionPersistence(undefined)
    let fail = true
    const flaky = Object.assign(Object.create(Object.getPrototypeOf(inner) as object) as typeof inner, inner, {
      outgoingStream: (c: { id: string }) => {
        if (fail) throw new Error('IO error')
        return inner.outgoingStream(c)
      },
    })
    const p = new QueueCappedPersistence(flaky, 3, () => {})
    await expect(p.queuedFor('h1-w01')).rejects.toThrow('IO error')
    fail = false
    expect(await p.queuedFor('h1-w01')).toBe(0)
  })
})

describe('persistent sessions a previous run left', () => {
  it('are listed from LevelDB by the client ids holding subscriptions, also ids with ":" or "%" in them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sessions-'))
    dirs.push(dir)
    const first = await openSessionPersistence(dir)
    await first.setup(fakeBroker)
    const sub = { topic: 'hall/h1/#', qos: 1 }
    for (const id of ['h1-dashboard-1', 'h1-dashboard:2', 'h1-dash%3A', 'h1-dashboard-10']) await first.addSubscriptions({ id }, [sub])
    await first.addSubscriptions({ id: 'h1-dashboard-1' }, [{ topic: 'hall/h1/counter/+/state', qos: 1 }])
    await first.addSubscriptions({ id: 'gone' }, [sub])
    await first.cleanSubscriptions({ id: 'gone' })
    await first.destroy()

    const second = await openSessionPersistence(dir)
    await second.setup(fakeBroker)
    expect((await second.sessionClientIds!()).sort()).toEqual(['h1-dash%3A', 'h1-dashboard-1', 'h1-dashboard-10', 'h1-dashboard:2'].sort())
    await second.destroy()
  })

  it('none in memory: a fresh process has no sessions', async () => {
    const p = await openSessionPersistence(undefined)
    expect(await p.sessionClientIds!()).toEqual([])
  })
})

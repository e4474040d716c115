import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, connect as netConnect, type Server } from 'node:net'
import { Aedes } from 'aedes'
import { MqttClient, type IPublishPacket } from 'mqtt'
import fc from 'fast-check'
import { openSessionPersistence, QueueCappedPersistence, type SessionPersistence } from '../../hub/session-store.ts'
import { MemoryFirstOutgoing } from '../../hub/memory-first-outgoing.ts'
import { silentLogger } from '../../edge/shared/logger.ts'
import { topics } from '../../edge/protocol/index.ts'
import { eventually } from '../support/probe.ts'

/**
 * The memory-first session store under a real Aedes on LevelDB in a temp directory, with real
 * mqtt.js clients holding persistent sessions. The LevelDB store is wrapped to count the outgoing
 * operations that reach it and to fail writes on demand (a full disk).
 */

const H = 'h1'
const OUTGOING_WRITES = new Set(['outgoingEnqueue', 'outgoingEnqueueCombi', 'outgoingUpdate', 'outgoingClearMessageId'])

/** The real LevelDB store, counting the outgoing operations that reach it; `failWrites` makes the next ones throw. */
function counted(inner: SessionPersistence): { store: SessionPersistence; ops: Map<string, number>; fail: { writes: number } } {
  const ops = new Map<string, number>()
  const fail = { writes: 0 }
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown
      if (typeof v !== 'function') return v
      const name = String(key)
      return (...args: unknown[]) => {
        if (OUTGOING_WRITES.has(name)) {
          ops.set(name, (ops.get(name) ?? 0) + 1)
          // Only the single enqueue fails: the wrapper's flush uses it, Aedes's own paths never call it directly.
          if (name === 'outgoingEnqueue' && fail.writes > 0) {
            fail.writes--
            return Promise.reject(new Error('simulated ENOSPC'))
          }
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { store, ops, fail }
}

interface Hall {
  aedes: Aedes
  server: Server
  port: number
  memory: MemoryFirstOutgoing
  disk: SessionPersistence
  capped: QueueCappedPersistence
  ops: Map<string, number>
  fail: { writes: number }
  close(): Promise<void>
}

async function openHall(dir: string, opts: { watchDeadlineMs?: number } = {}): Promise<Hall> {
  const { store, ops, fail } = counted(await openSessionPersistence(dir))
  const memory = new MemoryFirstOutgoing(store, { log: silentLogger(), retryMs: 10, ...opts })
  const capped = new QueueCappedPersistence(memory, 1_000, () => {})
  const aedes = new Aedes({ persistence: capped })
  await aedes.listen()
  const server = createServer((s) => {
    s.setNoDelay(true)
    aedes.handle(s)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    aedes,
    server,
    port,
    memory,
    disk: store,
    capped,
    ops,
    fail,
    async close() {
      // The server's close waits for its connections, which Aedes's close ends.
      const closed = new Promise<void>((r) => server.close(() => r()))
      await new Promise<void>((r) => aedes.close(() => r()))
      await closed
      await memory.destroy()
    },
  }
}

/** A board's session: persistent, QoS 1, acknowledging at once or holding its PUBACKs until released. */
class Board {
  readonly received: string[] = []
  private held: Array<() => void> = []
  holding = false
  client: MqttClient | null = null

  constructor(readonly counter: string) {}

  get topic(): string {
    return topics.cmd(H, this.counter, 'call')
  }

  /** Connects acknowledging at once; set `holding` afterwards to hold the PUBACKs. */
  async connect(port: number): Promise<void> {
    this.holding = false
    const client = new MqttClient(
      () => {
        const s = netConnect({ host: '127.0.0.1', port })
        s.setNoDelay(true)
        return s
      },
      { protocolVersion: 4, clientId: `${H}-${this.counter}`, clean: false, reconnectPeriod: 0 },
    )
    client.handleMessage = (packet: IPublishPacket, done) => {
      this.received.push(packet.payload.toString())
      if (this.holding) this.held.push(() => done())
      else done()
    }
    client.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
    })
    await client.subscribeAsync(topics.counterCommands(H, this.counter), { qos: 1 })
    this.client = client
  }

  release(): void {
    this.holding = false
    for (const ack of this.held.splice(0)) ack()
  }

  /** Gone without a DISCONNECT (a cut cable): unacknowledged deliveries stay the session's. */
  async drop(): Promise<void> {
    this.held = []
    await this.client?.endAsync(true)
    this.client = null
  }
}

function publish(aedes: Aedes, topic: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(body), qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())))
}

async function onDisk(hall: Hall, clientId: string): Promise<string[]> {
  // Asked of the disk store itself (not through the wrapper, which adds its memory entries).
  const out: string[] = []
  for await (const p of hall.disk.outgoingStream({ id: clientId })) out.push(String((p as { payload: Buffer }).payload))
  return out
}

const dirs: string[] = []
const halls: Hall[] = []
const boards: Board[] = []
afterEach(async () => {
  for (const b of boards.splice(0)) await b.drop().catch(() => {})
  for (const h of halls.splice(0)) await h.close().catch(() => {})
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'memfirst-'))
  dirs.push(d)
  return d
}

async function hallAt(dir: string, opts: { watchDeadlineMs?: number } = {}): Promise<Hall> {
  const h = await openHall(dir, opts)
  halls.push(h)
  return h
}

function board(counter: string): Board {
  const b = new Board(counter)
  boards.push(b)
  return b
}

describe('QoS 1 to a connected persistent session, from memory', () => {
  it('is delivered and acknowledged without any outgoing write reaching LevelDB', async () => {
    const hall = await hallAt(await tempDir())
    const w01 = board('w01')
    await w01.connect(hall.port)
    for (let i = 0; i < 5; i++) await publish(hall.aedes, w01.topic, `call-${i}`)
    await eventually(() => w01.received.length === 5 && hall.memory.inMemory === 0, 5_000, 'five calls delivered and acknowledged')
    expect(w01.received).toEqual(['call-0', 'call-1', 'call-2', 'call-3', 'call-4'])
    expect(await hall.capped.queuedFor(`${H}-w01`)).toBe(0)
    expect([...hall.ops.entries()].filter(([, n]) => n > 0)).toEqual([])
    expect(await onDisk(hall, `${H}-w01`)).toEqual([])
  })

  it('a board gone without its PUBACK gets the message again at its next connect: written to disk when it left', async () => {
    const hall = await hallAt(await tempDir())
    const w01 = board('w01')
    await w01.connect(hall.port)
    w01.holding = true
    await publish(hall.aedes, w01.topic, 'call-held')
    await eventually(() => w01.received.length === 1, 5_000, 'the held call delivered')
    expect(hall.ops.get('outgoingEnqueue') ?? 0).toBe(0)
    await w01.drop()
    await eventually(async () => (await onDisk(hall, `${H}-w01`)).length === 1 && hall.memory.inMemory === 0, 5_000, 'the unacknowledged call written to disk')
    expect(await hall.capped.queuedFor(`${H}-w01`)).toBe(1)

    await w01.connect(hall.port)
    await eventually(() => w01.received.length === 2, 5_000, 'the call delivered again')
    expect(w01.received).toEqual(['call-held', 'call-held'])
    await eventually(async () => (await onDisk(hall, `${H}-w01`)).length === 0, 5_000, 'the acknowledged call cleared from disk')
    expect(await hall.capped.queuedFor(`${H}-w01`)).toBe(0)
  })

  it('the broker closing writes what its boards have not acknowledged; the next run on the same directory delivers it', async () => {
    const dir = await tempDir()
    const first = await hallAt(dir)
    const w01 = board('w01')
    await w01.connect(first.port)
    w01.holding = true
    await publish(first.aedes, w01.topic, 'call-at-shutdown')
    await eventually(() => w01.received.length === 1, 5_000, 'the held call delivered')
    expect(first.memory.inMemory).toBe(1)
    halls.splice(halls.indexOf(first), 1)
    await first.close()
    await w01.drop()

    const second = await hallAt(dir)
    expect(await onDisk(second, `${H}-w01`)).toEqual(['call-at-shutdown'])
    await w01.connect(second.port)
    await eventually(() => w01.received.length === 2, 5_000, 'the call delivered by the next run')
    expect(w01.received[1]).toBe('call-at-shutdown')
    await eventually(async () => (await second.capped.queuedFor(`${H}-w01`)) === 0, 5_000, 'acknowledged and cleared')
  })

  it('a failing disk write keeps the message in memory; it is written at a later attempt and still delivered', async () => {
    const hall = await hallAt(await tempDir())
    const w01 = board('w01')
    await w01.connect(hall.port)
    w01.holding = true
    await publish(hall.aedes, w01.topic, 'call-enospc')
    await eventually(() => w01.received.length === 1, 5_000, 'the held call delivered')
    hall.fail.writes = 2 // the flush at the disconnect and its first retry fail
    const failedBefore = hall.ops.get('outgoingEnqueue') ?? 0
    await w01.drop()
    await eventually(() => (hall.ops.get('outgoingEnqueue') ?? 0) >= failedBefore + 3, 5_000, 'two failed writes and a third attempt')
    await eventually(async () => hall.memory.inMemory === 0 && (await onDisk(hall, `${H}-w01`)).length === 1, 5_000, 'written at the third attempt')
    await w01.connect(hall.port)
    await eventually(() => w01.received.length === 2, 5_000, 'delivered again')
  })
})

describe('watch: what the bridge waits on before acknowledging central', () => {
  it('settles on the board PUBACK, not before; a board that does not answer has its copy written to disk at the deadline', async () => {
    const hall = await hallAt(await tempDir(), { watchDeadlineMs: 60_000 })
    const w01 = board('w01')
    await w01.connect(hall.port)
    w01.holding = true
    const payload = Buffer.from('call-watched')
    const watch = hall.memory.watch(payload)
    await new Promise<void>((r) => hall.aedes.publish({ cmd: 'publish', topic: w01.topic, payload, qos: 1, retain: false, dup: false }, () => r()))
    const order: string[] = []
    const settled = watch.settled().then(() => order.push('settled'))
    await eventually(() => w01.received.length === 1, 5_000, 'the watched call delivered')
    // Barrier: a second, unwatched publish to the same board completes after the first was fully handled.
    await publish(hall.aedes, w01.topic, 'call-after')
    expect(order).toEqual([])
    order.push('board acknowledges')
    w01.release()
    await settled
    expect(order).toEqual(['board acknowledges', 'settled'])
    expect(hall.ops.get('outgoingEnqueue') ?? 0).toBe(0)

    // Deadline: a short one, a board that holds its PUBACK.
    const quick = await hallAt(await tempDir(), { watchDeadlineMs: 20 })
    const w02 = board('w02')
    await w02.connect(quick.port)
    w02.holding = true
    const p2 = Buffer.from('call-slow-board')
    const w = quick.memory.watch(p2)
    await new Promise<void>((r) => quick.aedes.publish({ cmd: 'publish', topic: w02.topic, payload: p2, qos: 1, retain: false, dup: false }, () => r()))
    await w.settled()
    expect(await onDisk(quick, `${H}-w02`)).toEqual(['call-slow-board'])
    expect(quick.memory.inMemory).toBe(0)
    // Its PUBACK now clears the disk copy.
    w02.release()
    await eventually(async () => (await onDisk(quick, `${H}-w02`)).length === 0, 5_000, 'the late PUBACK cleared the disk copy')
    expect(await quick.capped.queuedFor(`${H}-w02`)).toBe(0)
  })
})

describe('property: publish, PUBACK, disconnect, reconnect and failing writes in any order', () => {
  type Op = { kind: 'publish' | 'ack' | 'drop' | 'connect'; board: number } | { kind: 'fail'; writes: number }
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constantFrom('publish', 'publish', 'ack', 'drop', 'connect'), board: fc.integer({ min: 0, max: 2 }) }) as fc.Arbitrary<Op>,
    fc.record({ kind: fc.constant('fail' as const), writes: fc.integer({ min: 1, max: 3 }) }),
  )

  it('every message reaches its board at least once, none is lost, and the queue count matches what is stored', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
        run++
        const hall = await hallAt(await tempDir())
        const bs = [board(`p${run}a`), board(`p${run}b`), board(`p${run}c`)]
        const sent: string[][] = [[], [], []]
        for (const b of bs) {
          await b.connect(hall.port)
          b.holding = true
        }
        let n = 0
        for (const o of ops) {
          if (o.kind === 'fail') hall.fail.writes = o.writes
          else {
            const b = bs[o.board]!
            if (o.kind === 'publish') {
              const body = `m${n++}`
              sent[o.board]!.push(body)
              await publish(hall.aedes, b.topic, body)
            } else if (o.kind === 'ack') {
              b.release()
              b.holding = true
            } else if (o.kind === 'drop' && b.client) await b.drop()
            else if (o.kind === 'connect' && !b.client) {
              await b.connect(hall.port)
              b.holding = true
            }
          }
        }
        // All boards away, the disk healthy again: whatever is not acknowledged is stored once, and counted so.
        hall.fail.writes = 0
        for (const b of bs) await b.drop()
        await eventually(() => hall.memory.inMemory === 0, 5_000, 'every unacknowledged message written to disk')
        for (const [i, b] of bs.entries()) {
          const id = `${H}-${b.counter}`
          let stored = 0
          for await (const _ of hall.capped.outgoingStream({ id })) stored++
          expect(await hall.capped.queuedFor(id)).toBe(stored)
          expect(stored).toBeLessThanOrEqual(sent[i]!.length)
        }
        // Back, acknowledging everything: each board has had every message sent to it, and nothing stays queued.
        for (const b of bs) await b.connect(hall.port)
        for (const [i, b] of bs.entries()) {
          const id = `${H}-${b.counter}`
          await eventually(() => sent[i]!.every((m) => b.received.includes(m)), 5_000, `every message at ${b.counter}`)
          await eventually(async () => (await hall.capped.queuedFor(id)) === 0, 5_000, `${b.counter}'s queue empty`)
          expect(b.received.every((m) => sent[i]!.includes(m))).toBe(true)
        }
        expect(hall.memory.inMemory).toBe(0)
        halls.splice(halls.indexOf(hall), 1)
        for (const b of bs) await b.drop()
        await hall.close()
      }),
      { numRuns: 25 },
    )
  }, 120_000)
})
